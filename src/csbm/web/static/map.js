// csbm workbench map: the node's own borders (GeoJSON, Natural Earth), activities as
// areas coloured by status, bilateral border zones; a click (or the list's buttons, for
// the keyboard) shows an activity's figures against the thresholds and its findings.
(function () {
  "use strict";
  var COLOURS = { planned: "#3b6fb6", notified: "#d9480f", amended: "#7b2cbf", cancelled: "#6c757d" };
  function show(caseLabel) {
    document.querySelectorAll("section.activity").forEach(function (s) {
      var on = s.getAttribute("data-case") === caseLabel;
      s.hidden = !on;
    });
    document.querySelectorAll(".activity-button").forEach(function (b) {
      b.setAttribute("aria-expanded", b.getAttribute("data-case") === caseLabel ? "true" : "false");
    });
  }
  function start() {
    document.querySelectorAll(".activity-button").forEach(function (b) {
      b.addEventListener("click", function () { show(b.getAttribute("data-case")); });
    });
    var el = document.getElementById("map");
    var raw = document.getElementById("map-data");
    if (!el || !raw || typeof L === "undefined") return;
    var data = JSON.parse(raw.textContent);
    var map = L.map(el, { worldCopyJump: true }).setView([52, 25], 4);
    if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, { maxZoom: 12 }).addTo(map);
    fetch(el.dataset.borders, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (geo) {
      L.geoJSON(geo, { style: { color: "#555", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1 }, interactive: false }).addTo(map).bringToBack();
    });
    data.zones.forEach(function (z) {
      if (!z.geometry) return;
      L.geoJSON(z.geometry, { style: { color: "#b8860b", weight: 1, fillColor: "#f6d365", fillOpacity: 0.35, dashArray: z.provisional ? "4 4" : null } })
        .bindTooltip((z.label || z.pack) + (z.provisional ? " (" + (el.dataset.provisional || "provisional") + ")" : "")).addTo(map);
    });
    var bounds = [];
    data.activities.forEach(function (a) {
      if (!a.geometry) return;
      var layer = L.geoJSON(a.geometry, {
        style: { color: COLOURS[a.status] || "#333", weight: 2, fillOpacity: 0.35 },
        pointToLayer: function (_f, ll) { return L.circleMarker(ll, { radius: 8, color: COLOURS[a.status] || "#333" }); }
      }).bindTooltip((a.name || a.case) + " — " + a.status).addTo(map);
      layer.on("click", function () { show(a.case); });
      bounds.push(layer.getBounds());
    });
    if (bounds.length) {
      var all = bounds[0];
      bounds.slice(1).forEach(function (b) { all.extend(b); });
      map.fitBounds(all.pad(0.5), { maxZoom: 7 });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
