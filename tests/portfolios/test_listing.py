"""Portfolio listings: the status machine, who may list, the audience rule, moderation, the REST API."""

from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from portfolios import rules, services
from portfolios.models import Portfolio, PortfolioEvent

pytestmark = pytest.mark.django_db

Status = Portfolio.Status
DRAFT = {"title": "Hangzhou consumer loans 2026-Q3", "debt_type": "sme", "cutoff_date": date(2026, 9, 30)}


@pytest.fixture
def staff(make_user):
    return make_user("moderator@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def bank(db):
    return Organization.objects.create(name="Lakeside Bank", kind=Organization.Kind.BANK)


@pytest.fixture
def seller(make_user, bank):
    user = make_user("seller@lakeside.example.com")
    Membership.objects.create(user=user, organization=bank, role=Membership.Role.TRADER)
    return user


def draft(seller, bank, **data):
    return services.portfolio_create(user=seller, seller=bank, data={**DRAFT, **data})


@pytest.mark.parametrize("current", Status.values)
@pytest.mark.parametrize("target", Status.values)
def test_only_the_table_allows_a_move(seller, bank, staff, current, target):
    portfolio = draft(seller, bank)
    Portfolio.objects.filter(pk=portfolio.pk).update(status=current)
    if rules.can_transition(current, target):
        assert services.portfolio_transition(portfolio=portfolio, to=target, actor=staff).status == target
        event = PortfolioEvent.objects.get(portfolio=portfolio)
        assert (event.from_status, event.to_status, event.actor) == (current, target, staff)
    else:
        with pytest.raises(services.PortfolioError) as excinfo:
            services.portfolio_transition(portfolio=portfolio, to=target, actor=staff)
        assert excinfo.value.code == "illegal_transition"
        assert Portfolio.objects.get(pk=portfolio.pk).status == current
        assert not PortfolioEvent.objects.exists()


def test_withdrawn_is_final_sold_reopens_only_as_unsold_and_every_state_is_reachable_from_draft():
    assert rules.TRANSITIONS[Status.WITHDRAWN] == frozenset()
    assert rules.TRANSITIONS[Status.SOLD] == {Status.UNSOLD}  # only when the buyer defaulted and nobody took it
    reached, frontier = {Status.DRAFT}, [Status.DRAFT]
    while frontier:
        for target in rules.TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(Status.values)


def test_only_owners_and_traders_of_a_seller_list(make_user, bank, seller):
    viewer = make_user("viewer@lakeside.example.com")
    Membership.objects.create(user=viewer, organization=bank, role=Membership.Role.VIEWER)
    fund = Organization.objects.create(name="A fund", kind=Organization.Kind.INSTITUTIONAL_INVESTOR)
    Membership.objects.create(user=viewer, organization=fund, role=Membership.Role.OWNER)
    for user, org, code in [
        (viewer, bank, "not_seller_member"),
        (viewer, fund, "not_seller"),
        (make_user(), bank, "not_seller_member"),
    ]:
        with pytest.raises(services.PortfolioError) as excinfo:
            services.portfolio_create(user=user, seller=org, data=DRAFT)
        assert excinfo.value.code == code
    assert draft(seller, bank).status == Status.DRAFT


def test_consumer_loans_go_to_professionals_only(seller, bank):
    portfolio = draft(seller, bank, debt_type="consumer_unsecured")
    assert portfolio.audience == Portfolio.Audience.PROFESSIONAL_ONLY
    with pytest.raises(ValidationError) as excinfo:
        draft(seller, bank, debt_type="consumer_unsecured", audience="open")
    assert "audience" in excinfo.value.message_dict
    sme = draft(seller, bank, audience="open")
    with pytest.raises(ValidationError):
        services.portfolio_update(
            user=seller, portfolio=sme, data={"debt_type": "consumer_unsecured", "audience": "open"}
        )
    assert services.portfolio_update(user=seller, portfolio=sme, data={"debt_type": "consumer_unsecured"}).audience == (
        "professional_only"
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": " "}, "title"),
        ({"debt_type": "crypto"}, "debt_type"),
        ({"currency": "yuan"}, "currency"),
        ({"cutoff_date": None}, "cutoff_date"),
        ({"cutoff_date": date(2100, 1, 1)}, "cutoff_date"),
    ],
)
def test_bad_drafts_are_field_errors(seller, bank, data, field):
    with pytest.raises(ValidationError) as excinfo:
        draft(seller, bank, **data)
    assert field in excinfo.value.message_dict
    assert not Portfolio.objects.exists()


def test_moderation_round_trip_tells_the_seller(seller, bank, staff, django_capture_on_commit_callbacks):
    portfolio = draft(seller, bank)
    services.portfolio_submit(user=seller, portfolio=portfolio)
    with pytest.raises(services.PortfolioError):
        services.portfolio_update(user=seller, portfolio=portfolio, data={"title": "changed under review"})
    with pytest.raises(ValidationError):
        services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=False, reason="")
    with django_capture_on_commit_callbacks(execute=True):
        services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=False, reason="Cut-off date is stale")
    assert "Cut-off date is stale" in mail.outbox[-1].body and mail.outbox[-1].to == [seller.email]
    services.portfolio_update(user=seller, portfolio=portfolio, data={"cutoff_date": timezone.localdate()})
    services.portfolio_submit(user=seller, portfolio=portfolio)
    approved = services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=True)
    assert (approved.status, approved.rejection_reason) == ("approved", "")
    assert list(PortfolioEvent.objects.values_list("to_status", flat=True)) == [
        "submitted",
        "rejected",
        "submitted",
        "approved",
    ]


def test_rest_lists_only_public_listings_with_filters(seller, bank, staff):
    api = APIClient()
    hidden = draft(seller, bank, title="Secret draft")
    shown = draft(seller, bank, title="Zhejiang SME loans", regions=["Zhejiang", "Jiangsu"])
    consumer = draft(seller, bank, title="Card debt", debt_type="consumer_unsecured")
    for portfolio in (shown, consumer):
        services.portfolio_submit(user=seller, portfolio=portfolio)
        services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=True)
    titles = lambda query="": [p["title"] for p in api.get(f"/api/v1/portfolios/{query}").json()["results"]]  # noqa: E731
    assert sorted(titles()) == ["Card debt", "Zhejiang SME loans"]
    assert titles("?region=Jiangsu") == ["Zhejiang SME loans"]
    assert titles("?audience=retail") == ["Zhejiang SME loans"]
    assert titles("?audience=professional") == ["Card debt"]
    assert titles("?debt_type=consumer_unsecured&q=card") == ["Card debt"]
    assert api.get(f"/api/v1/portfolios/{hidden.pk}/").status_code == 404
    api.force_authenticate(seller)
    assert api.get(f"/api/v1/portfolios/{hidden.pk}/").json()["title"] == "Secret draft"


def test_rest_drafting_and_errors(seller, make_user):
    api = APIClient()
    assert api.post("/api/v1/portfolios/", {**DRAFT, "cutoff_date": "2026-09-30"}, format="json").status_code == 401
    api.force_authenticate(seller)
    created = api.post("/api/v1/portfolios/", {**DRAFT, "cutoff_date": "2026-09-30"}, format="json")
    assert created.status_code == 201 and created.json()["status"] == "draft"
    pk = created.json()["id"]
    bad = api.patch(f"/api/v1/portfolios/{pk}/", {"audience": "open", "debt_type": "consumer_unsecured"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "audience"
    assert api.post(f"/api/v1/portfolios/{pk}/submit/").json()["status"] == "submitted"
    again = api.post(f"/api/v1/portfolios/{pk}/submit/")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    locked = api.patch(f"/api/v1/portfolios/{pk}/", {"title": "late change"}, format="json")
    assert locked.status_code == 409 and locked.json()["code"] == "not_editable"
    outsider = APIClient()
    outsider.force_authenticate(make_user("buyer@example.com"))
    refused = outsider.post("/api/v1/portfolios/", {**DRAFT, "cutoff_date": "2026-09-30"}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "seller"


def test_admin_moderates_through_actions_only(client, seller, bank, staff):
    portfolio = draft(seller, bank)
    services.portfolio_submit(user=seller, portfolio=portfolio)
    client.force_login(staff)
    assert client.get("/admin/portfolios/portfolio/add/").status_code == 403
    change = client.get(f"/admin/portfolios/portfolio/{portfolio.pk}/change/").content.decode()
    assert 'name="title"' not in change  # the content is the seller's
    client.post(
        "/admin/portfolios/portfolio/",
        {"action": "reject_listing", "_selected_action": [portfolio.pk], "apply": "1", "reason": "No loan tape"},
    )
    portfolio.refresh_from_db()
    assert (portfolio.status, portfolio.rejection_reason) == ("rejected", "No loan tape")
