"""The auction setup forms, for sellers and for staff in admin (the service validates; these shape the input and
put the service's errors on their fields)."""

from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from auctions import services
from auctions.models import Auction
from portfolios.models import Portfolio

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
        names = set(AuctionSetupForm.base_fields) - {"soft_close_minutes"}
        data = {k: v for k, v in self.cleaned_data.items() if v not in ("", None) and k in names}
        minutes = timedelta(minutes=self.cleaned_data["soft_close_minutes"])
        return {**data, "soft_close_window": minutes, "soft_close_extension": minutes}

    def schedule(self, *, user: User, portfolio: Portfolio) -> Auction | None:
        """The auction, or None with the service's objections on the form's fields."""
        try:
            return services.auction_create(user=user, portfolio=portfolio, data=self.to_service())
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                self.add_error(field if field in self.fields else None, problems)
        except services.AuctionError as error:
            self.add_error(None, error.message)
        return None


class StaffAuctionSetupForm(AuctionSetupForm):
    """Staff schedule an auction for any approved portfolio (admin), through the same service as sellers."""

    portfolio = forms.ModelChoiceField(
        label=_("Portfolio"),
        queryset=Portfolio.objects.filter(status=Portfolio.Status.APPROVED).select_related("seller"),
    )
    field_order = ["portfolio"]
