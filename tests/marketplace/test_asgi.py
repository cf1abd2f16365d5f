"""The ASGI entry point runs each HTTP request's middleware chain as one synchronous call in a worker thread."""

import asyncio
import threading
import time
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse
from django.utils.decorators import sync_and_async_middleware

from marketplace.asgi import SyncChainASGIHandler

PROBE = f"{__name__}.probe"
SEEN: list[tuple[str, int]] = []  # (mode, thread) of each probe call
READ: list[bytes | str] = []  # what slow_reader read of each request's body, or the error it got
STARTED = threading.Event()  # slow_reader is running


@sync_and_async_middleware
def probe(get_response: Any) -> Any:
    """Notes the mode Django chose for it and the thread it ran in."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: Any) -> Any:
            SEEN.append(("async", threading.get_ident()))
            return await get_response(request)

        return async_middleware

    def middleware(request: Any) -> Any:
        SEEN.append(("sync", threading.get_ident()))
        return get_response(request)

    return middleware


def slow_reader(get_response: Any) -> Any:
    """Answers every request itself, reading its body only after a while (as a view busy with the database)."""

    def middleware(request: Any) -> Any:
        STARTED.set()
        time.sleep(0.3)
        try:
            READ.append(request.body)
        except Exception as error:  # what the view would have met is the finding
            READ.append(repr(error))
        return HttpResponse("read")

    return middleware


def http_scope(path: str, method: str = "GET") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def status_of(handler: Any, path: str) -> int:
    communicator = ApplicationCommunicator(handler, http_scope(path))
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    while (await communicator.receive_output(10)).get("more_body"):
        pass
    await communicator.wait(10)
    return int(start["status"])


@pytest.mark.django_db(transaction=True)
async def test_the_whole_middleware_chain_runs_in_one_worker_thread(settings):
    settings.MIDDLEWARE = [PROBE, *settings.MIDDLEWARE, PROBE]  # first and last
    loop_thread = threading.get_ident()
    SEEN.clear()
    assert await status_of(SyncChainASGIHandler(), "/no-such-page/") == 404
    ours = list(SEEN)
    SEEN.clear()
    assert await status_of(ASGIHandler(), "/no-such-page/") == 404
    stock = list(SEEN)
    assert [mode for mode, _thread in ours] == ["sync", "sync"]
    assert ours[0][1] == ours[1][1] != loop_thread  # one hand-off to one thread, for the whole chain
    # Django's own handler flips mode part-way (WhiteNoise is sync-only): the outer middleware in a thread, the inner
    # on the loop, which hops to a thread again for every sync part of every middleware after it.
    assert [mode for mode, _thread in stock] == ["sync", "async"] and stock[1][1] == loop_thread != stock[0][1]


@pytest.mark.django_db(transaction=True)
async def test_a_client_that_goes_away_does_not_cut_the_view_short(settings):
    """Django cancels a request whose client left and then closes its body; asgiref's sync_to_async waits for the
    thread, so the view still reads an open body. This guards that behaviour of the libraries, which the sync chain
    relies on for the whole view (Django's own handler only between middleware)."""
    settings.MIDDLEWARE = [f"{__name__}.slow_reader"]
    READ.clear()
    STARTED.clear()
    communicator = ApplicationCommunicator(SyncChainASGIHandler(), http_scope("/api/v1/anything/", "POST"))
    await communicator.send_input({"type": "http.request", "body": b'{"amount": "100.00"}'})
    while not STARTED.is_set():
        await asyncio.sleep(0.01)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(10)
    assert READ == [b'{"amount": "100.00"}']  # not "I/O operation on closed file"
    assert communicator.output_queue.empty()  # nobody to answer
