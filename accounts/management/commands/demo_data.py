"""Create the demo world: two sellers, three buyers, an admin. Safe to run again: nothing is duplicated."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, User

Kind = Organization.Kind
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
        "91110000MA00JADE01",
    ),
    DemoUser(
        "trader@jade-amc.example.com",
        "Chen Jun",
        "Jade River Asset Management Co., Ltd.",
        Kind.ASSET_MANAGEMENT_COMPANY,
        Role.TRADER,
        "91110000MA00JADE01",
    ),
    DemoUser(
        "seller@lakeside-bank.example.com",
        "Zhao Lei",
        "Hangzhou Lakeside City Commercial Bank",
        Kind.BANK,
        Role.OWNER,
        "91330100MA00LAKE02",
    ),
    DemoUser(
        "buyer@pearl-bay.example.com",
        "Sun Li",
        "Pearl Bay Distressed Credit Fund LP",
        Kind.INSTITUTIONAL_INVESTOR,
        Role.TRADER,
        "91440300MA00PEAR03",
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
        self.stdout.write(f"Demo data ready: {created} users created, {len(DEMO_USERS) - created} already there.")
