"""The whole account journey through a real uvicorn process: HTTP forms, e-mail, REST and WebSocket."""

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from accounts import services
from accounts.models import ApiToken
from tests import aio
from tests.web import csrf_post

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "long-enough-secret-42"


async def ws_ping(url: str, headers: dict[str, str] | None = None) -> dict[str, object]:
    ws_url = url.replace("http://", "ws://") + "/ws/ping/"
    async with websockets.connect(ws_url, origin=Origin(url), additional_headers=headers or {}) as ws:
        await ws.send(json.dumps({"type": "ping", "data": 7}))
        return json.loads(await asyncio.wait_for(ws.recv(), 5))


def test_sign_up_verify_log_in_token_me_revoke(live_server_url, mailbox):
    browser = httpx.Client(base_url=live_server_url, follow_redirects=True, timeout=10)
    api = httpx.Client(base_url=live_server_url, timeout=10)
    with browser, api:
        page = csrf_post(browser, "/accounts/signup/", {"email": "Retail.Buyer@example.com", "password": PASSWORD})
        assert "Check your e-mail" in page.text

        refused = csrf_post(browser, "/accounts/login/", {"username": "retail.buyer@example.com", "password": PASSWORD})
        assert "confirm your e-mail address first" in refused.text

        link = mailbox.link("retail.buyer@example.com")
        assert link.startswith(live_server_url + "/accounts/verify/")
        assert "Your e-mail address is confirmed" in browser.get(link).text

        profile = csrf_post(browser, "/accounts/login/", {"username": "retail.buyer@example.com", "password": PASSWORD})
        assert profile.url.path == "/accounts/profile/"

        created = csrf_post(browser, "/accounts/tokens/", {"name": "robot"}, form_page="/accounts/profile/")
        key = re.search(r'value="(mkt_[^"]+)"', created.text)
        assert key, "the new token is shown once on the page"
        api.headers["Authorization"] = f"Token {key.group(1)}"

        me = api.get("/api/v1/me/")
        assert me.status_code == 200 and me.json()["email"] == "retail.buyer@example.com"
        pong = aio.run(ws_ping(live_server_url, {"Authorization": f"Token {key.group(1)}"}))
        assert pong["type"] == "pong" and pong["user"] == "retail.buyer@example.com" and pong["echo"] == 7

        token = ApiToken.objects.get(name="robot")
        assert api.delete(f"/api/v1/me/tokens/{token.pk}/").status_code == 403  # keys are managed in the browser
        revoked = csrf_post(browser, f"/accounts/tokens/{token.pk}/revoke/", {}, form_page="/accounts/profile/")
        assert "Token “robot” revoked." in revoked.text
        gone = api.get("/api/v1/me/")
        assert gone.status_code == 401 and gone.json()["code"] == "authentication_failed"


def test_websocket_anonymous_ping_and_bad_input(live_server_url):
    async def scenario() -> None:
        ws_url = live_server_url.replace("http://", "ws://") + "/ws/ping/"
        async with websockets.connect(ws_url, origin=Origin(live_server_url)) as ws:
            await ws.send("not json")
            error = json.loads(await ws.recv())
            assert error["type"] == "error" and error["code"] == "unknown_type"
            await ws.send(json.dumps({"type": "ping"}))
            pong = json.loads(await ws.recv())
            assert pong["type"] == "pong" and pong["user"] is None and pong["server_time"].endswith("Z")

    aio.run(scenario())


def test_websocket_refuses_foreign_origin_and_bad_token(live_server_url):
    ws_url = live_server_url.replace("http://", "ws://") + "/ws/ping/"

    async def connect(**kwargs: object) -> None:
        async with websockets.connect(ws_url, **kwargs) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "ping"}))
            await ws.recv()

    with pytest.raises(InvalidStatus):
        aio.run(connect(origin=Origin("https://evil.example.com")))
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        aio.run(connect(origin=Origin(live_server_url), additional_headers={"Authorization": "Token mkt_forged"}))


def test_programs_may_omit_origin_but_then_only_a_token_authenticates(live_server_url, make_user):
    from django.test import Client

    user = make_user("robot.owner@example.com")
    _token, key = services.api_token_create(user=user, name="robot")
    browser = Client()
    browser.force_login(user)
    session = browser.cookies["sessionid"].value
    ws_url = live_server_url.replace("http://", "ws://") + "/ws/ping/"

    async def ping(headers: dict[str, str]) -> dict[str, object]:
        async with websockets.connect(ws_url, additional_headers=headers) as ws:  # no Origin header at all
            await ws.send(json.dumps({"type": "ping"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert aio.run(ping({"Authorization": f"Token {key}"}))["user"] == "robot.owner@example.com"
    assert aio.run(ping({"Cookie": f"sessionid={session}"}))["user"] is None  # cookies need a same-site Origin
    with_origin = aio.run(ws_ping(live_server_url, {"Cookie": f"sessionid={session}"}))
    assert with_origin["user"] == "robot.owner@example.com"


def test_parallel_password_guesses_cannot_beat_the_lockout(live_server_url, make_user):
    make_user("target@example.com", PASSWORD)

    def guess(i: int) -> str:
        with httpx.Client(base_url=live_server_url, follow_redirects=True, timeout=20) as client:
            return csrf_post(
                client, "/accounts/login/", {"username": "target@example.com", "password": f"guess-{i}"}
            ).text

    with ThreadPoolExecutor(max_workers=12) as pool:
        pages = list(pool.map(guess, range(12)))
    checked = sum("not correct" in page for page in pages)
    locked = sum("Too many failed sign-in attempts" in page for page in pages)
    assert (checked, locked) == (5, 7)
