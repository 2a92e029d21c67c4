// Live updates for Clare's pages: follow /api/v1/stream and refresh the parts
// of the page marked data-live when the views change. The page works without
// this script; it only saves reloading.
"use strict";
(function () {
  const state = { events: 0, views: 0, refreshes: 0, connected: false };
  window.clareLive = state;
  const badge = () => document.getElementById("live");
  let timer = null;
  let busy = false;
  let again = false;

  function mark(text, on) {
    const el = badge();
    if (!el) return;
    el.textContent = text;
    el.className = "live " + (on ? "on" : "off");
  }

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const fresh of doc.querySelectorAll("[data-live][id]")) {
        const old = document.getElementById(fresh.id);
        // Never pull a form away from someone typing in it.
        if (!old || old.contains(document.activeElement)) continue;
        old.replaceWith(document.importNode(fresh, true));
      }
      state.refreshes += 1;
      notifyNew();
    } catch (err) {
      mark("reconnecting", false);
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
  }

  // Permission prompts waiting on any host, as the navigation lists them; a new one
  // while a page is open gets a browser notification (once the person allowed them).
  const pendingIds = () => {
    const nav = document.getElementById("nav-needs-you");
    const text = nav ? nav.dataset.pending || "" : "";
    return new Set(text.split(" ").filter(Boolean));
  };
  let known = pendingIds();
  state.notified = 0;

  function notifyNew() {
    const now = pendingIds();
    const fresh = [...now].filter((id) => !known.has(id));
    known = now;
    if (!fresh.length || !window.Notification || Notification.permission !== "granted") return;
    const n = new Notification("Clare: " + fresh.length + " decision(s) need you", {
      body: "A session asks for permission. Open Needs you to allow or deny.",
      tag: "clare-decisions",
    });
    n.onclick = () => { window.focus(); location.href = "/decisions"; };
    state.notified += fresh.length;
  }

  function offerNotifications() {
    const button = document.getElementById("notify-me");
    if (!button || !window.Notification || Notification.permission !== "default") return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await Notification.requestPermission();
      button.hidden = true;
    });
  }

  // The board's filter box calls this after it changes the address.
  state.refresh = refresh;

  function schedule() {
    if (timer !== null) return;
    timer = setTimeout(() => { timer = null; refresh(); }, 80);
  }

  function connect() {
    if (!window.EventSource) return;
    const after = document.body.dataset.seq || "";
    const source = new EventSource("/api/v1/stream" + (after ? "?after=" + encodeURIComponent(after) : ""));
    source.addEventListener("hello", () => { state.connected = true; mark("live", true); });
    source.addEventListener("event", () => { state.events += 1; });
    source.addEventListener("view", () => { state.views += 1; schedule(); });
    source.addEventListener("reset", () => location.reload());
    source.onerror = () => {
      state.connected = false;
      mark("reconnecting", false);
      // A refusal (every stream slot taken) closes the source for good: try again later.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
    window.addEventListener("pagehide", () => source.close());
  }

  function start() {
    known = pendingIds();
    offerNotifications();
    connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
