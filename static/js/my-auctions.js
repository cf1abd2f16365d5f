// "My auctions", live: one socket per open auction in the table (the first MAX_LIVE, soonest closing first) keeps
// its price, your position and status current. Without JavaScript the table is as of the page load.
(function () {
  "use strict";
  const table = document.getElementById("my-auctions");
  if (!table || !("WebSocket" in window)) return;
  const MAX_LIVE = 20;
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  const rows = Array.from(table.querySelectorAll("tbody tr[data-live]")).slice(0, MAX_LIVE);

  function follow(row) {
    const cell = (name) => row.querySelector("." + name);
    const currency = row.dataset.currency;
    let alias = null, seq = 0, backoff = 1000, done = false;

    function show(price, leader) {
      if (price) cell("price").textContent = price + " " + currency;
      if (leader !== undefined) cell("leading").textContent = alias && leader === alias ? table.dataset.youText : "—";
    }

    function connect() {
      const socket = new WebSocket(scheme + window.location.host + "/ws/auctions/" + row.dataset.auction + "/");
      socket.onopen = () => { backoff = 1000; };
      socket.onmessage = (message) => {
        const event = JSON.parse(message.data);
        if (event.type === "snapshot") {
          alias = event.auction.your_alias;
          seq = event.seq;
          if (event.auction.format === "english") show(event.auction.current_price, event.auction.leader);
          return;
        }
        if (!event.seq || event.seq <= seq) return;
        seq = event.seq;
        if (event.type === "bid") show(event.current_price, event.bidder);
        if (event.type === "voided") show(event.current_price, event.leader);
        if (event.closes_at) {
          const time = cell("closes").querySelector("time");
          time.setAttribute("datetime", event.closes_at);
          time.textContent = new Date(Date.parse(event.closes_at)).toLocaleString();
        }
        if (event.type === "closed" || event.type === "cancelled") {
          cell("status").textContent = event.type === "closed" ? table.dataset.closedText + " " + event.result
            : table.dataset.cancelledText;
          if (event.final_price) cell("price").textContent = event.final_price + " " + currency;
          done = true;
          socket.close();
        }
      };
      socket.onclose = () => {
        if (done) return;
        setTimeout(connect, backoff); // a missed event is covered by the next snapshot
        backoff = Math.min(backoff * 2, 30000);
      };
    }
    connect();
  }
  rows.forEach(follow);
})();
