/* The command centre's map: the area's subdivisions coloured by the chosen figure.
 * Figures come from the page (data-figures, the same as the table below the map); shapes
 * from a same-origin GeoJSON URL (CSP: connect-src 'self'). Tooltips render on the canvas
 * (renderMode "richText"), so no inline style is injected. Switching the colouring needs no
 * reload; the links behind the switch do the same without JavaScript. */
(function () {
  "use strict";

  var RAMPS = {
    appeals: ["#e3eef9", "#9cc3e8", "#4a8bc9", "#1f4f8a", "#0b2a55"],
    risk: ["#fff6d5", "#ffd166", "#f4a13a", "#e0582b", "#a61b1b"]
  };
  var WALL_RAMPS = {
    appeals: ["#17324d", "#245a8c", "#3f8fd6", "#8cc4ff", "#e3f1ff"],
    risk: ["#3a2a10", "#8a5a12", "#e08a1e", "#ff5a3c", "#ffd0c8"]
  };

  function option(state) {
    var m = state.metric;
    var wall = state.wall;
    var byCode = state.byCode;
    var values = state.places.map(function (p) { return p[m] || 0; });
    var max = Math.max.apply(null, values.concat([1]));
    var ramps = wall ? WALL_RAMPS : RAMPS;
    var L = state.labels;
    return {
      animation: false,
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        formatter: function (p) {
          var f = byCode[p.name];
          if (!f) { return p.name; }
          return [
            f.name,
            L.today + ": " + f.today,
            L.week + ": " + f.week,
            L.month + ": " + f.month,
            L.risks + ": " + f.risks + " · " + L.alerts + ": " + f.alerts,
            L.risk + ": " + f.risk,
            L.open
          ].join("\n");
        }
      },
      visualMap: {
        type: "continuous",
        min: 0,
        max: max,
        calculable: false,
        realtime: false,
        left: 8,
        bottom: 8,
        text: [String(max), "0"],
        textStyle: { color: wall ? "#f2f6fa" : "#1b2a3a", fontSize: wall ? 16 : 12 },
        inRange: { color: m === "risk" ? ramps.risk : ramps.appeals }
      },
      series: [{
        type: "map",
        map: state.mapName,
        roam: false,
        selectedMode: false,
        data: state.features.map(function (name) {
          var f = byCode[name];
          return { name: name, value: f ? (f[m] || 0) : 0 };
        }),
        label: {
          show: true,
          formatter: function (p) {
            var f = byCode[p.name];
            return f ? f.name + "\n" + (f[m] || 0) : state.featureLabels[p.name] || "";
          },
          color: wall ? "#ffffff" : "#10202f",
          textBorderColor: wall ? "#000000" : "#ffffff",
          textBorderWidth: 2,
          fontSize: wall ? 17 : 12,
          fontWeight: "bold"
        },
        itemStyle: { borderColor: wall ? "#cfe6ff" : "#2f5d8a", borderWidth: 1 },
        emphasis: { label: { show: true }, itemStyle: { areaColor: wall ? "#f5c26b" : "#f5c26b" } }
      }]
    };
  }

  function withMetric(href, metric) {
    var u = new URL(href, window.location.href);
    u.searchParams.set("show", metric);
    return u.search;
  }

  function choose(state, chart, metric, links) {
    state.metric = metric;
    chart.setOption(option(state), { replaceMerge: ["series", "visualMap"] });
    links.forEach(function (a) {
      if (a.dataset.metric === metric) { a.setAttribute("aria-current", "true"); }
      else { a.removeAttribute("aria-current"); }
    });
    var url = new URL(window.location.href);
    url.searchParams.set("show", metric);
    window.history.replaceState(null, "", url.toString());
    // Links to other areas keep the chosen colouring.
    document.querySelectorAll(".command a[href^='?area=']").forEach(function (a) {
      if (!a.dataset.metric) { a.setAttribute("href", withMetric(a.getAttribute("href"), metric)); }
    });
    state.places.forEach(function (p) { p.href = withMetric(p.href, metric); });
    chart.getDom().dataset.metric = metric;
  }

  function draw(el, geojson) {
    var figures;
    try { figures = JSON.parse(el.dataset.figures || "{}"); } catch (e) { figures = {}; }
    var features = geojson.features || [];
    if (!features.length) { fail(el); return; }
    var byCode = {};
    (figures.places || []).forEach(function (p) { byCode[p.code] = p; });
    var featureLabels = {};
    features.forEach(function (f) { featureLabels[f.properties.name] = f.properties.label; });
    var state = {
      mapName: el.dataset.mapName,
      metric: figures.metric || "today",
      labels: figures.labels || {},
      places: figures.places || [],
      byCode: byCode,
      features: features.map(function (f) { return f.properties.name; }),
      featureLabels: featureLabels,
      wall: !!el.closest(".wall")
    };
    window.echarts.registerMap(state.mapName, geojson);
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(state));
    chart.on("click", function (p) {
      var f = byCode[p.name];
      if (f && f.href) { window.location.href = f.href; }
    });
    var links = Array.prototype.slice.call(document.querySelectorAll(".cc-switch a[data-metric]"));
    links.forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        choose(state, chart, a.dataset.metric, links);
      });
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.metric = state.metric;
    el.dataset.seriesCount = String(state.features.length);
    el.dataset.ready = "true";
    window.civitasCommandChart = chart;
  }

  function fail(el) {
    el.classList.add("map-empty");
    el.textContent = el.dataset.error || "";
    el.dataset.ready = "empty";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("command-map");
    if (!el || !window.echarts) { return; }
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (g) { draw(el, g); })
      .catch(function () { fail(el); });
  });
})();
