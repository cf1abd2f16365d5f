"""Retail-buyer suitability: the knowledge test with the loss-bearing declaration, and the risk acknowledgement."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import rules, selectors
from accounts.models import AccountDecision, RiskAcknowledgement, SuitabilityAssessment, User
from accounts.services.users import AccountError
from accounts.services.verification import decision_record

MAX_NET_WORTH = Decimal("1e15")
# Unlimited retries with feedback would let anyone pass by elimination; attempts are capped per day.
KNOWLEDGE_TEST_WINDOW = timedelta(days=1)


def _clean_answers(answers: Any, questions: list[selectors.Question]) -> list[int]:
    if not isinstance(answers, list) or len(answers) != len(questions):
        raise ValidationError(
            {"answers": _("Answer all %(count)d questions, one choice each.") % {"count": len(questions)}}
        )
    cleaned = []
    for given, question in zip(answers, questions, strict=True):
        if isinstance(given, bool) or not isinstance(given, int) or not 0 <= given < len(question.choices):
            raise ValidationError({"answers": _("Each answer must be one of its question's choices.")})
        cleaned.append(given)
    return cleaned


def _clean_net_worth(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"declared_net_worth": _("Enter your net worth in CNY, e.g. 800000.")}) from exc
    if not amount.is_finite() or amount < 0 or amount >= MAX_NET_WORTH or amount != amount.quantize(rules.CENT):
        raise ValidationError({"declared_net_worth": _("Enter your net worth in CNY, e.g. 800000.")})
    return amount


def knowledge_test_submit(
    *, user: User, answers: Any, declared_net_worth: Any, ip: str | None
) -> SuitabilityAssessment:
    """Score the entry test; a pass with a declared net worth lets the buyer go on to the risk warning."""
    test = selectors.knowledge_test()
    cleaned = _clean_answers(answers, test.questions)
    net_worth = _clean_net_worth(declared_net_worth)
    score = rules.knowledge_score(cleaned, [q.answer for q in test.questions])
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)  # attempts are counted one at a time
        since = timezone.now() - KNOWLEDGE_TEST_WINDOW
        if user.suitability_assessments.filter(passed=False, completed_at__gte=since).count() >= (
            settings.KNOWLEDGE_TEST_ATTEMPTS_PER_DAY
        ):
            raise AccountError(
                "too_many_attempts",
                _("You have used your %(n)d attempts for today. Read the risk warning again and retry tomorrow.")
                % {"n": settings.KNOWLEDGE_TEST_ATTEMPTS_PER_DAY},
            )
        assessment = SuitabilityAssessment.objects.create(
            user=user,
            test_version=test.version,
            answers=cleaned,
            score=score,
            passed=score >= test.pass_mark,
            declared_net_worth=net_worth,
            ip_address=ip,
        )
        decision_record(
            user=user,
            kind=AccountDecision.Kind.KNOWLEDGE_TEST_TAKEN,
            actor=user,
            ip=ip,
            version=test.version,
            score=str(score),
            passed=assessment.passed,
        )
    return assessment


def risk_warning_acknowledge(*, user: User, version: str, ip: str | None) -> RiskAcknowledgement:
    """Record that the buyer read and accepted the risk warning version they were shown (it must be current)."""
    if selectors.suitability_passed(user=user) is None:
        raise AccountError("knowledge_test_required", _("Pass the knowledge test first."))
    warning = selectors.risk_warning_current()
    if version != warning.version:
        raise ValidationError(
            {"version": _("The risk warning has changed. Read the current version and confirm again.")}
        )
    try:
        with transaction.atomic():
            acknowledgement = RiskAcknowledgement.objects.create(user=user, warning=warning, ip_address=ip)
            decision_record(
                user=user, kind=AccountDecision.Kind.RISK_ACKNOWLEDGED, actor=user, ip=ip, version=warning.version
            )
    except IntegrityError:  # acknowledged before: the first record stands
        return RiskAcknowledgement.objects.get(user=user, warning=warning)
    return acknowledgement
