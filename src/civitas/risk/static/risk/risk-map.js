/* The appeals behind an alert or a risk as points on the city's district boundaries (ECharts
 * geo + scatter, no tiles). The page holds <div id="risk-map" data-src="...map.json">; the
 * JSON carries the GeoJSON, the points (ticket, lat, lon) and, for a space-time cluster, the
 * centre. Tooltips render on the canvas (renderMode "richText"): no inline style. */
(function () {
  "use strict";

  function draw(el, data) {
    var geo = data.geo || { features: [] };
    if (!geo.features.length) { el.classList.add("map-empty"); el.textContent = el.dataset.empty || ""; return; }
    window.echarts.registerMap(data.map, geo);
    var labels = {};
    var highlight = {};
    (data.highlight || []).forEach(function (c) { highlight[c] = true; });
    var regions = geo.features.map(function (f) {
      labels[f.properties.name] = f.properties.label;
      var self = f.properties.role === "self";
      return {
        name: f.properties.name,
        itemStyle: { areaColor: highlight[f.properties.name] ? "#f6d7a7" : (self ? "#eef3f8" : "#dce7f3") },
        label: { show: !self }
      };
    });
    var points = (data.points || []).map(function (p) { return { name: p.ticket, value: [p.lon, p.lat] }; });
    // The cluster's centre first, as a ring, so the appeals' dots are drawn over it.
    var series = [];
    if (data.centre) {
      series.push({
        name: el.dataset.centreLabel || "centre",
        type: "scatter",
        coordinateSystem: "geo",
        symbol: "emptyCircle",
        symbolSize: 22,
        z: 2,
        itemStyle: { color: "#1b2a3a", borderWidth: 2 },
        data: [{ name: el.dataset.centreLabel || "centre", value: [data.centre.lon, data.centre.lat] }]
      });
    }
    series.push({
      name: el.dataset.pointsLabel || "appeals",
      type: "scatter",
      coordinateSystem: "geo",
      symbolSize: 9,
      z: 3,
      itemStyle: { color: "#c0392b", borderColor: "#ffffff", borderWidth: 1 },
      data: points
    });
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        formatter: function (p) { return p.seriesType === "scatter" ? p.name : (labels[p.name] || p.name); }
      },
      geo: {
        map: data.map,
        roam: true,
        regions: regions,
        label: { show: false, color: "#1b2a3a", fontSize: 11, formatter: function (p) { return labels[p.name] || ""; } },
        itemStyle: { borderColor: "#2f5d8a", borderWidth: 1, areaColor: "#dce7f3" },
        emphasis: { label: { show: true }, itemStyle: { areaColor: "#f5c26b" } }
      },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.points = String(points.length);
    el.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("risk-map");
    if (!el || !window.echarts) { return; }
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (d) { draw(el, d); })
      .catch(function () { el.classList.add("map-empty"); el.textContent = el.dataset.error || ""; });
  });
})();
