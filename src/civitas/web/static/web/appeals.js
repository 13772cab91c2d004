/* Appeal pages: the point picker on the city map, and type-to-filter for long lists.
 * No inline script or style (CSP). The picker reads its settings from data-* attributes:
 *   <div id="pick-map" data-src="map.json" data-place-url="place.json" data-lat="id" data-lon="id">
 * A click on the map sets the hidden latitude/longitude fields and names the chosen place. */
(function () {
  "use strict";

  function round(x) { return Math.round(x * 1e6) / 1e6; }

  function picker(el) {
    var latInput = document.getElementById(el.dataset.lat);
    var lonInput = document.getElementById(el.dataset.lon);
    var result = document.getElementById("pick-result");
    var clear = document.getElementById("pick-clear");
    var chart = null;

    function marker(lon, lat) {
      chart.setOption({ series: [{ id: "point", data: lat === null ? [] : [[lon, lat]] }] });
    }

    function say(text) { if (result) { result.textContent = text; } }

    function describe(lat, lon) {
      var url = el.dataset.placeUrl + "?lat=" + encodeURIComponent(lat) + "&lon=" + encodeURIComponent(lon);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          if (d.found) {
            say(result.dataset.chosen + " " + d.chain.join(" › ") + " (" + lat + ", " + lon + ")");
            result.dataset.code = d.code;
          } else {
            say(result.dataset.outside);
            result.dataset.code = "";
          }
        })
        .catch(function () { say(result.dataset.chosen + " " + lat + ", " + lon); });
    }

    function choose(lon, lat) {
      lat = round(lat); lon = round(lon);
      latInput.value = lat; lonInput.value = lon;
      marker(lon, lat);
      if (clear) { clear.hidden = false; }
      describe(lat, lon);
    }

    function draw(geojson) {
      var features = geojson.features || [];
      if (!features.length) { el.classList.add("map-empty"); el.textContent = el.dataset.error; return; }
      var name = "pick-" + features[0].properties.name;
      window.echarts.registerMap(name, geojson);
      var labels = {};
      var regions = features.map(function (f) {
        labels[f.properties.name] = f.properties.label;
        return {
          name: f.properties.name,
          itemStyle: { areaColor: f.properties.role === "self" ? "#e8eef6" : "#cddcee" }
        };
      });
      chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        geo: {
          map: name, roam: true, regions: regions, selectedMode: false,
          label: { show: true, color: "#1b2a3a", fontSize: 11,
                   formatter: function (p) { return features.length > 1 && p.name === features[0].properties.name ? "" : (labels[p.name] || ""); } },
          itemStyle: { borderColor: "#2f5d8a", borderWidth: 1, areaColor: "#cddcee" },
          emphasis: { label: { show: true }, itemStyle: { areaColor: "#f5e0b0" } }
        },
        series: [{
          id: "point", type: "scatter", coordinateSystem: "geo", symbol: "pin", symbolSize: 34,
          itemStyle: { color: "#c0392b" }, data: [], silent: true
        }]
      });
      chart.getZr().on("click", function (e) {
        var point = [e.offsetX, e.offsetY];
        if (!chart.containPixel("geo", point)) { return; }
        var c = chart.convertFromPixel("geo", point);
        if (c) { choose(c[0], c[1]); }
      });
      window.addEventListener("resize", function () { chart.resize(); });
      if (latInput.value && lonInput.value) { marker(parseFloat(lonInput.value), parseFloat(latInput.value)); }
      el.dataset.ready = "true";
    }

    if (clear) {
      clear.addEventListener("click", function () {
        latInput.value = ""; lonInput.value = "";
        if (chart) { marker(null, null); }
        clear.hidden = true;
        say(result.dataset.none);
      });
      if (latInput.value) { clear.hidden = false; }
    }
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(draw)
      .catch(function () { el.classList.add("map-empty"); el.textContent = el.dataset.error || ""; });
  }

  // Type to filter a <select> (options) or a group of checkboxes (their labels).
  function filterSelect(input) {
    var select = document.getElementById(input.dataset.filterSelect);
    if (!select || input.dataset.bound) { return; }
    input.dataset.bound = "true";
    input.hidden = false;
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var show = !q || !o.value || o.text.toLowerCase().indexOf(q) >= 0;
        o.hidden = !show;
        if (show && o.value && first === null) { first = o; }
      });
      if (q && first && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) {
        select.value = first.value;
      }
    });
  }

  function filterChecks(input) {
    var box = document.getElementById(input.dataset.filterChecks);
    if (!box || input.dataset.bound) { return; }
    input.dataset.bound = "true";
    input.hidden = false;
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      box.querySelectorAll("label").forEach(function (label) {
        label.hidden = !!q && label.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }

  function init(root) {
    root.querySelectorAll("[data-filter-select]").forEach(filterSelect);
    root.querySelectorAll("[data-filter-checks]").forEach(filterChecks);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    var el = document.getElementById("pick-map");
    if (el && window.echarts) { picker(el); }
  });
  // Parts of the case page swapped in by HTMX get the same behaviour.
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();
