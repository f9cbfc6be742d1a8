/* Inbox page: filters apply at once, rows are fetched again on live events, claim. */
"use strict";
(() => {
  const form = document.getElementById("inbox-filters");
  const body = document.getElementById("inbox-rows");

  async function refresh() {
    const html = await carebot.fragment("/inbox/rows" + location.search);
    if (html !== null) body.innerHTML = html;
  }

  form.addEventListener("change", () => {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) { if (!value) params.delete(key); }
    history.replaceState(null, "", "/inbox?" + params.toString());
    form.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("active", tab.querySelector("input").checked));
    refresh();
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
