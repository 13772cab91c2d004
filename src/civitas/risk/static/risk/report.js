/* Judgment report charts. Each .report-chart carries its data (data-chart): a kind (line,
 * bar, hbar), category labels and one or more series. Tooltips render on the canvas, so the
 * page needs no inline style. */
(function () {
  "use strict";
  var PALETTE = ["#2f5d8a", "#a9c4e4", "#c0392b", "#e67e22"];

  function draw(el) {
    var data;
    try { data = JSON.parse(el.dataset.chart || "{}"); } catch (e) { return; }
    if (!data.labels || !data.labels.length) { el.hidden = true; return; }
    var horizontal = data.kind === "hbar";
    var category = { type: "category", data: data.labels, axisLabel: { interval: 0, hideOverlap: true } };
    var value = { type: "value", minInterval: 1 };
    if (horizontal) { category.inverse = true; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: data.colors && data.series.length === 1 ? data.colors : PALETTE,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, data: data.series.map(function (s) { return s.name; }) },
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: data.series.map(function (s) {
        return {
          name: s.name,
          type: data.kind === "line" ? "line" : "bar",
          data: s.data,
          smooth: false,
          symbolSize: 6
        };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.echarts) { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".report-chart"), draw);
  });
})();
