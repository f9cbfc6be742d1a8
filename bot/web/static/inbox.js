/* Inbox page: filters apply at once, rows are fetched again on live events, claim. */
"use strict";
(() => {
  const form = document.getElementById("inbox-filters");
  const body = document.getElementById("inbox-rows");

  const refresh = carebot.filteredRows(form, body, "/inbox", () => {
    form.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("active", tab.querySelector("input").checked));
  });

  body.addEventListener("click", async (event) => {
    const button = event.target.closest("button.claim");
    if (!button) return;
    button.disabled = true;
    const result = await carebot.api("POST", `/api/v1/inbox/${button.dataset.item}/claim`);
    if (result.ok) {
      location.href = `/threads/${result.data.thread_id}`;
      return;
    }
    carebot.flash(result.data.error || "接手失败", "error");
    refresh();
  });

  carebot.live(["inbox", "thread", "ticket", "sla"], refresh);
  setInterval(refresh, 30000);  // waiting times and SLA clocks move on
})();
