/* Thread page: reply, notes, claim, transfer, release, resolve; history re-fetched live. */
"use strict";
(() => {
  const section = document.querySelector("section.thread");
  const threadId = Number(section.dataset.thread);
  const liveBox = document.getElementById("thread-live");
  const windowLeft = document.getElementById("window-left");
  const replyText = document.getElementById("reply-text");
  let windowDeadline = null;

  function showWindow() {
    const bar = liveBox.querySelector(".status-bar");
    const held = bar.dataset.held === "yes";
    document.getElementById("reply-send").disabled = !held;
    if (!held) { windowLeft.textContent = "接手后才能回复"; return; }
    const seconds = Math.max(0, Math.round((windowDeadline - Date.now()) / 1000));
    const unlimited = bar.dataset.windowMessages === "";  // the platform sets no count
    const messages = Number(bar.dataset.windowMessages);
    if (seconds <= 0 || (!unlimited && messages <= 0)) {
      windowLeft.textContent = "回复窗口已关闭，需等待客户再次来信";
      windowLeft.className = "window closed";
      return;
    }
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60);
    windowLeft.textContent = `回复窗口剩余 ${h} 小时 ${m} 分` + (unlimited ? "" : `，还可发送 ${messages} 条`);
    windowLeft.className = "window" + (seconds < 3600 ? " soon" : "");
  }

  function adopt() {
    const bar = liveBox.querySelector(".status-bar");
    windowDeadline = Date.now() + Number(bar.dataset.windowSeconds) * 1000;
    showWindow();
    const history = document.getElementById("history");
    history.lastElementChild && history.lastElementChild.scrollIntoView({block: "nearest"});
  }

  async function refresh() {
    const html = await carebot.fragment(`/threads/${threadId}/live`);
    if (html !== null) { liveBox.innerHTML = html; adopt(); }
  }

  async function act(url, body, success) {
    const result = await carebot.api("POST", url, body);
    if (result.ok) {
      if (success) carebot.flash(success, "ok");
    } else {
      carebot.flash(result.data.error || "操作失败", "error");
    }
    await refresh();
    return result;
  }

  document.getElementById("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = replyText.value;
    if (!text.trim()) return;
    const result = await act(`/api/v1/threads/${threadId}/reply`, {text});
    if (result.ok) replyText.value = "";
  });
  replyText.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      document.getElementById("reply-form").requestSubmit();
    }
  });
  document.getElementById("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = document.getElementById("note-text");
    if (!box.value.trim()) return;
    const result = await act(`/api/v1/threads/${threadId}/notes`, {text: box.value}, "备注已添加");
    if (result.ok) box.value = "";
  });
  document.getElementById("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const to = document.getElementById("transfer-to").value;
    if (!to) return;
    const result = await act(`/api/v1/threads/${threadId}/transfer`, {to}, "已转交");
    if (result.ok) location.href = "/inbox";
  });
  liveBox.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    button.disabled = true;
    const action = button.dataset.action;
    if (action === "claim") {
      await act(`/api/v1/inbox/${button.dataset.item}/claim`, undefined, "已接手");
    } else if (action === "release") {
      const result = await act(`/api/v1/threads/${threadId}/release`, undefined, "已退回队列");
      if (result.ok) location.href = "/inbox";
    } else if (action === "flag-miss") {
      await act(`/api/v1/messages/${button.dataset.message}/miss`, undefined, "已标记，管理员会在“未答好的问题”里处理");
    } else if (action === "resolve") {
      const body = {ask_rating: document.getElementById("ask-rating").checked};
      const result = await act(`/api/v1/threads/${threadId}/resolve`, body, "已解决，会话交还机器人");
      if (result.ok) location.href = "/inbox";
    }
  });

  carebot.live(["thread", "inbox", "ticket", "sla"], refresh, (data) => data.thread_id === threadId);
  setInterval(showWindow, 30000);
  setInterval(() => {  // delivery states: also poll while something is still on its way
    if (liveBox.querySelector('[data-state="queued"], [data-state="sending"], [data-state="pending"]')) refresh();
  }, 2000);
  adopt();
})();
