// The board's filter box, live: as someone types, the address takes the
// filter (so a reload or a live refresh keeps it) and the board is fetched
// again, filtered by the server exactly as `clare task list` filters. Without
// this script the form still works: its button submits it.
"use strict";
(function () {
  function setup() {
    const form = document.getElementById("board-filter");
    if (!form) return;
    let timer = null;
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const params = new URLSearchParams();
        for (const [key, value] of new FormData(form)) {
          if (String(value).trim()) params.set(key, String(value).trim());
        }
        const query = params.toString();
        history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
        if (window.clareLive && window.clareLive.refresh) window.clareLive.refresh();
      }, 150);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
