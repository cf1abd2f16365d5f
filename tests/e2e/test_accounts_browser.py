"""A person signs up, confirms the e-mail, logs in, makes an API token, uses it and revokes it — in Chromium."""

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_account_journey_in_the_browser(page: Page, live_server_url, mailbox, artifacts):
    page.goto(live_server_url + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("E-mail address").fill("zhang.wei@example.com")
    page.get_by_label("Full name").fill("Zhang Wei")
    page.get_by_label("Password").fill("weak")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".field-error")).to_contain_text("too short")

    page.get_by_label("Password").fill("a-much-longer-passphrase")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    page.goto(mailbox.link("zhang.wei@example.com"))
    expect(page.get_by_text("Your e-mail address is confirmed")).to_be_visible()
    page.get_by_label("E-mail address").fill("zhang.wei@example.com")
    page.get_by_label("Password").fill("a-much-longer-passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    page.get_by_label("Token name").fill("my bidding robot")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#new-token-key").input_value()
    assert key.startswith("mkt_")
    page.screenshot(path=str(artifacts / "account-token-created.png"), full_page=True)

    me = httpx.get(live_server_url + "/api/v1/me/", headers={"Authorization": f"Token {key}"})
    assert me.status_code == 200 and me.json()["full_name"] == "Zhang Wei"

    page.get_by_role("button", name="Revoke my bidding robot").click()
    expect(page.get_by_text("revoked").first).to_be_visible()
    assert httpx.get(live_server_url + "/api/v1/me/", headers={"Authorization": f"Token {key}"}).status_code == 401

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()


def test_home_page_is_usable_on_a_phone(page: Page, live_server_url, artifacts):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server_url + "/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows sideways
    page.screenshot(path=str(artifacts / "home-phone.png"), full_page=True)
