"""Retail suitability: the knowledge test as data, loss simulation, risk acknowledgement, reflection, exposure cap."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts import rules, selectors, services
from accounts.models import (
    AccountDecision,
    InvestorClassification,
    RiskAcknowledgement,
    RiskWarning,
    SuitabilityAssessment,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("risk_warning")]

RIGHT = [q.answer for q in selectors.knowledge_test().questions]


def wrong(count: int) -> list[int]:
    answers = list(RIGHT)
    for i in range(count):
        answers[i] = (answers[i] + 1) % len(selectors.knowledge_test().questions[i].choices)
    return answers


def test_questions_and_answers_are_data():
    test = selectors.knowledge_test()
    assert test.version == "2026-11" and test.pass_mark == Decimal("0.8")
    topics = {q.id for q in test.questions}
    assert {"recovery", "cost", "time", "guarantee", "liquidity"} <= topics
    assert all(0 <= q.answer < len(q.choices) for q in test.questions)


@pytest.mark.parametrize(
    ("answers", "net_worth", "field"),
    [
        (RIGHT[:-1], "800000", "answers"),  # a list of the wrong length
        ([*RIGHT, 0], "800000", "answers"),
        ("0,1,2", "800000", "answers"),
        ([99, *RIGHT[1:]], "800000", "answers"),
        ([True, *RIGHT[1:]], "800000", "answers"),
        (RIGHT, "-1", "declared_net_worth"),
        (RIGHT, "NaN", "declared_net_worth"),
        (RIGHT, "12.345", "declared_net_worth"),
        (RIGHT, "lots", "declared_net_worth"),
    ],
)
def test_bad_test_submissions_are_field_errors_and_store_nothing(make_user, answers, net_worth, field):
    with pytest.raises(ValidationError) as excinfo:
        services.knowledge_test_submit(user=make_user(), answers=answers, declared_net_worth=net_worth, ip=None)
    assert field in excinfo.value.message_dict
    assert not SuitabilityAssessment.objects.exists() and not AccountDecision.objects.exists()


def test_pass_mark_decides(make_user):
    user = make_user()
    failed = services.knowledge_test_submit(user=user, answers=wrong(2), declared_net_worth="800000", ip=None)
    assert (failed.score, failed.passed) == (Decimal("0.600"), False)
    assert selectors.suitability(user=user).step == "knowledge_test"
    passed = services.knowledge_test_submit(user=user, answers=wrong(1), declared_net_worth="800000", ip="10.0.0.1")
    assert (passed.score, passed.passed) == (Decimal("0.800"), True)
    assert selectors.suitability(user=user).step == "risk_warning"


def test_steps_then_reflection_then_ready(make_user):
    user = make_user()
    with pytest.raises(services.AccountError):
        services.risk_warning_acknowledge(user=user, version="2026-11", ip=None)
    services.knowledge_test_submit(user=user, answers=RIGHT, declared_net_worth="800000", ip=None)
    with pytest.raises(ValidationError) as excinfo:
        services.risk_warning_acknowledge(user=user, version="2020-01", ip=None)
    assert "version" in excinfo.value.message_dict
    ack = services.risk_warning_acknowledge(user=user, version="2026-11", ip="192.0.2.4")
    assert services.risk_warning_acknowledge(user=user, version="2026-11", ip="192.0.2.9") == ack
    assert (ack.user, ack.warning.version, ack.ip_address) == (user, "2026-11", "192.0.2.4")
    state = selectors.suitability(user=user)
    assert state.step == "reflection"
    assert state.ready_at == ack.acknowledged_at + timedelta(days=4)
    RiskAcknowledgement.objects.filter(pk=ack.pk).update(acknowledged_at=timezone.now() - timedelta(days=4, seconds=1))
    SuitabilityAssessment.objects.filter(user=user).update(completed_at=timezone.now() - timedelta(days=5))
    assert selectors.suitability(user=user).step == "complete"
    RiskWarning.objects.create(version="2027-01", body="Updated warning", published_at=timezone.now())
    assert selectors.suitability(user=user).step == "risk_warning"  # a new warning must be acknowledged again


def test_reflection_period_is_a_setting(make_user, settings):
    settings.SUITABILITY_REFLECTION_DAYS = 0
    user = make_user()
    services.knowledge_test_submit(user=user, answers=RIGHT, declared_net_worth="800000", ip=None)
    services.risk_warning_acknowledge(user=user, version="2026-11", ip=None)
    assert selectors.suitability(user=user).step == "complete"


def test_exposure_cap_is_the_lower_of_limit_and_ten_percent(make_user):
    modest, wealthy = make_user("modest@example.com"), make_user("wealthy@example.com")
    assert selectors.exposure_cap(user=modest) == Decimal("0.00")  # nothing declared, nothing allowed
    services.knowledge_test_submit(user=modest, answers=RIGHT, declared_net_worth="800000", ip=None)
    services.knowledge_test_submit(user=wealthy, answers=RIGHT, declared_net_worth="40000000", ip=None)
    assert selectors.exposure_cap(user=modest) == Decimal("80000.00")
    assert selectors.exposure_cap(user=wealthy) == Decimal("500000.00")


def test_professionals_skip_suitability_and_have_no_cap(make_user):
    user = make_user()
    InvestorClassification.objects.create(
        user=user, basis="income", status="approved", valid_until=timezone.now() + timedelta(days=1)
    )
    assert selectors.suitability(user=user).step == "complete"
    assert selectors.exposure_cap(user=user) is None


@given(
    net_worth=st.decimals(min_value=0, max_value=10**12, places=2),
    limit=st.decimals(min_value=0, max_value=10**9, places=2),
    share=st.decimals(min_value=0, max_value=1, places=2),
)
def test_exposure_cap_never_exceeds_either_bound(net_worth, limit, share):
    cap = rules.retail_exposure_cap(declared_net_worth=net_worth, platform_limit=limit, net_worth_share=share)
    assert Decimal(0) <= cap <= limit
    assert cap <= (net_worth * share).quantize(Decimal("0.01"))
    assert cap == cap.quantize(Decimal("0.01"))


def test_suitability_page_walks_the_steps(client, make_user):
    user = make_user()
    client.force_login(user)
    page = client.get("/accounts/suitability/").content.decode()
    assert "Knowledge test" in page and selectors.knowledge_test().questions[0].text in page
    form = {f"q_{q.id}": str(a) for q, a in zip(selectors.knowledge_test().questions, wrong(2), strict=True)}
    failed = client.post("/accounts/suitability/", {**form, "step": "test", "declared_net_worth": "800000"})
    assert "Not passed" in failed.content.decode()
    incomplete = client.post("/accounts/suitability/", {"step": "test", "declared_net_worth": "800000"})
    assert incomplete.status_code == 400 and "This field is required" in incomplete.content.decode()
    form = {f"q_{q.id}": str(q.answer) for q in selectors.knowledge_test().questions}
    assert (
        client.post("/accounts/suitability/", {**form, "step": "test", "declared_net_worth": "800000"}).status_code
        == 302
    )
    page = client.get("/accounts/suitability/").content.decode()
    assert "80,000.00 CNY" in page and "62.5 %" in page  # 500,000 of 800,000
    assert "Risk warning (version 2026-11)" in page
    unticked = client.post("/accounts/suitability/", {"step": "ack", "version": "2026-11"})
    assert unticked.status_code == 400
    client.post("/accounts/suitability/", {"step": "ack", "version": "2026-11", "confirm": "on"})
    assert "reflection period of 4 days" in client.get("/accounts/suitability/").content.decode()


def test_failed_attempts_are_capped_per_day(make_user, client):
    user = make_user()
    for _ in range(3):
        services.knowledge_test_submit(user=user, answers=wrong(3), declared_net_worth="800000", ip=None)
    with pytest.raises(services.AccountError) as excinfo:
        services.knowledge_test_submit(user=user, answers=RIGHT, declared_net_worth="800000", ip=None)
    assert excinfo.value.code == "too_many_attempts"
    client.force_login(user)
    form = {f"q_{q.id}": str(q.answer) for q in selectors.knowledge_test().questions}
    page = client.post("/accounts/suitability/", {**form, "step": "test", "declared_net_worth": "800000"})
    assert "used your 3 attempts for today" in page.content.decode()
    SuitabilityAssessment.objects.update(completed_at=timezone.now() - timedelta(days=1, seconds=1))
    assert services.knowledge_test_submit(user=user, answers=RIGHT, declared_net_worth="800000", ip=None).passed
