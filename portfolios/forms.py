"""The browse page's filters."""

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from portfolios import tape
from portfolios.models import Loan, Portfolio, PortfolioDocument

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


class PortfolioDetailsForm(forms.Form):
    """Step 1 of the seller's wizard: what the listing is."""

    seller = forms.ModelChoiceField(label=_("Seller"), queryset=Organization.objects.none(), empty_label=None)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    debt_type = forms.ChoiceField(label=_("Debt type"), choices=Portfolio.DebtType.choices)
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    cutoff_date = forms.DateField(
        label=_("Cut-off date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The date the balances in the loan tape refer to."),
    )
    regions = forms.CharField(
        label=_("Regions"), required=False, max_length=1000, help_text=_("Provinces or cities, separated by commas.")
    )
    audience = forms.ChoiceField(label=_("Audience"), choices=Portfolio.Audience.choices)

    def __init__(self, *args: Any, sellers: "QuerySet[Organization]", editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        seller_field = cast(forms.ModelChoiceField, self.fields["seller"])
        seller_field.queryset = sellers
        if editing:
            del self.fields["seller"]

    def clean_regions(self) -> list[str]:
        return [region.strip()[:64] for region in self.cleaned_data["regions"].split(",") if region.strip()]


class LoanTapeForm(forms.Form):
    """Step 2: the tape, and which of the seller's headers is which of our columns (blank: the same name)."""

    file = forms.FileField(label=_("Loan tape (CSV or XLSX)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in tape.COLUMNS:
            self.fields[f"map_{name}"] = forms.CharField(label=name, required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        seen: dict[str, str] = {}
        for name in tape.COLUMNS:
            header = (cleaned.get(f"map_{name}") or "").strip()
            if header in seen:
                self.add_error(
                    f"map_{name}",
                    _("“%(header)s” is already matched to %(other)s.") % {"header": header, "other": seen[header]},
                )
            elif header:
                seen[header] = name
        return cleaned

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[f"map_{name}"] for name in tape.COLUMNS]

    def mapping(self) -> dict[str, str]:
        """Their header → our column, for the headers the seller named."""
        return {
            self.cleaned_data[f"map_{name}"].strip(): name
            for name in tape.COLUMNS
            if self.cleaned_data.get(f"map_{name}", "").strip()
        }


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("File (PDF, CSV or XLSX)"))
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=PortfolioDocument.Kind.choices)
    visibility = forms.ChoiceField(
        label=_("Who may read it"),
        choices=PortfolioDocument.Visibility.choices,
        initial=PortfolioDocument.Visibility.DATA_ROOM,
    )
