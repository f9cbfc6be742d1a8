/* Canned replies in reply boxes (textarea[data-canned]): typing "/" and a few letters lists matching
   replies; arrow keys choose, Enter or a click inserts the text in place of "/words", Esc closes. */
"use strict";
(() => {
  const picker = document.getElementById("canned-picker");
  if (!picker) return;
  let box = null, start = -1, choices = [], active = 0, asked = 0;

  function close() { picker.hidden = true; start = -1; choices = []; }

  function slashQuery(textarea) {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = before.match(/(^|\s)\/([^\s\/]{0,32})$/);
    return match ? {at: before.length - match[2].length - 1, q: match[2]} : null;
  }

  function render() {
    picker.replaceChildren(...choices.map((reply, index) => {
      const item = document.createElement("div");
      item.className = "canned-choice" + (index === active ? " active" : "");
      item.setAttribute("role", "option");
      item.dataset.index = String(index);
      const key = document.createElement("b");
      key.textContent = "/" + reply.shortcut + (reply.title ? " " + reply.title : "");
      const text = document.createElement("span");
      text.textContent = reply.text;
      item.append(key, text);
      return item;
    }));
    if (!choices.length) {
      const empty = document.createElement("div");
      empty.className = "canned-choice muted";
      empty.textContent = "没有匹配的快捷回复";
      picker.append(empty);
    }
    const rect = box.getBoundingClientRect();
    picker.style.left = (window.scrollX + rect.left) + "px";
    picker.style.top = (window.scrollY + rect.bottom + 2) + "px";
    picker.style.width = rect.width + "px";
    picker.hidden = false;
  }

  async function search(textarea) {
    const found = slashQuery(textarea);
    if (!found) { close(); return; }
    box = textarea; start = found.at;
    const ticket = ++asked;
    const result = await carebot.api("GET", "/api/v1/canned?q=" + encodeURIComponent(found.q));
    if (ticket !== asked || start < 0) return;  // a later keystroke asked again
    choices = result.ok ? result.data.replies : [];
    active = 0;
    render();
  }

  function insert(index) {
    const reply = choices[index];
    if (!reply || !box) return;
    const end = box.selectionStart;
    box.value = box.value.slice(0, start) + reply.text + box.value.slice(end);
    const caret = start + reply.text.length;
    box.setSelectionRange(caret, caret);
    box.dispatchEvent(new Event("input", {bubbles: true}));
    close();
    box.focus();
  }

  document.addEventListener("input", (event) => {
    if (event.target.matches && event.target.matches("textarea[data-canned]") && event.isTrusted) search(event.target);
  });
  document.addEventListener("keydown", (event) => {
    if (picker.hidden || event.target !== box) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!choices.length) return;
      active = (active + (event.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
      render();
      event.preventDefault();
    } else if (event.key === "Enter" && choices.length && !event.ctrlKey && !event.metaKey) {
      insert(active);
      event.preventDefault();
      event.stopPropagation();
    } else if (event.key === "Escape") {
      close();
    }
  }, true);
  picker.addEventListener("mousedown", (event) => {
    const item = event.target.closest(".canned-choice[data-index]");
    if (item) { event.preventDefault(); insert(Number(item.dataset.index)); }
  });
  document.addEventListener("click", (event) => { if (!picker.contains(event.target) && event.target !== box) close(); });
})();
