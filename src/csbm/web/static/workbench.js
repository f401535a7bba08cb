// csbm workbench: live countdowns, the browser's time zone for the sign-in form, print
// buttons. No library; the pages work without it (the times are in the HTML).
(function () {
  "use strict";
  var body = document.body;
  function words(seconds) {
    var s = Math.abs(seconds), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
        m = Math.floor((s % 3600) / 60), parts = [];
    if (d) parts.push(d + " " + (body.dataset.i18nDays || "d"));
    if (d || h) parts.push(h + " " + (body.dataset.i18nHours || "h"));
    parts.push(m + " " + (body.dataset.i18nMinutes || "min"));
    return parts.join(" ");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(due)) return;
      var left = Math.round((due - now) / 1000);
      var pattern = left >= 0 ? (body.dataset.i18nIn || "in {t}") : (body.dataset.i18nOverdue || "overdue by {t}");
      el.textContent = pattern.replace("{t}", words(left));
      el.classList.toggle("overdue", left < 0);
    });
  }
  function zone() {
    try {
      var z = Intl.DateTimeFormat().resolvedOptions().timeZone;
      document.querySelectorAll("input[data-browser-zone]").forEach(function (el) { if (!el.value && z) el.value = z; });
    } catch (e) { /* no Intl: UTC */ }
  }
  function print() {
    document.querySelectorAll("[data-print]").forEach(function (el) {
      el.addEventListener("click", function () { window.print(); });
    });
  }
  function start() { zone(); print(); tick(); window.setInterval(tick, 1000); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
  document.addEventListener("htmx:afterSwap", tick);
})();
