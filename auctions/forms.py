"""The seller's auction setup form (the service validates; this only shapes the input)."""

from datetime import timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from auctions.models import Auction

MONEY = {"inputmode": "decimal", "autocomplete": "off"}


class AuctionSetupForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=Auction.Format.choices, initial=Auction.Format.ENGLISH)
    starts_at = forms.DateTimeField(
        label=_("Starts (UTC)"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(label=_("Ends (UTC)"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    starting_price = forms.CharField(label=_("Starting price"), max_length=20, widget=forms.TextInput(attrs=MONEY))
    reserve_price = forms.CharField(
        label=_("Reserve (hidden from buyers)"), max_length=20, required=False, widget=forms.TextInput(attrs=MONEY)
    )
    increment = forms.CharField(
        label=_("Bid increment"), max_length=20, required=False, help_text=_("Default: 1% of the starting price.")
    )
    deposit_amount = forms.CharField(
        label=_("Deposit"),
        max_length=20,
        required=False,
        help_text=_("Default 10% of the starting price; at most 20%."),
    )
    soft_close_minutes = forms.IntegerField(
        label=_("Soft close: a bid in the last … minutes extends the end by as many"),
        min_value=0,
        max_value=60,
        initial=5,
    )

    def to_service(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if v not in ("", None) and k != "soft_close_minutes"}
        minutes = timedelta(minutes=self.cleaned_data["soft_close_minutes"])
        return {**data, "soft_close_window": minutes, "soft_close_extension": minutes}
