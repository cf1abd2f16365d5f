"""A retail buyer verifies identity, staff approve it in admin, the buyer passes suitability and waits out the
reflection period — in Chromium; the auction's bid button stays disabled, with the reason, until every step is done."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Dialog, FilePayload, Page, expect

from accounts.models import RiskAcknowledgement, SuitabilityAssessment, User
from accounts.selectors import knowledge_test
from tests.accounts.test_rules import resident_id

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"
ID_SCAN: FilePayload = {"name": "id-card.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%scan\n"}


def log_in(page: Page, url: str, email: str) -> None:
    page.goto(url + "/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def expect_bid_blocked(page: Page, auction_url: str, reason: str) -> None:
    """Look at the auction room in a second tab: the button is disabled and says why."""
    room = page.context.new_page()
    room.goto(auction_url)
    expect(room.locator("#bid-button")).to_be_disabled()
    expect(room.locator("#bid-blocker")).to_contain_text(reason)
    room.close()


def test_retail_buyer_kyc_approval_and_suitability(
    page: Page, browser: Browser, live_server_url, artifacts, risk_warning, market
):
    auction = market.auction(starting_price="50000.00", increment="1000.00")
    auction_url = f"{live_server_url}/auctions/{auction.pk}/"
    now = timezone.now()
    User.objects.create_user(email="li.na@example.com", password=PASSWORD, email_verified_at=now, full_name="Li Na")
    User.objects.create_user(
        email="compliance@example.com", password=PASSWORD, email_verified_at=now, is_staff=True, is_superuser=True
    )

    log_in(page, live_server_url, "li.na@example.com")
    expect_bid_blocked(page, auction_url, "Verify your identity")
    page.get_by_role("navigation").get_by_role("link", name="Verification").click()
    expect(page.locator("#kyc-status")).to_contain_text("not verified")
    page.get_by_label("Name as on your ID document").fill("Li Na")
    page.get_by_label("ID document number").fill("110101199002301234")  # 30 February: no such date
    page.get_by_label("Date of birth").fill("1990-03-07")
    page.get_by_label("Scan or photo of the ID document").set_input_files(files=[ID_SCAN])
    page.get_by_role("button", name="Submit for review").first.click()
    expect(page.locator(".field-error")).to_contain_text("resident identity number has 18 characters")

    page.get_by_label("ID document number").fill(resident_id(date(1990, 3, 7)))
    page.get_by_label("Scan or photo of the ID document").set_input_files(files=[ID_SCAN])
    page.get_by_role("button", name="Submit for review").first.click()
    expect(page.locator("#kyc-status")).to_contain_text("being reviewed")
    expect_bid_blocked(page, auction_url, "being reviewed")

    staff_context = browser.new_context()
    staff = staff_context.new_page()
    staff.goto(live_server_url + "/admin/")
    staff.locator("#id_username").fill("compliance@example.com")
    staff.locator("#id_password").fill(PASSWORD)
    staff.locator("input[type=submit]").click()
    staff.goto(live_server_url + "/admin/accounts/kycsubmission/?status__exact=pending")
    staff.locator("input[name=_selected_action]").first.check()
    staff.locator("select[name=action]").select_option("approve_identity")
    staff.locator("button[name=index]").click()
    staff.get_by_role("button", name="Approve identity").click()
    expect(staff.locator(".messagelist")).to_contain_text("Approve identity: 1")
    staff_context.close()

    page.reload()
    expect(page.locator("#kyc-status .badge")).to_have_text("verified")
    expect_bid_blocked(page, auction_url, "Pass the knowledge test")
    page.get_by_role("link", name="Open the suitability steps").click()
    for question in knowledge_test().questions:
        page.get_by_label(question.choices[question.answer], exact=True).check()
    page.get_by_label("Your net worth (CNY)").fill("1000000")
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator("#loss-simulation")).to_contain_text("100,000.00 CNY")
    expect_bid_blocked(page, auction_url, "acknowledge the risk warning")
    page.get_by_label("I have read this warning").check()
    page.get_by_role("button", name="I accept these risks").click()
    expect(page.locator("#reflection")).to_contain_text("reflection period of 4 days")
    page.screenshot(path=str(artifacts / "suitability-reflection.png"), full_page=True)
    expect_bid_blocked(page, auction_url, "reflection period ends")

    # Four days pass (the clock is the one boundary a test may move), then the deposit is the last step.
    buyer = User.objects.get(email="li.na@example.com")
    four_days_ago = timezone.now() - timedelta(days=4, minutes=1)
    SuitabilityAssessment.objects.filter(user=buyer).update(completed_at=four_days_ago)
    RiskAcknowledgement.objects.filter(user=buyer).update(acknowledged_at=four_days_ago)
    expect_bid_blocked(page, auction_url, "Post the deposit of 5000.00 CNY")
    market.deposit(buyer, auction)
    page.goto(auction_url)
    expect(page.locator("#bid-button")).to_be_enabled()
    expect(page.locator("#amount")).to_have_value("50000.00")
    questions: list[str] = []

    def confirm(dialog: Dialog) -> None:  # retail buyers confirm each bid, with the risk spelled out
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    page.get_by_role("button", name="Place bid").click()
    expect(page.locator("#bid-result")).to_have_text("Your bid is in.")  # answered over the socket
    expect(page.locator("#your-status")).to_have_text("Bidder 1 · You are leading")
    assert "50000.00 CNY" in questions[0] and "lose all of it" in questions[0]
    expect(page.locator("#ledger")).to_contain_text("Bidder 1")
    page.screenshot(path=str(artifacts / "auction-first-bid.png"), full_page=True)
