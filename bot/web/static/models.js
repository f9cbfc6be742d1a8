/* The models page: while a training runs, its progress lines and verdict come in every second
   (polled: the job may run in another server process); when it ends the page is loaded again,
   so the model list shows the new model and the gate's verdict. Loaded with GET, not reloaded:
   a page that answered a refused POST (a second training) would post it again. */
"use strict";
(() => {
  const card = document.getElementById("training");
  if (!card || card.dataset.state !== "running") return;
  const log = document.getElementById("training-log");
  const verdict = card.querySelector(".verdict");
  const poll = async () => {
    const answer = await carebot.api("GET", "/api/v1/models/training/" + card.dataset.job);
    if (!answer.ok) { carebot.flash(answer.data.error || "无法读取训练进度", "error"); return; }
    log.textContent = answer.data.log.join("\n");
    log.scrollTop = log.scrollHeight;
    if (answer.data.state === "running") { setTimeout(poll, 1000); return; }
    verdict.textContent = "已结束";
    location.assign(location.pathname);
  };
  setTimeout(poll, 1000);
})();
