"""The browse page's filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portfolios.models import Loan, Portfolio

SORTS = {
    "newest": ["-created_at", "-pk"],
    "face_desc": ["-stats__total_claim", "-pk"],
    "face_asc": ["stats__total_claim", "pk"],
}


class BrowseForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    debt_type = forms.ChoiceField(
        label=_("Debt type"), required=False, choices=[("", _("Any")), *Portfolio.DebtType.choices]
    )
    region = forms.CharField(label=_("Region"), required=False, max_length=64)
    audience = forms.ChoiceField(
        label=_("Audience"),
        required=False,
        choices=[("", _("Any")), ("retail", _("Open to retail")), ("professional", _("Professional only"))],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any"))]
        + [(s.value, s.label) for s in Portfolio.Status if s in ("approved", "in_auction", "sold", "unsold")],
    )
    min_face = forms.DecimalField(
        label=_("Face value from"), required=False, min_value=0, max_digits=18, decimal_places=2
    )
    max_face = forms.DecimalField(label=_("to"), required=False, min_value=0, max_digits=18, decimal_places=2)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("newest", _("Newest")),
            ("face_desc", _("Largest face value")),
            ("face_asc", _("Smallest face value")),
        ],
    )


class NdaAcceptForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    agree = forms.BooleanField(label=_("I have read this NDA and accept it on behalf of myself and my organization."))


class LoanFilterForm(forms.Form):
    region = forms.CharField(label=_("Region"), required=False, max_length=64)
    legal_status = forms.ChoiceField(
        label=_("Legal status"), required=False, choices=[("", _("Any")), *Loan.LegalStatus.choices]
    )
