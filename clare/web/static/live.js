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
    } catch (err) {
      mark("reconnecting", false);
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
