// The auction room, live: applies the event stream in `seq` order, resyncs after a gap or a reconnect, counts
// down on the server's clock. Without JavaScript the page still works (read-only plus the HTTP bid form).
(function () {
  "use strict";
  const room = document.getElementById("auction");
  if (!room || !("WebSocket" in window)) return;
  const id = room.dataset.auction;
  const $ = (selector) => document.getElementById(selector);
  let seq = Number(room.dataset.seq);
  let closesAt = Date.parse($("closes-at").getAttribute("datetime"));
  let clockOffset = 0; // server time minus local time
  let backoff = 1000;
  let socket = null;

  function setText(elementId, value) {
    const element = $(elementId);
    if (element && value !== undefined && value !== null) element.textContent = value;
  }

  function status(text) {
    const element = $("live-status");
    element.hidden = !text;
    element.textContent = text || "";
  }

  function applyState(event) {
    if (event.current_price) setText("current-price", event.current_price + " " + room.dataset.currency);
    if (event.bid_count !== undefined) setText("bid-count", event.bid_count);
    if (event.closes_at) {
      closesAt = Date.parse(event.closes_at);
      $("closes-at").setAttribute("datetime", event.closes_at);
      setText("closes-at", new Date(closesAt).toLocaleString());
    }
    const amount = $("amount");
    if (event.min_next_bid && amount && document.activeElement !== amount && room.dataset.format === "english") {
      amount.value = event.min_next_bid;
    }
  }

  function addLedgerRow(event) {
    const body = document.querySelector("#ledger tbody");
    const row = document.createElement("tr");
    for (const value of [event.seq, event.bidder, event.amount, event.kind, event.placed_at.slice(11, 19)]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.appendChild(cell);
    }
    body.prepend(row);
    const empty = body.querySelector("td[colspan]");
    if (empty) empty.parentElement.remove();
  }

  function handle(event) {
    if (event.type === "snapshot") {
      clockOffset = Date.parse(event.server_time) - Date.now();
      applyState(event.auction);
      setText("leader", event.auction.leader || "—");
      if (event.seq > seq) { socket.send(JSON.stringify({ type: "resync", since_seq: seq })); }
      return;
    }
    if (event.type === "outbid") {
      if (String(event.auction) === id) status(room.dataset.outbidText + " " + event.current_price);
      return;
    }
    if (event.type === "resync.done" || event.type === "watchers" || !event.seq) return;
    if (event.seq <= seq) return; // already applied
    if (event.seq > seq + 1) { socket.send(JSON.stringify({ type: "resync", since_seq: seq })); return; }
    seq = event.seq;
    if (event.type === "bid") { applyState(event); setText("leader", event.bidder); addLedgerRow(event); }
    if (event.type === "extended") applyState(event);
    if (event.type === "voided") { applyState(event); setText("leader", event.leader || "—"); }
    if (event.type === "closed" || event.type === "cancelled") {
      const ended = event.type === "closed" ? room.dataset.closedText + " " + event.result : room.dataset.cancelledText;
      setText("status", ended + (event.final_price ? " · " + event.final_price + " " + room.dataset.currency : ""));
      closesAt = Date.now() + clockOffset;
      for (const control of document.querySelectorAll("#bid-panel input, #bid-panel button")) control.disabled = true;
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/auctions/" + id + "/");
    socket.onopen = () => { backoff = 1000; status(""); };
    socket.onmessage = (message) => handle(JSON.parse(message.data));
    socket.onclose = () => {
      status(room.dataset.reconnectingText);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function tick() {
    const left = Math.max(0, closesAt - (Date.now() + clockOffset));
    const hours = Math.floor(left / 3600000), minutes = Math.floor(left / 60000) % 60, seconds = Math.floor(left / 1000) % 60;
    setText("countdown", (hours ? hours + ":" : "") + String(minutes).padStart(2, "0") + ":" + String(seconds).padStart(2, "0"));
  }

  const form = $("bid-form");
  if (form && room.dataset.confirm) {
    form.addEventListener("submit", (submit) => {
      if (!window.confirm(room.dataset.confirm.replace("%s", $("amount").value))) submit.preventDefault();
    });
  }
  connect();
  tick();
  setInterval(tick, 1000);
})();
