// Draws each distribution table of the portfolio page as a bar chart (Chart.js, installed by setup into
// static/vendor/). The tables stay: they are the data, and what readers without script or without the library see.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") return;
  var sections = document.querySelectorAll("section.distribution");
  Array.prototype.forEach.call(sections, function (section) {
    var rows = section.querySelectorAll("tbody tr[data-label]");
    if (!rows.length) return;
    var labels = [], shares = [], loans = [];
    Array.prototype.forEach.call(rows, function (row) {
      labels.push(row.dataset.label);
      shares.push(Math.round(parseFloat(row.dataset.share) * 1000) / 10);
      loans.push(parseInt(row.dataset.loans, 10));
    });
    var box = document.createElement("div");
    box.className = "chart-box";
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", section.dataset.title + ": share of total claim by group");
    box.appendChild(canvas);
    section.insertBefore(box, section.querySelector("table"));
    section.classList.add("charted");
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: "% of total claim", data: shares, backgroundColor: "#2f6fb3" }] },
      options: {
        indexAxis: "y",
        animation: false,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { afterLabel: function (item) { return loans[item.dataIndex] + " loans"; } } }
        },
        scales: { x: { beginAtZero: true, ticks: { callback: function (v) { return v + " %"; } } } }
      }
    });
  });
})();
