/* Shared by the agent pages: API calls with the CSRF token, messages, live events. */
"use strict";
const carebot = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, url, body) {
    const options = {method, credentials: "same-origin", headers: {"X-CSRF-Token": csrf}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (err) {
      return {ok: false, status: 0, data: {error: "网络连接失败，请重试"}};
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
    return {ok: response.ok, status: response.status, data};
  }

  let flashTimer = null;
  function flash(text, kind) {
    const box = document.getElementById("flash");
    box.textContent = text;
    box.className = "flash " + (kind || "info");
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  /* The crisis alerts banner (base.html) as the server renders it now. */
  async function refreshAlertBanner() {
    const slot = document.getElementById("alert-banner");
    const html = slot ? await fragment("/alerts/banner") : null;
    if (html !== null) slot.innerHTML = html;
  }

  /* Calls refresh() at most every 150 ms while wanted events arrive (those `accept` takes, and
     every resync); EventSource reconnects by itself. An `alert` event (a crisis alert opened,
     grew or closed) refreshes the banner on every live page. */
  function live(wanted, refresh, accept) {
    const indicator = document.getElementById("live-state");
    const source = new EventSource("/api/v1/events");
    let timer = null;
    const schedule = (topic, data) => {
      if (topic !== "resync" && accept && !accept(data)) return;
      if (timer) return;
      timer = setTimeout(() => { timer = null; refresh(); }, 150);
    };
    source.addEventListener("ready", () => {
      document.body.dataset.live = "on";
      if (indicator) indicator.classList.add("on");
    });
    source.onerror = () => {
      document.body.dataset.live = "off";
      if (indicator) indicator.classList.remove("on");
    };
    source.addEventListener("alert", refreshAlertBanner);
    for (const topic of wanted.concat(["resync"])) {
      source.addEventListener(topic, (event) => schedule(topic, JSON.parse(event.data || "{}")));
    }
    return source;
  }

  async function fragment(url) {
    const response = await fetch(url, {credentials: "same-origin"});
    if (response.status === 401 || response.redirected) { location.reload(); return null; }
    return response.ok ? response.text() : null;
  }

  /* A list page whose filter form applies at once: the URL keeps the filters (empty ones
     dropped) and the rows come from `path` + the query; returns the refresh for live events. */
  function filteredRows(form, rows, path, afterChange) {
    const refresh = async () => {
      const html = await fragment(path + "/rows" + location.search);
      if (html !== null) rows.innerHTML = html;
    };
    form.addEventListener("change", () => {
      const params = new URLSearchParams(new FormData(form));
      for (const [key, value] of [...params]) { if (!value) params.delete(key); }
      history.replaceState(null, "", path + "?" + params.toString());
      if (afterChange) afterChange();
      refresh();
    });
    return refresh;
  }

  return {api, flash, live, fragment, filteredRows};
})();

/* The online/offline switch in the top bar: auto-assignment gives threads to online agents only. */
(() => {
  const button = document.getElementById("presence");
  if (!button) return;
  const show = (status) => {
    button.dataset.status = status;
    button.textContent = status === "online" ? "在线" : "离线";
  };
  button.addEventListener("click", async () => {
    const wanted = button.dataset.status === "online" ? "offline" : "online";
    const result = await carebot.api("POST", "/api/v1/agents/me/status", {status: wanted});
    if (result.ok) {
      show(result.data.status);
      carebot.flash(wanted === "online" ? "已上线，可自动分配会话" : "已离线，不再自动分配会话", "ok");
    } else {
      carebot.flash(result.data.error || "切换状态失败", "error");
    }
  });
})();
