// Charts as inline SVG, drawn at the width of their container (redrawn on resize).
// Every chart is a <figure> with a caption, an aria-label summary and, where it helps, a
// data table beside it (see the views).

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
export const PALETTE = ["#1f5fbf", "#c2410c", "#15803d", "#7c3aed", "#a16207", "#0e7490",
  "#be185d", "#4d7c0f", "#475569", "#9f1239"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

function title(text) {
  const t = document.createElementNS(SVG, "title");
  t.textContent = text;
  return t;
}

function niceStep(max, count) {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const nice = unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 2.5 ? 2.5 : unit <= 5 ? 5 : 10;
  return nice * power;
}

function legend(series) {
  if (series.length < 2) return null;
  return h("ul", { class: "legend" }, series.map((item, i) =>
    h("li", {}, h("span", { class: "swatch", style: { background: item.color || PALETTE[i % PALETTE.length] } }), item.name)));
}

function chartFigure(caption, label, draw, extra) {
  const svgHolder = h("div", { class: "chart-canvas" });
  const fig = h("figure", { class: "chart" }, h("figcaption", {}, caption), svgHolder, extra);
  fig._draw = () => {
    const width = Math.max(260, Math.floor(svgHolder.clientWidth || 600));
    const svg = draw(width);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    svgHolder.replaceChildren(svg);
  };
  return fig;
}

/**
 * Bars per time bucket, stacked by series. ``labels``: bucket start times (unix s);
 * ``series``: [{name, values, color?}]; formats: yFormat(value), xFormat(unix).
 */
export function barChart({ caption, label, labels, series, yFormat, xFormat, height = 220 }) {
  const draw = (width) => {
    const m = { l: 64, r: 12, t: 12, b: 30 };
    const w = width - m.l - m.r;
    const hgt = height - m.t - m.b;
    const sums = labels.map((_, i) => series.reduce((acc, item) => acc + (item.values[i] || 0), 0));
    const max = Math.max(...sums, 0);
    const step = max > 0 ? niceStep(max, 4) : 1;
    const top = max > 0 ? Math.ceil(max / step) * step : 1;
    const y = (v) => m.t + hgt - (v / top) * hgt;
    const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "svg-chart" });
    for (let v = 0; v <= top + step / 2; v += step) {
      svg.append(s("line", { x1: m.l, x2: width - m.r, y1: y(v), y2: y(v), class: "grid" }));
      const text = s("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" });
      text.textContent = yFormat(v);
      svg.append(text);
    }
    const band = w / Math.max(1, labels.length);
    const bar = Math.max(1, band * 0.78);
    labels.forEach((start, i) => {
      let base = 0;
      series.forEach((item, j) => {
        const value = item.values[i] || 0;
        if (value <= 0) return;
        const x = m.l + i * band + (band - bar) / 2;
        svg.append(s("rect", { x, y: y(base + value), width: bar, height: Math.max(0.5, y(base) - y(base + value)),
          fill: item.color || PALETTE[j % PALETTE.length] },
        title(`${xFormat(start)} · ${item.name}: ${yFormat(value)}`)));
        base += value;
      });
    });
    const every = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor(w / 90))));
    labels.forEach((start, i) => {
      if (i % every) return;
      const text = s("text", { x: m.l + i * band + band / 2, y: height - 10, "text-anchor": "middle", class: "tick" });
      text.textContent = xFormat(start);
      svg.append(text);
    });
    svg.append(s("line", { x1: m.l, x2: width - m.r, y1: y(0), y2: y(0), class: "axis" }));
    return svg;
  };
  return chartFigure(caption, label, draw, legend(series));
}

/**
 * Latency by percentile: x is the percentile on a tail-stretching scale (p50, p90, p99 and
 * p99.9 equally spaced, as in HdrHistogram plots), y the value on a log scale.
 * ``quantiles``: [0.01 .. 0.999]; ``series``: [{name, values}] aligned with them (nulls allowed).
 */
export function percentileChart({ caption, label, quantiles, series, yFormat, height = 280 }) {
  const tail = (q) => -Math.log10(1 - q);
  const draw = (width) => {
    const m = { l: 60, r: 16, t: 12, b: 40 };
    const w = width - m.l - m.r;
    const hgt = height - m.t - m.b;
    const all = series.flatMap((item) => item.values.filter((v) => v !== null && v > 0));
    const lo = all.length ? Math.min(...all) : 1;
    const hi = all.length ? Math.max(...all) : 10;
    const low = 10 ** Math.floor(Math.log10(lo));
    const high = 10 ** Math.max(Math.ceil(Math.log10(hi)), Math.log10(low) + 1);
    const span = tail(quantiles[quantiles.length - 1]);
    const x = (q) => m.l + (tail(q) / span) * w;
    const y = (v) => m.t + hgt - ((Math.log10(Math.max(v, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * hgt;
    const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "svg-chart" });
    for (let decade = low; decade <= high * 1.0001; decade *= 10) {
      [1, 2, 5].forEach((k) => {
        const v = decade * k;
        if (v > high * 1.0001) return;
        svg.append(s("line", { x1: m.l, x2: width - m.r, y1: y(v), y2: y(v), class: k === 1 ? "grid strong" : "grid" }));
        if (k === 1 || hgt > 200) {
          const text = s("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" });
          text.textContent = yFormat(v);
          svg.append(text);
        }
      });
    }
    [[0.5, "p50"], [0.9, "p90"], [0.99, "p99"], [0.999, "p99.9"]].forEach(([q, name]) => {
      svg.append(s("line", { x1: x(q), x2: x(q), y1: m.t, y2: m.t + hgt, class: "grid strong" }));
      const text = s("text", { x: x(q), y: height - 22, "text-anchor": "middle", class: "tick" });
      text.textContent = name;
      svg.append(text);
    });
    series.forEach((item, i) => {
      const points = item.values.map((v, j) => (v === null ? null : [x(quantiles[j]), y(v)])).filter(Boolean);
      if (!points.length) return;
      const d = points.map((p, j) => `${j ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`).join("");
      svg.append(s("path", { d, fill: "none", stroke: item.color || PALETTE[i % PALETTE.length], "stroke-width": 2 },
        title(item.name)));
    });
    const axis = s("text", { x: m.l + w / 2, y: height - 4, "text-anchor": "middle", class: "tick" });
    axis.textContent = "percentile (tail stretched) → value (log scale)";
    svg.append(axis);
    return svg;
  };
  return chartFigure(caption, label, draw, legend(series));
}

/** Horizontal bars for a few labelled counts (HTML, so it wraps at any width). */
export function barList(caption, items, format) {
  const max = Math.max(...items.map((item) => item.value), 0);
  return h("figure", { class: "barlist" }, h("figcaption", {}, caption),
    h("ul", {}, items.map((item, i) => h("li", { dataset: { key: item.key ?? item.label } },
      h("span", { class: "barlist-label" }, item.label),
      h("span", { class: "barlist-track", "aria-hidden": "true" },
        h("span", { class: "barlist-fill", style: { width: `${max ? (item.value / max) * 100 : 0}%`, background: item.color || PALETTE[i % PALETTE.length] } })),
      h("span", { class: "barlist-value figure", dataset: { metric: item.metric || "", value: String(item.value) } }, format(item.value))))));
}

/**
 * A budget meter: used (solid) and reserved (hatched) against the cap, with the warn and deny
 * thresholds marked.
 */
export function meter({ label, used, reserved, cap, warnAt, format }) {
  const pct = (v) => `${Math.min(100, Math.max(0, (v / cap) * 100))}%`;
  const ratio = cap > 0 ? (used + reserved) / cap : 0;
  const state = ratio >= 1 ? "over" : warnAt && ratio >= warnAt ? "warn" : "ok";
  const summary = `${label}: ${format(used)} used, ${format(reserved)} reserved of ${format(cap)}` +
    (warnAt ? `; warns at ${Math.round(warnAt * 100)} %, denies at 100 %` : "; denies at 100 %");
  return h("div", { class: `meter ${state}`, role: "img", "aria-label": summary },
    h("div", { class: "meter-track" },
      h("span", { class: "meter-used", style: { width: pct(used) } }),
      h("span", { class: "meter-reserved", style: { left: pct(used), width: pct(Math.min(reserved, Math.max(0, cap - used))) } }),
      warnAt ? h("span", { class: "meter-mark warn", style: { left: pct(warnAt * cap) }, title: `warn at ${Math.round(warnAt * 100)} %` }) : null,
      h("span", { class: "meter-mark deny", style: { left: "100%" }, title: "deny at 100 %" })),
    h("div", { class: "meter-scale", "aria-hidden": "true" },
      warnAt ? h("span", { class: "meter-scale-warn", style: { left: pct(warnAt * cap) } }, `warn ${Math.round(warnAt * 100)} %`) : null,
      h("span", { class: "meter-scale-deny" }, "deny")));
}

export function drawCharts(root) {
  for (const fig of root.querySelectorAll("figure.chart")) if (fig._draw) fig._draw();
}
