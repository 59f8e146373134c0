/* Dashboard charts (ECharts). Data comes from <script type="application/json" id="dashboard-data">.
 * Every chart also has a server-rendered data table (<details>) for screen readers and no-JS use. */
(function () {
  "use strict";

  var C = { green: "#2e7d32", blue: "#1565c0", yellow: "#f2c200", red: "#c62828", primary: "#0b6b50",
            teal: "#26a69a", orange: "#ef6c00", grey: "#90a4ae" };

  function readData() {
    var el = document.getElementById("dashboard-data");
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }

  function bar(names, series, opts) {
    opts = opts || {};
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 48, right: opts.rightAxis ? 56 : 16, top: 36, bottom: 60, containLabel: false },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 35 : 0 } },
      yAxis: opts.rightAxis ? [{ type: "value", minInterval: 1 }, { type: "value", name: opts.rightAxis }]
                            : { type: "value", minInterval: 1 },
      series: series
    };
  }

  var builders = {
    "chart-county": function (d) {
      var rows = d.per_county || [];
      var names = rows.map(function (r) { return r.name; });
      return bar(names, [
        { name: "签约", type: "bar", data: rows.map(function (r) { return r.signed; }), itemStyle: { color: C.primary } },
        { name: "落地", type: "bar", data: rows.map(function (r) { return r.landed; }), itemStyle: { color: C.teal } },
        { name: "开工", type: "bar", data: rows.map(function (r) { return r.started; }), itemStyle: { color: C.orange } }
      ]);
    },
    "chart-lights": function (d) {
      var rows = d.per_county || [];
      var names = rows.map(function (r) { return r.name; });
      function s(key, label, color) {
        return { name: label, type: "bar", stack: "lights", data: rows.map(function (r) { return r[key] || 0; }),
                 itemStyle: { color: color } };
      }
      return bar(names, [s("green", "绿灯", C.green), s("blue", "蓝灯", C.blue), s("yellow", "黄灯", C.yellow),
                         s("red", "红灯", C.red)]);
    },
    "chart-month": function (d) {
      var rows = d.per_month || [];
      var names = rows.map(function (r) { return r.period.slice(5) + "月"; });
      return bar(names, [
        { name: "签约", type: "line", data: rows.map(function (r) { return r.signed; }), itemStyle: { color: C.primary } },
        { name: "落地", type: "line", data: rows.map(function (r) { return r.landed; }), itemStyle: { color: C.teal } },
        { name: "开工", type: "line", data: rows.map(function (r) { return r.started; }), itemStyle: { color: C.orange } },
        { name: "省外到位资金(万元)", type: "bar", yAxisIndex: 1, data: rows.map(function (r) { return r.funds_out_wan; }),
          itemStyle: { color: "rgba(21,101,192,.35)" } }
      ], { rightAxis: "万元" });
    },
    "chart-funnel": function (d) {
      // a horizontal bar per stage (S1 at the top): counts need not shrink stage by stage
      var rows = (d.funnel || []).slice().reverse();
      return {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 96, right: 24, top: 16, bottom: 24 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: rows.map(function (r) { return r.name; }) },
        series: [{ name: "在推项目", type: "bar", data: rows.map(function (r) { return r.count; }),
                   itemStyle: { color: C.primary }, label: { show: true, position: "right" } }]
      };
    },
    "chart-chain": function (d) {
      var rows = d.per_chain || [];
      var names = rows.map(function (r) { return r.name; });
      return bar(names, [
        { name: "在推项目", type: "bar", data: rows.map(function (r) { return r.active; }), itemStyle: { color: C.primary } },
        { name: "年内签约", type: "bar", data: rows.map(function (r) { return r.signed; }), itemStyle: { color: C.orange } }
      ]);
    },
    "chart-park": function (d) {
      var rows = d.per_park || [];
      var names = rows.map(function (r) { return r.name; });
      return bar(names, [
        { name: "在推项目", type: "bar", data: rows.map(function (r) { return r.active; }), itemStyle: { color: C.primary } },
        { name: "年内到位资金(万元)", type: "bar", yAxisIndex: 1, data: rows.map(function (r) { return r.funds_wan; }),
          itemStyle: { color: C.blue } }
      ], { rightAxis: "万元" });
    }
  };

  function init() {
    var data = readData();
    if (!data) { return; }
    if (!window.echarts) {
      Array.prototype.forEach.call(document.querySelectorAll(".chart"), function (el) {
        el.classList.add("chart-missing");
        el.textContent = "图表组件未加载,请展开下方数据表查看。";
      });
      return;
    }
    var charts = [];
    var reducedMotion = !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
    Object.keys(builders).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      var option = builders[id](data);
      option.animation = !reducedMotion;
      chart.setOption(option);
      el.setAttribute("data-rendered", "true");
      charts.push(chart);
    });
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
