"""Admin is staff-only and searchable; demo data is realistic and idempotent."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts import selectors
from accounts.models import Membership, Organization, User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["user", "organization", "membership", "apitoken"])
def test_admin_changelists_work_with_search_for_staff_only(client, make_user, member, path):
    url = f"/admin/accounts/{path}/?q=jade"
    client.force_login(member)
    assert client.get(url).status_code == 302  # a non-staff user is sent to the admin login
    client.force_login(make_user("staff@example.com", is_staff=True, is_superuser=True))
    assert client.get(url).status_code == 200


def test_admin_can_revoke_tokens(client, make_user):
    from accounts import services

    owner = make_user()
    token, _key = services.api_token_create(user=owner, name="robot")
    client.force_login(make_user("staff@example.com", is_staff=True, is_superuser=True))
    client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_demo_data_is_idempotent_and_complete(settings, tmp_path, risk_warning):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path)
    call_command("demo_data")
    counts = (User.objects.count(), Organization.objects.count(), Membership.objects.count())
    call_command("demo_data")
    assert (User.objects.count(), Organization.objects.count(), Membership.objects.count()) == counts
    kinds = sorted(Organization.objects.values_list("kind", flat=True))
    assert kinds == ["amc", "bank", "individual", "individual", "institutional"]
    assert User.objects.get(email="admin@example.com").is_staff
    assert all(user.email_verified for user in User.objects.all())
    assert User.objects.get(email="li.wei@example.com").check_password("demo-pass-2026")
    fund, li_wei, zhang_min = (
        User.objects.get(email=e)
        for e in ("buyer@pearl-bay.example.com", "li.wei@example.com", "zhang.min@example.com")
    )
    assert (selectors.kyc_status(user=fund), selectors.investor_class(user=fund)) == ("approved", "professional")
    assert (selectors.kyc_status(user=li_wei), selectors.investor_class(user=li_wei)) == ("approved", "retail")
    assert selectors.suitability(user=li_wei).step == "complete"
    assert selectors.exposure_cap(user=li_wei) == Decimal("120000.00")
    assert (selectors.kyc_status(user=zhang_min), selectors.suitability(user=zhang_min).step) == (
        "unverified",
        "knowledge_test",
    )


def test_membership_changes_in_admin_are_logged(client, make_user, seller_org):
    from accounts.models import AccountDecision

    staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
    trader = make_user("new.trader@example.com")
    client.force_login(staff)
    client.post("/admin/accounts/membership/add/", {"user": trader.pk, "organization": seller_org.pk, "role": "viewer"})
    membership = Membership.objects.get(user=trader)
    client.post(f"/admin/accounts/membership/{membership.pk}/change/", {"role": "trader"})
    client.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})
    assert not Membership.objects.filter(user=trader).exists()
    changes = list(
        AccountDecision.objects.filter(user=trader, kind="membership_changed")
        .order_by("created_at")
        .values_list("details", "actor")
    )
    assert [(d["previous_role"], d["role"], actor) for d, actor in changes] == [
        (None, "viewer", staff.pk),
        ("viewer", "trader", staff.pk),
        ("trader", None, staff.pk),
    ]
