"""A retail buyer verifies identity, staff approve it in admin, then the buyer passes suitability — in Chromium."""

from datetime import date

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, FilePayload, Page, expect

from accounts.models import User
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


def test_retail_buyer_kyc_approval_and_suitability(
    page: Page, browser: Browser, live_server_url, artifacts, risk_warning
):
    now = timezone.now()
    User.objects.create_user(email="li.na@example.com", password=PASSWORD, email_verified_at=now, full_name="Li Na")
    User.objects.create_user(
        email="compliance@example.com", password=PASSWORD, email_verified_at=now, is_staff=True, is_superuser=True
    )

    log_in(page, live_server_url, "li.na@example.com")
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
    page.get_by_role("link", name="Open the suitability steps").click()
    for question in knowledge_test().questions:
        page.get_by_label(question.choices[question.answer], exact=True).check()
    page.get_by_label("Your net worth (CNY)").fill("1000000")
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator("#loss-simulation")).to_contain_text("100,000.00 CNY")
    page.get_by_label("I have read this warning").check()
    page.get_by_role("button", name="I accept these risks").click()
    expect(page.locator("#reflection")).to_contain_text("reflection period of 4 days")
    page.screenshot(path=str(artifacts / "suitability-reflection.png"), full_page=True)
