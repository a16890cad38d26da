// Cockpit dashboard: draws the test page's metric charts with uPlot (vendored, /assets/).
// Data comes from <script type="application/json" id="history-data"> (the /api/tests/{name}
// body). x = run order; one series per board; hover shows run, commit and value; a click on the
// chart opens the hovered run. Each chart div gets data-rendered-points (non-null values
// handed to uPlot), data-board-colors (board → stroke colour, the same board the same colour
// in every chart) and data-ready="true" once drawn, for tests.
(function () {
  "use strict";
  var COLORS = ["#0550ae", "#cf222e", "#1a7f37", "#8250df", "#9a6700", "#bf3989", "#0a7ea4", "#57606a"];

  function short(c) { return c ? c.slice(0, 10) : "—"; }

  function fmt(v) {
    if (v == null) return "—";
    var a = Math.abs(v);
    return (a !== 0 && (a >= 1e7 || a < 1e-3)) ? v.toExponential(4) : String(+v.toPrecision(8));
  }

  // One colour per board for the whole page, so a board looks the same in every chart.
  function boardColors(metrics) {
    var boards = [];
    metrics.forEach(function (m) {
      m.series.forEach(function (s) {
        var b = s.board_kind + "/" + s.board_id;
        if (boards.indexOf(b) < 0) boards.push(b);
      });
    });
    boards.sort();
    var colors = {};
    boards.forEach(function (b, k) { colors[b] = COLORS[k % COLORS.length]; });
    return colors;
  }

  function draw(m, host, colors) {
    var n = m.runs.length;
    var xs = [];
    for (var i = 0; i < n; i++) xs.push(i);
    var data = [xs];
    var series = [{
      label: "run",
      value: function (u, x) {
        if (x == null || m.runs[x] === undefined) return "—";
        return "#" + m.runs[x] + " · " + short(m.commits[x]);
      }
    }];
    var points = 0;
    m.series.forEach(function (s) {
      data.push(s.values);
      s.values.forEach(function (v) { if (v != null) points++; });
      var board = s.board_kind + "/" + s.board_id;
      series.push({
        label: board,
        stroke: colors[board],
        width: 1.5,
        spanGaps: true,
        points: { show: true, size: 6, fill: colors[board] },
        value: function (u, v) { return v == null ? "—" : fmt(v) + " " + m.unit; }
      });
    });
    var width = Math.max(320, Math.min(host.clientWidth || 900, 1350));
    var opts = {
      width: width,
      height: 280,
      scales: { x: { time: false } },
      axes: [
        {
          label: "run (commit)",
          values: function (u, ticks) {
            return ticks.map(function (t) {
              return Number.isInteger(t) && t >= 0 && t < n ? short(m.commits[t]).slice(0, 7) : "";
            });
          }
        },
        { label: m.unit, size: 70, values: function (u, ticks) { return ticks.map(fmt); } }
      ],
      cursor: { points: { size: 9 }, drag: { x: true, y: false } },
      series: series
    };
    var u = new uPlot(opts, data, host);
    u.over.addEventListener("click", function () {
      var i = u.cursor.idx;
      if (i != null && m.runs[i] !== undefined) window.location.href = "/runs/" + m.runs[i];
    });
    var used = {};
    series.slice(1).forEach(function (s) { used[s.label] = s.stroke; });
    host.setAttribute("data-board-colors", JSON.stringify(used));
    host.setAttribute("data-rendered-points", String(points));
    host.setAttribute("data-ready", "true");
    return u;
  }

  function main() {
    var el = document.getElementById("history-data");
    if (!el || typeof uPlot === "undefined") return;
    var h = JSON.parse(el.textContent);
    var charts = [];
    var colors = boardColors(h.metrics);
    h.metrics.forEach(function (m, i) {
      var host = document.getElementById("chart-" + i);
      if (host) charts.push([draw(m, host, colors), host]);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) {
        c[0].setSize({ width: Math.max(320, Math.min(c[1].clientWidth || 900, 1350)), height: 280 });
      });
    });
    document.body.setAttribute("data-charts-ready", String(charts.length));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();
