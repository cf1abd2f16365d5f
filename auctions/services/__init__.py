"""Every change to an auction, one function per use case (setup, bidding, lifecycle)."""

from auctions.services.base import AuctionError, BidOutcome
from auctions.services.bidding import bid_place, proxy_bid_set
from auctions.services.lifecycle import (
    auction_cancel,
    auction_close,
    auction_open,
    auction_settlement_recorded,
    auctions_close_due,
    auctions_sweep,
    bid_void,
)
from auctions.services.setup import auction_create, auction_relist

__all__ = [
    "AuctionError",
    "BidOutcome",
    "auction_cancel",
    "auction_close",
    "auction_create",
    "auction_open",
    "auction_relist",
    "auction_settlement_recorded",
    "auctions_close_due",
    "auctions_sweep",
    "bid_place",
    "bid_void",
    "proxy_bid_set",
]
