// The statistics page is drawn on the server; this script only lets Enter apply the
// filters from a drop-down too (as it does from a date field), and marks an early-warning
// alert as seen (a POST with the page's CSRF token), then reloads the figures.
"use strict";

(function () {
  const filters = document.getElementById("stats-filters");
  if (filters) {
    filters.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.tagName === "SELECT") {
        event.preventDefault();
        filters.requestSubmit();
      }
    });
  }

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  for (const button of document.querySelectorAll("button.acknowledge")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const response = await fetch(
        "/api/stats/warnings/" + encodeURIComponent(button.dataset.warning) + "/acknowledge",
        { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" },
      );
      if (response.ok) {
        window.location.reload();
      } else {
        button.disabled = false;
        const error = document.getElementById("stats-error");
        const body = await response.json().catch(() => ({}));
        error.textContent = body.message || String(response.status);
      }
    });
  }
})();
