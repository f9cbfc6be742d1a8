/* The FAQ pages: deleting asks first; the import: the chosen YAML file is sent as it is to the API (a file may be
   larger than a form post may be), and a broken file's line number is shown; answers too long for a platform's
   message are shown as they will be sent (the page then stays until the admin has read them). */
"use strict";
(() => {
  const removal = document.getElementById("faq-delete");
  if (removal) removal.addEventListener("submit", (event) => { if (!confirm("删除这个 FAQ？")) event.preventDefault(); });
  const form = document.getElementById("faq-import");
  if (!form) return;
  const error = document.getElementById("faq-import-error");
  const split = document.getElementById("faq-import-split");
  const showSplit = (warnings) => {
    split.replaceChildren();
    for (const w of warnings) {
      const line = document.createElement("p");
      line.textContent = `${w.name}：${w.label}单条消息上限 ${w.limit}，这个答案会分 ${w.parts.length} 条发送。`;
      const parts = document.createElement("ol");
      for (const part of w.parts) {
        const item = document.createElement("li");
        item.className = "split-part";
        item.textContent = part;
        parts.append(item);
      }
      split.append(line, parts);
    }
    split.hidden = false;
  };
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
    if (data.split && data.split.length) { showSplit(data.split); return; }
    setTimeout(() => location.reload(), 800);
  });
})();
