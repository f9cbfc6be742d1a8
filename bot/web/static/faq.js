/* The FAQ pages: deleting asks first; the import: the chosen YAML file is sent as it is to the API (a file may be
   larger than a form post may be), and a broken file's line number is shown. */
"use strict";
(() => {
  const removal = document.getElementById("faq-delete");
  if (removal) removal.addEventListener("submit", (event) => { if (!confirm("删除这个 FAQ？")) event.preventDefault(); });
  const form = document.getElementById("faq-import");
  if (!form) return;
  const error = document.getElementById("faq-import-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return;
    const params = new URLSearchParams({filename: file.name, replace: form.elements.replace.checked ? "1" : "0"});
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    let response;
    try {
      response = await fetch("/api/v1/faqs/import?" + params, {method: "POST", credentials: "same-origin",
        headers: {"X-CSRF-Token": csrf, "Content-Type": "application/x-yaml"}, body: file});
    } catch (err) {
      error.textContent = "网络连接失败，请重试"; error.hidden = false; return;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { error.textContent = data.error || ("导入失败（" + response.status + "）"); error.hidden = false; return; }
    error.hidden = true;
    carebot.flash(`已导入：新增 ${data.added}，更新 ${data.updated}，删除 ${data.removed}`, "ok");
    setTimeout(() => location.reload(), 800);
  });
})();
