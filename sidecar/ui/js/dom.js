// Small DOM and formatting helpers. Text always goes in as text (never as HTML).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "style") Object.assign(el.style, value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export const fmt = {
  int(n) { return n === null || n === undefined ? "–" : integer.format(n); },
  usd(n) {
    if (n === null || n === undefined) return "–";
    const abs = Math.abs(n);
    if (abs === 0) return "$0.00";
    if (abs >= 1000) return "$" + integer.format(n);
    if (abs >= 1) return "$" + n.toFixed(2);
    if (abs >= 0.01) return "$" + n.toFixed(3);
    return "$" + n.toPrecision(2);
  },
  ms(v) {
    if (v === null || v === undefined) return "–";
    if (v < 1) return v.toFixed(2) + " ms";
    if (v < 10) return v.toFixed(1) + " ms";
    if (v < 1000) return Math.round(v) + " ms";
    if (v < 10000) return (v / 1000).toFixed(2) + " s";
    if (v < 600000) return (v / 1000).toFixed(1) + " s";
    return (v / 60000).toFixed(1) + " min";
  },
  pct(ratio) {
    if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "–";
    const p = ratio * 100;
    return (p === 0 || p >= 10 ? p.toFixed(1) : p.toFixed(2)) + " %";
  },
  bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  },
  time(unix) {
    if (!unix) return "–";
    const d = new Date(unix * 1000);
    const pad = (x) => String(x).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  },
  clock(unix) {
    const d = new Date(unix * 1000);
    const pad = (x) => String(x).padStart(2, "0");
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  },
  span(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  },
};

/** A figure with its raw value in data-value, so what is shown can be checked against the API. */
export function figure(metric, value, text) {
  return h("span", { class: "figure", dataset: { metric, value: value === null || value === undefined ? "" : String(value) } }, text);
}

export function tile(label, metric, value, text, sub) {
  return h("div", { class: "tile" },
    h("div", { class: "tile-label" }, label),
    h("div", { class: "tile-value" }, figure(metric, value, text)),
    sub ? h("div", { class: "tile-sub" }, sub) : null);
}

export function section(title, ...children) {
  const id = "s-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return h("section", { class: "panel", "aria-labelledby": id },
    h("h2", { id }, title), ...children);
}

/** A table: columns are {label, value(row), num?, metric?, raw?(row)}. */
export function table(caption, columns, rows, { empty = "Nothing to show.", key } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  const head = [];
  if (columns.some((c) => c.group)) { // a first header row naming groups of columns
    const cells = [];
    for (const c of columns) {
      const last = cells[cells.length - 1];
      if (last && c.group && last.group === c.group) last.span += 1;
      else cells.push({ group: c.group || "", span: 1 });
    }
    head.push(h("tr", { class: "groups" }, cells.map((g) =>
      h("th", { scope: g.group ? "colgroup" : null, colspan: g.span > 1 ? g.span : null, class: g.group ? "group" : null }, g.group))));
  }
  head.push(h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label))));
  const body = rows.map((row) => h("tr", { dataset: key ? { key: String(key(row)) } : {} },
    columns.map((c, i) => {
      const content = c.value(row);
      const cell = h(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, class: c.num ? "num" : null,
        dataset: { label: c.group ? `${c.group} ${c.label}` : c.label } });
      if (c.metric) append(cell, [figure(c.metric, c.raw ? c.raw(row) : null, content)]);
      else append(cell, [content]);
      return cell;
    })));
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", {}, h("caption", {}, caption), h("thead", {}, head), h("tbody", {}, body)));
}

export function notice(kind, ...children) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : null }, ...children);
}

export function emptyState(title, ...lines) {
  return h("div", { class: "empty-state", dataset: { empty: "true" } },
    h("h2", {}, title), ...lines.map((line) => h("p", {}, line)));
}

export function badge(status) {
  const text = status === null || status === undefined ? "running" : status;
  return h("span", { class: `badge ${text}` }, text);
}

/** A labelled <select>; ``options``: [[value, text], ...]. */
export function select(label, id, options, value, onChange) {
  const el = h("select", { id, name: id },
    options.map(([v, text]) => h("option", { value: v, selected: v === value ? true : null }, text)));
  el.addEventListener("change", () => onChange(el.value));
  return h("label", { class: "control", for: id }, h("span", {}, label), el);
}

export function details(key, summary, ...children) {
  return h("details", { dataset: { key } }, h("summary", {}, summary), ...children);
}
