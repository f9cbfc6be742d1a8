/* Tickets pages: the list's filters apply at once and rows follow live ticket/SLA events;
   the detail page reloads when its ticket changes (unless the agent is editing the form). */
"use strict";
(() => {
  const rows = document.getElementById("ticket-rows");
  const filters = document.getElementById("ticket-filters");
  if (rows && filters) {
    const refresh = carebot.filteredRows(filters, rows, "/tickets");
    carebot.live(["ticket", "sla"], refresh);
    setInterval(refresh, 60000);  // due times pass without an event
    return;
  }
  const detail = document.querySelector(".ticket-detail");
  if (!detail) return;
  const form = document.getElementById("ticket-form");
  let editing = false;
  form.addEventListener("input", () => { editing = true; });
  form.addEventListener("change", () => { editing = true; });
  const mine = (data) => String(data.ticket_id) === detail.dataset.ticket || String(data.thread_id) === detail.dataset.thread;
  carebot.live(["ticket", "sla", "thread"], () => { if (!editing) location.reload(); }, mine);
})();
