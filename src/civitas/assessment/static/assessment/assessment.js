/* The assessment chart: composite score per unit, this period beside the one before.
 * Data come from the page (data-chart); tooltips render on the canvas, so no inline style. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("assessment-chart");
    if (!el || !window.echarts) { return; }
    var data;
    try { data = JSON.parse(el.dataset.chart || "{}"); } catch (e) { return; }
    if (!data.names || !data.names.length) { el.hidden = true; return; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { data: [data.labels.score, data.labels.previous] },
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: data.names },
      series: [
        { name: data.labels.score, type: "bar", data: data.score, itemStyle: { color: "#2f5d8a" } },
        { name: data.labels.previous, type: "bar", data: data.previous, itemStyle: { color: "#a9c4e4" } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.ready = "true";
  });
})();
