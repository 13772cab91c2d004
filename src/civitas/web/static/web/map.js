/* Draws a jurisdiction's boundary and its children's with ECharts.
 * The page holds <div id="map" data-src="...map.json" data-map-name="...">; the GeoJSON comes
 * from that same-origin URL (CSP: connect-src 'self'). Tooltips render on the canvas
 * (renderMode "richText"), so no inline style is ever injected. */
(function () {
  "use strict";

  function draw(el, geojson) {
    var name = el.dataset.mapName;
    var features = geojson.features || [];
    if (!features.length) { el.classList.add("map-empty"); return; }
    window.echarts.registerMap(name, geojson);
    var labels = {};
    var urls = {};
    var data = features.map(function (f) {
      labels[f.properties.name] = f.properties.label;
      urls[f.properties.name] = f.properties.url;
      return { name: f.properties.name, value: f.properties.role === "self" ? 0 : 1 };
    });
    var hasChildren = data.some(function (d) { return d.value === 1; });
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        formatter: function (p) { return labels[p.name] || p.name; }
      },
      visualMap: {
        show: false, type: "piecewise", dimension: 0,
        pieces: [
          { value: 0, color: hasChildren ? "#e8eef6" : "#a9c4e4" },
          { value: 1, color: "#a9c4e4" }
        ]
      },
      series: [{
        type: "map",
        map: name,
        roam: true,
        selectedMode: false,
        data: data,
        label: {
          show: true,
          formatter: function (p) { return hasChildren && labels[p.name] && p.value === 0 ? "" : (labels[p.name] || ""); },
          color: "#1b2a3a",
          fontSize: 11
        },
        itemStyle: { borderColor: "#2f5d8a", borderWidth: 1 },
        emphasis: { label: { show: true }, itemStyle: { areaColor: "#f5c26b" } }
      }]
    });
    chart.on("click", function (p) {
      var url = urls[p.name];
      if (url && url !== window.location.pathname) { window.location.href = url; }
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.ready = "true";
  }

  function fail(el) {
    el.classList.add("map-empty");
    el.textContent = el.dataset.error || "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("map");
    if (!el || !window.echarts) { return; }
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (g) { draw(el, g); })
      .catch(function () { fail(el); });
  });
})();
