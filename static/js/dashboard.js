/* Charts of the home pages (dashboard app), drawn with the vendored ECharts build.

   Each chart is a <div class="chart-box" data-chart="ID-data"> beside a <script type="application/json"
   id="ID-data"> written by Django's json_script (no inline script: the Content-Security-Policy
   forbids it). The same numbers are in the table under the chart, with the links: clicking a bar
   follows its cell's link to the list behind it. Tooltips are drawn on the canvas (renderMode "richText"): HTML tooltips would carry
   style="" attributes the policy refuses. */
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#dc3545", "#0dcaf0", "#198754", "#ffc107", "#6c757d",
                 "#d63384"];
  var zh = (document.documentElement.lang || "zh-hans").toLowerCase().indexOf("zh") === 0;
  var numberLocale = zh ? "zh-CN" : "en-US";
  var money = new Intl.NumberFormat(numberLocale, { style: "currency", currency: "CNY" });
  var compact = new Intl.NumberFormat(numberLocale, { notation: "compact", maximumFractionDigits: 1 });
  var integer = new Intl.NumberFormat(numberLocale);
  var drawn = [];

  function format(value, isMoney) {
    var v = Math.abs(Number(value) || 0);
    return isMoney ? money.format(v) : integer.format(v);
  }

  function axisFormatter(isMoney) {
    return function (value) {
      var v = Math.abs(value);
      return isMoney ? "¥" + compact.format(v) : compact.format(v);
    };
  }

  function narrow() {
    return window.innerWidth < 576;
  }

  function option(spec) {
    var horizontal = spec.kind === "hbar";
    var moneyAxis = spec.series.some(function (s) { return s.money && s.axis === 0; });
    var second = spec.series.filter(function (s) { return s.axis === 1; });
    var categoryAxis = {
      type: "category",
      data: spec.categories,
      inverse: horizontal,  // rankings read from the top
      axisTick: { alignWithLabel: true },
      axisLabel: horizontal
        ? { width: narrow() ? 72 : 120, overflow: "truncate", fontSize: 11 }
        : spec.categories.length <= 8
          ? { interval: 0, fontSize: 11, width: narrow() ? 48 : 80, overflow: "break" }  // every label, wrapped
          : { hideOverlap: true, fontSize: 11, rotate: narrow() ? 45 : 0 }
    };
    var valueAxes = [{ type: "value", axisLabel: { formatter: axisFormatter(moneyAxis), fontSize: 11 } }];
    if (second.length) {
      valueAxes.push({
        type: "value",
        splitLine: { show: false },
        axisLabel: { formatter: axisFormatter(second[0].money), fontSize: 11 }
      });
    }
    var series = spec.series.map(function (s) {
      var item = {
        name: s.name,
        type: s.kind === "line" ? "line" : "bar",
        data: s.data,
        emphasis: { focus: "series" },
        tooltip: { valueFormatter: function (v) { return format(v, s.money); } }
      };
      if (s.stack) { item.stack = s.stack; }
      if (item.type === "bar") { item.barMaxWidth = 28; }
      if (item.type === "line") { item.symbolSize = 6; }
      if (s.axis === 1) {
        if (horizontal) { item.xAxisIndex = 1; } else { item.yAxisIndex = 1; }
      }
      return item;
    });
    var legend = spec.series.length > 1;
    return {
      color: PALETTE,
      animationDuration: 300,
      textStyle: { fontFamily: "system-ui, -apple-system, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif" },
      grid: { left: 4, right: second.length ? 8 : 16, top: legend ? 40 : 12, bottom: 4, containLabel: true },
      legend: legend ? { type: "scroll", top: 0, itemWidth: 12, itemHeight: 10, textStyle: { fontSize: 11 } } : undefined,
      tooltip: { trigger: "axis", renderMode: "richText", confine: true, axisPointer: { type: "shadow" } },
      xAxis: horizontal ? valueAxes : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxes,
      series: series
    };
  }

  function draw(box) {
    var source = document.getElementById(box.getAttribute("data-chart"));
    if (!source || !window.echarts) { return; }
    var spec = JSON.parse(source.textContent);
    if (spec.kind === "hbar") {
      // A bar per category: the box grows with the ranking (CSSOM, which the policy allows).
      box.style.height = Math.max(200, spec.categories.length * 28 + 70) + "px";
    }
    var chart = window.echarts.init(box, null, { renderer: "canvas", locale: zh ? "ZH" : "EN" });
    chart.on("finished", function () { box.setAttribute("data-drawn", "true"); });
    chart.setOption(option(spec));
    chart.on("click", function (params) {
      // The table under the chart holds the links: its drawn columns are the chart's series.
      var table = document.querySelector('table[data-chart-table="' + box.id + '"]');
      var row = table && table.tBodies[0].rows[params.dataIndex];
      if (!row) { return; }
      var cell = row.querySelectorAll("td[data-drawn]")[params.seriesIndex];
      var link = (cell && cell.querySelector("a")) || row.querySelector("th a");
      if (link) { window.location.href = link.href; }
    });
    drawn.push(chart);
  }

  function start() {
    document.querySelectorAll(".chart-box[data-chart]").forEach(draw);
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () { drawn.forEach(function (c) { c.resize(); }); }, 150);
    });
    // Printing: charts at the paper's width.
    window.addEventListener("beforeprint", function () { drawn.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
