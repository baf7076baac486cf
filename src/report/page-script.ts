/**
 * What runs in the report page: reads the plot specs from the inline JSON block and builds
 * one uPlot chart per spec (see plot-spec.ts), plus the page's stylesheet. Kept as plain
 * browser JavaScript text (no bundler, no network); it only maps specs to uPlot options.
 * Labels reach the DOM through uPlot, which sets them with textContent, or onto the canvas.
 */

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var THIN_SPACE = '\u2009';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var charts = [];

  function groupDigits(n) {
    var s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, THIN_SPACE);
    return n < 0 ? '\u2212' + s : s;
  }
  // Axis ticks: short (12k, 3.4M).
  function tick(format, v) {
    if (v == null || !isFinite(v)) return '';
    if (format === 'percent') return +(100 * v).toPrecision(3) + '%';
    var a = Math.abs(v);
    if (format === 'count' && a >= 1e4) {
      var units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
      for (var i = 0; i < units.length; i++) if (a >= units[i][0]) return +(v / units[i][0]).toPrecision(3) + units[i][1];
    }
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(1);
    return String(+v.toPrecision(4));
  }
  // Legend values: exact counts, more digits.
  function exact(format, v) {
    if (v == null || !isFinite(v)) return '\u2013';
    if (format === 'percent') return (100 * v).toFixed(2) + '%';
    if (format === 'count' && Number.isInteger(v)) return groupDigits(v);
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
    return String(+v.toPrecision(5));
  }

  // A scale covering the data and the markers, from 0 when the axis asks for it, padded.
  function range(axis, extra) {
    return function (u, min, max) {
      var lo = min == null ? 0 : min, hi = max == null ? 1 : max;
      extra.forEach(function (v) { lo = Math.min(lo, v); hi = Math.max(hi, v); });
      if (axis.zero) { lo = Math.min(0, lo); hi = Math.max(0, hi); }
      if (hi === lo) hi = lo + 1;
      var pad = (hi - lo) * 0.08;
      return [axis.zero && lo === 0 ? 0 : lo - pad, hi + pad];
    };
  }

  function seriesOptions(spec, s, categorical) {
    var axis = s.axis === 'y2' ? spec.y2 : spec.y;
    var o = {
      label: s.label,
      stroke: s.color,
      width: 2,
      scale: s.axis === 'y2' ? 'y2' : 'y',
      value: function (u, v, si, idx) { return exact(axis.format, s.legend && idx != null ? s.legend[idx] : v); },
    };
    if (s.dash) o.dash = [6, 4];
    if (s.style === 'bars') {
      o.paths = uPlot.paths.bars({ size: categorical ? [0.7, 90] : [0.94, Infinity], align: categorical ? 0 : 1 });
      o.fill = s.color + 'd0';
      o.width = 1;
      o.points = { show: false };
    } else if (s.style === 'stepped') {
      o.paths = uPlot.paths.stepped({ align: 1 });
      o.points = { show: false };
      if (s.fill) o.fill = s.color + 'd0';
    } else if (s.style === 'points') {
      o.paths = function () { return null; };
      o.points = { show: true, size: 11, width: 2, stroke: s.color, fill: s.color + '80' };
    } else {
      o.points = { show: categorical };
    }
    return o;
  }

  // Marker labels sit on a light box so they stay readable over bars and lines.
  function label(ctx, text, x, y, align, dpr) {
    ctx.textAlign = align;
    var w = ctx.measureText(text).width, pad = 3 * dpr, h = 14 * dpr;
    var left = align === 'right' ? x - w : x;
    var color = ctx.fillStyle;
    ctx.fillStyle = 'rgba(255,255,255,0.85)';
    ctx.fillRect(left - pad, y - h + 2 * dpr, w + 2 * pad, h + 2 * dpr);
    ctx.fillStyle = color;
    ctx.fillText(text, x, y);
  }

  function drawMarkers(spec) {
    return function (u) {
      var ctx = u.ctx, dpr = window.devicePixelRatio || 1, box = u.bbox;
      ctx.save();
      ctx.lineWidth = 1.5 * dpr;
      ctx.setLineDash([6 * dpr, 4 * dpr]);
      ctx.font = 12 * dpr + 'px system-ui, sans-serif';
      spec.markers.forEach(function (m) {
        ctx.strokeStyle = m.color;
        ctx.fillStyle = m.color;
        ctx.beginPath();
        if (m.axis === 'x') {
          var x = Math.round(u.valToPos(m.value, 'x', true));
          ctx.moveTo(x, box.top);
          ctx.lineTo(x, box.top + box.height);
          ctx.stroke();
          label(ctx, m.label, x + 5 * dpr, box.top + 14 * dpr, 'left', dpr);
        } else {
          var y = Math.round(u.valToPos(m.value, 'y', true));
          ctx.moveTo(box.left, y);
          ctx.lineTo(box.left + box.width, y);
          ctx.stroke();
          label(ctx, m.label, box.left + box.width - 5 * dpr, y - 5 * dpr, 'right', dpr);
        }
      });
      ctx.restore();
    };
  }

  function build(spec, el) {
    var cats = spec.x.categories;
    var categorical = Array.isArray(cats);
    var xMarks = spec.markers.filter(function (m) { return m.axis === 'x'; }).map(function (m) { return m.value; });
    var yMarks = spec.markers.filter(function (m) { return m.axis === 'y'; }).map(function (m) { return m.value; });
    var xAxis = {
      label: spec.x.label,
      values: function (u, splits) { return splits.map(function (v) { return categorical ? (cats[Math.round(v)] != null ? cats[Math.round(v)] : '') : tick(spec.x.format, v); }); },
    };
    if (categorical) {
      xAxis.splits = function () { return cats.map(function (c, i) { return i; }); };
      xAxis.grid = { show: false };
    }
    var axes = [xAxis, { label: spec.y.label, scale: 'y', size: 64, values: function (u, splits) { return splits.map(function (v) { return tick(spec.y.format, v); }); } }];
    var scales = {
      x: { time: false, range: categorical ? function () { return [-0.5, cats.length - 0.5]; } : function (u, min, max) { return [Math.min.apply(null, [min].concat(xMarks)), Math.max.apply(null, [max].concat(xMarks))]; } },
      y: { range: range(spec.y, yMarks) },
    };
    if (spec.y2) {
      axes.push({ label: spec.y2.label, scale: 'y2', side: 1, size: 64, grid: { show: false }, values: function (u, splits) { return splits.map(function (v) { return tick(spec.y2.format, v); }); } });
      scales.y2 = { range: range(spec.y2, []) };
    }
    var opts = {
      width: Math.max(320, el.clientWidth),
      height: 280,
      scales: scales,
      axes: axes,
      series: [{ label: spec.x.label, value: function (u, v) { return v == null ? '\u2013' : categorical ? String(cats[Math.round(v)]) : exact(spec.x.format, v); } }]
        .concat(spec.series.map(function (s) { return seriesOptions(spec, s, categorical); })),
      cursor: { drag: { x: false, y: false } },
      hooks: { draw: [drawMarkers(spec)] },
    };
    var columns = [spec.x.values].concat(spec.series.map(function (s) { return s.values; }));
    return new uPlot(opts, columns, el);
  }

  var containers = document.querySelectorAll('[data-plot-index]');
  Array.prototype.forEach.call(containers, function (el) {
    var spec = data.plots[Number(el.getAttribute('data-plot-index'))];
    try {
      charts.push({ el: el, chart: build(spec, el) });
    } catch (error) {
      el.textContent = 'This plot could not be drawn: ' + (error && error.message);
      console.error('tokenmix report: plot ' + spec.name + ': ' + (error && error.stack));
    }
  });
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.chart.setSize({ width: Math.max(320, c.el.clientWidth), height: 280 }); });
  });
  document.documentElement.setAttribute('data-plots-ready', String(charts.length));
})();
`;

export const PAGE_CSS = `
:root { color-scheme: light; --ink: #1b1b1b; --muted: #5f6368; --line: #dadce0; --bg: #fafafa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { padding: 16px 24px 8px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 20px; }
nav a { color: #1a5fb4; text-decoration: none; }
main { padding: 8px 24px 40px; max-width: 1400px; }
section { margin-top: 20px; }
h2 { font-size: 17px; margin: 16px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(560px, 100%), 1fr)); gap: 16px; }
figure.plot { margin: 0; padding: 12px; background: #fff; border: 1px solid var(--line); border-radius: 6px; min-width: 0; }
figcaption h3 { margin: 0; font-size: 14px; }
figcaption p { margin: 2px 0 8px; color: var(--muted); font-size: 12px; }
.chart { width: 100%; min-height: 280px; }
.table-wrap { overflow-x: auto; margin: 14px 0; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); font-size: 13px; max-width: 100%; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; overflow-wrap: break-word; }
/* Numbers never break; text (names, drop reasons, headers) wraps so that a table fits the page. */
.num { white-space: nowrap; }
thead th { background: #f1f3f4; font-weight: 600; }
tbody th { font-weight: normal; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.warnings { background: #fff4e5; border: 1px solid #f0c36d; border-radius: 6px; padding: 8px 8px 8px 28px; }
`;
