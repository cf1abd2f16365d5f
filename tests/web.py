"""HTTP helpers for tests that talk to a real server."""

import re

import httpx


def csrf_post(client: httpx.Client, path: str, data: dict[str, str], *, form_page: str = "") -> httpx.Response:
    """Post a form the way a browser does: with the CSRF token from the page that shows it."""
    page = client.get(form_page or path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, f"no CSRF token on {path}"
    return client.post(path, data={**data, "csrfmiddlewaretoken": token.group(1)}, headers={"Referer": str(page.url)})
