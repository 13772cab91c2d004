/* Charts of the figures of mediation. Each .med-chart carries its data (data-chart): a kind
 * (bar or hbar), category labels and series. No inline script: the page's CSP forbids it. */
(function () {
  "use strict";
  var PALETTE = ["#2f5d8a", "#27ae60", "#a9c4e4", "#c0392b"];

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
      color: PALETTE,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, data: data.series.map(function (s) { return s.name; }) },
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: data.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; })
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.echarts) { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".med-chart"), draw);
  });
})();
