// Follows a loan-tape import: polls its job resource, moves the progress bar, reloads the page once it is done.
(function () {
  "use strict";
  var card = document.getElementById("import-job");
  if (!card || card.dataset.finished === "true") return;
  var bar = document.getElementById("import-progress");
  var status = document.getElementById("import-status");
  var counts = document.getElementById("import-counts");
  var delay = 700;

  function poll() {
    fetch(card.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (job) {
        bar.value = job.progress;
        bar.textContent = Math.round(job.progress * 100) + " %";
        status.textContent = job.status;
        counts.textContent = job.rows_read + " rows read, " + job.error_count + " problems";
        if (job.status === "succeeded" || job.status === "failed") {
          window.location.reload();
        } else {
          delay = 700;
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        delay = Math.min(delay * 2, 10000);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
