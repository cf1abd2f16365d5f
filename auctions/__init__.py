"""Auctions: rules, bids, the bid ledger and event stream, closing, WebSocket consumers."""
