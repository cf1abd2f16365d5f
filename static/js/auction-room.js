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
  let alias = room.dataset.alias || "";
  let ended = false;
  // Our alias comes from our first accepted bid: its ack and its event may arrive in either order.
  const myBids = new Set(); // seq of acks whose event has not arrived yet
  const seen = new Map(); // seq → bidder of recent bid events
  let leader = null;
  const chart = priceChart();

  function setText(elementId, value) {
    const element = $(elementId);
    if (element && value !== undefined && value !== null) element.textContent = value;
  }

  function status(text) {
    const element = $("live-status");
    element.hidden = !text;
    element.textContent = text || "";
  }

  // The price chart grows with every accepted bid (Chart.js from static/vendor/; without it the ledger stands).
  function priceChart() {
    const canvas = $("price-chart"), source = $("price-points");
    if (!canvas || !source || typeof window.Chart === "undefined") return null;
    const points = JSON.parse(source.textContent);
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: points.map((point) => point.at.slice(11, 19)),
        datasets: [{ label: room.dataset.currency, data: points.map((point) => Number(point.amount)),
          seqs: points.map((point) => point.seq), borderColor: "#2f6fb3", stepped: true, pointRadius: 2 }]
      },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } } }
    });
  }

  function chartAdd(event) {
    if (!chart) return;
    chart.data.labels.push(event.placed_at.slice(11, 19));
    chart.data.datasets[0].data.push(Number(event.amount));
    chart.data.datasets[0].seqs.push(event.seq);
    chart.update();
  }

  function chartRemove(bidSeq) {
    if (!chart) return;
    const index = chart.data.datasets[0].seqs.indexOf(bidSeq);
    if (index < 0) return;
    chart.data.labels.splice(index, 1);
    chart.data.datasets[0].data.splice(index, 1);
    chart.data.datasets[0].seqs.splice(index, 1);
    chart.update();
  }

  function position(current) {
    leader = current;
    if (!alias || !$("your-status")) return;
    const text = leader === alias ? room.dataset.leadingText : room.dataset.outbidStatusText;
    setText("your-status", alias + " · " + text);
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
      alias = event.auction.your_alias || alias;
      if (!event.auction.format || event.auction.format === "english") position(event.auction.leader);
      if (event.seq > seq) { socket.send(JSON.stringify({ type: "resync", since_seq: seq })); }
      return;
    }
    if (event.type === "outbid") {
      if (String(event.auction) === id) status(room.dataset.outbidText + " " + event.current_price);
      return;
    }
    if (event.type === "watchers") { setText("watchers", event.count); return; }
    if (event.type === "bid.accepted" || event.type === "bid.rejected") { acknowledged(event); return; }
    if (event.type === "resync.done" || !event.seq) return;
    if (event.seq <= seq) return; // already applied
    if (event.seq > seq + 1) { socket.send(JSON.stringify({ type: "resync", since_seq: seq })); return; }
    seq = event.seq;
    if (event.type === "bid") {
      seen.set(event.seq, event.bidder);
      if (seen.size > 100) seen.delete(seen.keys().next().value);
      if (myBids.delete(event.seq)) alias = event.bidder;
      if (event.bidder !== alias) $("bid-result").hidden = true; // our last answer is stale now
      applyState(event); setText("leader", event.bidder); addLedgerRow(event); chartAdd(event); position(event.bidder);
    }
    if (event.type === "extended") applyState(event);
    if (event.type === "voided") {
      applyState(event); setText("leader", event.leader || "—"); chartRemove(event.bid_seq); position(event.leader);
    }
    if (event.type === "closed" || event.type === "cancelled") {
      const outcome = event.type === "closed" ? room.dataset.closedText + " " + event.result : room.dataset.cancelledText;
      setText("status", outcome + (event.final_price ? " · " + event.final_price + " " + room.dataset.currency : ""));
      closesAt = Date.now() + clockOffset;
      ended = true;
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
      const button = $("bid-button");
      if (button && !ended && !$("bid-blocker")) button.disabled = false; // a bid in flight: its answer is lost
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function tick() {
    const left = Math.max(0, closesAt - (Date.now() + clockOffset));
    const hours = Math.floor(left / 3600000), minutes = Math.floor(left / 60000) % 60, seconds = Math.floor(left / 1000) % 60;
    setText("countdown", (hours ? hours + ":" : "") + String(minutes).padStart(2, "0") + ":" + String(seconds).padStart(2, "0"));
  }

  function result(text, ok) {
    const element = $("bid-result");
    element.hidden = false;
    element.className = ok ? "success-text" : "warning-text";
    element.textContent = text;
  }

  function acknowledged(event) {
    $("bid-button").disabled = false;
    if (event.type === "bid.accepted") {
      if (seen.has(event.seq)) { alias = seen.get(event.seq); position(leader); } else if (event.seq) myBids.add(event.seq);
      result(room.dataset.acceptedText, true);
      return;
    }
    result(event.message, false);
    if (event.min_next_bid && room.dataset.format === "english") $("amount").value = event.min_next_bid;
  }

  // Bids go over the open socket (an instant answer, no reload); without one the form posts over HTTP as usual.
  const form = $("bid-form");
  if (form) {
    form.addEventListener("submit", (submit) => {
      const amount = $("amount").value.trim();
      if (room.dataset.confirm && !window.confirm(room.dataset.confirm.replace("%s", amount))) {
        submit.preventDefault();
        return;
      }
      if (!socket || socket.readyState !== WebSocket.OPEN || !window.crypto || !window.crypto.randomUUID) return;
      submit.preventDefault();
      $("bid-button").disabled = true;
      socket.send(JSON.stringify({ type: "bid", amount: amount, request_id: window.crypto.randomUUID() }));
    });
  }
  connect();
  tick();
  setInterval(tick, 1000);
})();
