"""Create the demo world: two sellers, three buyers, an admin. Safe to run again: nothing is duplicated.

Pearl Bay is a verified institution (professional); Li Wei is a verified retail buyer past suitability and
reflection; Zhang Min has only signed up.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts import rules, selectors, services
from accounts.models import KycSubmission, Membership, Organization, RiskAcknowledgement, SuitabilityAssessment, User

Kind = Organization.Kind


def _uscc(first17: str) -> str:
    return first17 + rules.uscc_check_character(first17)


JADE_RIVER_USCC = _uscc("91110000MA00JADE0")
LAKESIDE_USCC = _uscc("91330100MA00LAKE0")
PEARL_BAY_USCC = _uscc("91440300MA5PEARL0")
Role = Membership.Role


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    organization: str
    kind: str
    role: str
    registration_number: str = ""
    is_staff: bool = False


DEMO_USERS = [
    DemoUser("admin@example.com", "Platform Administrator", "", "", "", is_staff=True),
    DemoUser(
        "seller@jade-amc.example.com",
        "Wang Fang",
        "Jade River Asset Management Co., Ltd.",
        Kind.ASSET_MANAGEMENT_COMPANY,
        Role.OWNER,
        JADE_RIVER_USCC,
    ),
    DemoUser(
        "trader@jade-amc.example.com",
        "Chen Jun",
        "Jade River Asset Management Co., Ltd.",
        Kind.ASSET_MANAGEMENT_COMPANY,
        Role.TRADER,
        JADE_RIVER_USCC,
    ),
    DemoUser(
        "seller@lakeside-bank.example.com",
        "Zhao Lei",
        "Hangzhou Lakeside City Commercial Bank",
        Kind.BANK,
        Role.OWNER,
        LAKESIDE_USCC,
    ),
    DemoUser(
        "buyer@pearl-bay.example.com",
        "Sun Li",
        "Pearl Bay Distressed Credit Fund LP",
        Kind.INSTITUTIONAL_INVESTOR,
        Role.OWNER,
        PEARL_BAY_USCC,
    ),
    DemoUser("li.wei@example.com", "Li Wei", "Li Wei", Kind.INDIVIDUAL, Role.OWNER),
    DemoUser("zhang.min@example.com", "Zhang Min", "Zhang Min", Kind.INDIVIDUAL, Role.OWNER),
]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default=settings.DEMO_PASSWORD, help="password for newly created demo users")

    @transaction.atomic
    def handle(self, *args: Any, password: str, **options: Any) -> None:
        created = 0
        for demo in DEMO_USERS:
            user, was_created = User.objects.get_or_create(
                email=demo.email,
                defaults={
                    "full_name": demo.full_name,
                    "is_staff": demo.is_staff,
                    "is_superuser": demo.is_staff,
                    "email_verified_at": timezone.now(),
                },
            )
            if was_created:
                user.set_password(password)
                user.save(update_fields=["password"])
                created += 1
            if demo.organization:
                organization, _ = Organization.objects.get_or_create(
                    name=demo.organization,
                    defaults={"kind": demo.kind, "registration_number": demo.registration_number},
                )
                Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": demo.role})
        try:
            with transaction.atomic():
                self._verify_buyers()
        except (ValidationError, services.AccountError) as exc:  # e.g. a state dir from an older demo world
            self.stderr.write(f"Demo verification states skipped: {exc}")
        self.stdout.write(f"Demo data ready: {created} users created, {len(DEMO_USERS) - created} already there.")

    def _verify_buyers(self) -> None:
        admin = User.objects.get(email="admin@example.com")
        fund_owner = User.objects.get(email="buyer@pearl-bay.example.com")
        fund = Organization.objects.get(name="Pearl Bay Distressed Credit Fund LP")
        uscc = "91440300MA5PEARL0" + rules.uscc_check_character("91440300MA5PEARL0")
        if not fund_owner.kyc_submissions.exists():
            fund.registration_number = uscc
            fund.save(update_fields=["registration_number"])
            data = {
                "organization": fund,
                "registration_number": uscc,
                "legal_representative": "Sun Li",
                "country": "CN",
            }
            submission = services.kyc_submit(
                user=fund_owner, kind=KycSubmission.Kind.ORGANIZATION, data=data, document=_document(), ip=None
            )
            services.kyc_review(submission=submission, reviewer=admin, approve=True)

        retail = User.objects.get(email="li.wei@example.com")
        if not retail.kyc_submissions.exists():
            born = date(1979, 8, 21)
            first17 = f"330106{born:%Y%m%d}215"
            data = {
                "legal_name": "Li Wei",
                "id_document_type": KycSubmission.IdDocumentType.RESIDENT_ID,
                "id_number": first17 + rules.resident_id_check_digit(first17),
                "date_of_birth": born,
                "country": "CN",
            }
            submission = services.kyc_submit(
                user=retail, kind=KycSubmission.Kind.INDIVIDUAL, data=data, document=_document(), ip=None
            )
            services.kyc_review(submission=submission, reviewer=admin, approve=True)
            answers = [question.answer for question in selectors.knowledge_test().questions]
            services.knowledge_test_submit(user=retail, answers=answers, declared_net_worth="1200000.00", ip=None)
            services.risk_warning_acknowledge(user=retail, version=selectors.risk_warning_current().version, ip=None)
            # The demo buyer finished the steps a week ago, so the reflection period is over.
            week_ago = timezone.now() - timedelta(days=7)
            SuitabilityAssessment.objects.filter(user=retail).update(completed_at=week_ago)
            RiskAcknowledgement.objects.filter(user=retail).update(acknowledged_at=week_ago)


def _document() -> SimpleUploadedFile:
    return SimpleUploadedFile("demo-document.pdf", b"%PDF-1.4\n% demo identity document\n", "application/pdf")
