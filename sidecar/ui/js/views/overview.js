// Overview: calls, errors, tokens and cost over a window; latency percentiles per model and
// their distribution. Counts come from the store (/v1/aggregate, /v1/series); percentiles from
// the in-memory sketches (/v1/stats, /v1/stats/distribution), which cover the same window.

import { getAll, getJSON, isError } from "../api.js";
import { barChart, percentileChart } from "../charts.js";
import { details, emptyState, fmt, h, section, select, table, tile } from "../dom.js";
import { errorNotice } from "../nav.js";

export const title = "Overview";

const WINDOWS = [
  ["5m", "last 5 minutes", 300, "10s"],
  ["15m", "last 15 minutes", 900, "30s"],
  ["1h", "last hour", 3600, "1m"],
  ["all", "since this sidecar started", null, null],
];
const METRICS = [["ttft_ms", "time to first token"], ["duration_ms", "duration"], ["tpot_ms", "time per output token"]];
const PCTS = [["p50", "p50"], ["p90", "p90"], ["p99", "p99"], ["p999", "p99.9"]];

function chosen(ctx) {
  const key = ctx.params.get("window") || "1h";
  const found = WINDOWS.find((w) => w[0] === key) || WINDOWS[2];
  const metric = METRICS.some((m) => m[0] === ctx.params.get("metric")) ? ctx.params.get("metric") : "ttft_ms";
  return { key: found[0], label: found[1], seconds: found[2], bucket: found[3], metric };
}

export function controls(ctx) {
  const c = chosen(ctx);
  return h("div", { class: "controls" },
    select("Window", "window", WINDOWS.map((w) => [w[0], w[1]]), c.key, (v) => ctx.setParams({ window: v })),
    select("Distribution of", "metric", METRICS, c.metric, (v) => ctx.setParams({ metric: v })));
}

function bucketFor(seconds) {
  const steps = [[10, "10s"], [30, "30s"], [60, "1m"], [300, "5m"], [900, "15m"], [3600, "1h"], [21600, "6h"], [86400, "1d"]];
  for (const [size, name] of steps) if (seconds / size <= 120) return name;
  return "7d";
}

export async function load(ctx) {
  const c = chosen(ctx);
  const now = Date.now() / 1000;
  let since = c.seconds ? now - c.seconds : null;
  if (since === null) {
    const healthBody = await getJSON("/health", {}, { accept: [503] }).catch(() => null);
    since = healthBody ? healthBody.checked_at - healthBody.uptime_s : now - 86400;
  }
  const bucket = c.bucket || bucketFor(now - since);
  const data = await getAll({
    series: getJSON("/v1/series", { since, until: now, bucket, group_by: "type", top: 3 }),
    stats: getJSON("/v1/stats", { window: c.key, group_by: "model" }),
    dist: getJSON("/v1/stats/distribution", { window: c.key, group_by: "model", metric: c.metric }),
  });
  data.agg = isError(data.series) ? data.series : totals(data.series);
  if (!isError(data.agg) && data.agg.total.count === 0) {
    data.ever = await getJSON("/v1/aggregate").catch((e) => e);
  }
  return { ...data, c, since, now, bucket };
}

/** The window's figures in total and per event type: the sum of the series' buckets (the same
 * as /v1/aggregate over [since, until) with group_by=type). */
function totals(series) {
  const sum = (points) => points.reduce((acc, p) => {
    for (const k of Object.keys(acc)) acc[k] += p[k];
    return acc;
  }, { count: 0, errors: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });
  const groups = series.series.map((s) => ({ type: s.key, ...sum(s.points) }));
  return { total: sum(series.total), groups };
}

function byType(agg, type) {
  const group = agg.groups.find((g) => g.type === type);
  return group || { count: 0, errors: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
}

function tiles(agg) {
  const llm = byType(agg, "llm_call");
  const tool = byType(agg, "tool_call");
  const run = byType(agg, "run");
  const calls = llm.count + tool.count;
  const errors = llm.errors + tool.errors;
  const rate = calls ? errors / calls : 0;
  return h("div", { class: "tiles" },
    tile("LLM calls", "llm_calls", llm.count, fmt.int(llm.count), `${fmt.int(llm.errors)} errors`),
    tile("Tool calls", "tool_calls", tool.count, fmt.int(tool.count), `${fmt.int(tool.errors)} errors`),
    tile("Runs finished", "runs", run.count, fmt.int(run.count), `${fmt.int(run.errors)} failed`),
    tile("Error rate", "error_rate", rate, fmt.pct(rate), "of LLM and tool calls"),
    tile("Tokens", "tokens", llm.input_tokens + llm.output_tokens, fmt.int(llm.input_tokens + llm.output_tokens),
      `${fmt.int(llm.input_tokens)} in · ${fmt.int(llm.output_tokens)} out`),
    tile("Cost", "cost_usd", agg.total.cost_usd, fmt.usd(agg.total.cost_usd), "priced at ingest"));
}

function seriesOf(series, type, field) {
  const found = series.series.find((s) => s.key === type);
  return series.buckets.map((_, i) => (found ? found.points[i][field] : 0));
}

function activity(series, bucket) {
  const label = bucket.endsWith("d") ? (t) => fmt.time(t).slice(5, 10) : (t) => fmt.clock(t).slice(0, 5);
  const okCalls = series.buckets.map((_, i) =>
    seriesOf(series, "llm_call", "count")[i] + seriesOf(series, "tool_call", "count")[i]
    - seriesOf(series, "llm_call", "errors")[i] - seriesOf(series, "tool_call", "errors")[i]);
  const errors = series.buckets.map((_, i) => seriesOf(series, "llm_call", "errors")[i] + seriesOf(series, "tool_call", "errors")[i]);
  const cost = series.total.map((p) => p.cost_usd);
  const tokens = series.buckets.map((_, i) => seriesOf(series, "llm_call", "input_tokens")[i] + seriesOf(series, "llm_call", "output_tokens")[i]);
  return h("div", { class: "grid two" },
    barChart({ caption: `Calls per ${bucket} (LLM and tool; errors on top)`, label: `Calls per ${bucket} bucket`,
      labels: series.buckets, xFormat: label, yFormat: fmt.int,
      series: [{ name: "ok", values: okCalls, color: "#1f5fbf" }, { name: "errors", values: errors, color: "#b3261e" }] }),
    barChart({ caption: `Cost per ${bucket}`, label: `Cost in US dollars per ${bucket} bucket`,
      labels: series.buckets, xFormat: label, yFormat: fmt.usd, series: [{ name: "cost", values: cost, color: "#15803d" }] }),
    details("activity-table", "Calls, tokens and cost per bucket (table)",
      table("Per bucket", [
        { label: "Bucket start", value: (r) => fmt.time(r.t) },
        { label: "Calls", value: (r) => fmt.int(r.calls), num: true },
        { label: "Errors", value: (r) => fmt.int(r.errors), num: true },
        { label: "Tokens", value: (r) => fmt.int(r.tokens), num: true },
        { label: "Cost", value: (r) => fmt.usd(r.cost), num: true },
      ], series.buckets.map((t, i) => ({ t, calls: okCalls[i] + errors[i], errors: errors[i], tokens: tokens[i], cost: cost[i] }))
        .filter((r) => r.calls || r.cost))));
}

function modelName(key) {
  return key.operation && key.operation !== "chat" ? `${key.model} (${key.operation})` : key.model;
}

function latencyTable(stats) {
  const rows = stats.series.filter((s) => s.key && s.key.model);
  const columns = [
    { label: "Model", value: (r) => modelName(r.key) },
    { label: "Calls", value: (r) => fmt.int(r.count), num: true, metric: "calls", raw: (r) => r.count },
    { label: "Errors", value: (r) => fmt.pct(r.error_rate), num: true, metric: "error_rate", raw: (r) => r.error_rate },
  ];
  for (const [metric, name] of METRICS) {
    for (const [p, label] of PCTS) {
      columns.push({ label, group: name[0].toUpperCase() + name.slice(1), num: true, metric: `${metric}.${p}`,
        value: (r) => fmt.ms(r[metric] ? r[metric][p] : null), raw: (r) => (r[metric] ? r[metric][p] : null) });
    }
  }
  return table("Latency per model: time to first token, duration and time per output token", columns, rows,
    { empty: "No model calls in this window since this sidecar started (percentiles are kept in memory: a restart starts them afresh).",
      key: (r) => modelName(r.key) });
}

function distributionChart(dist, metricLabel) {
  const series = dist.series.filter((s) => s.key && s.key.model).slice(0, 8).map((s) => ({
    name: modelName(s.key), values: s.values,
  }));
  if (!series.length) return h("p", { class: "empty" }, `No ${metricLabel} measured in this window.`);
  return percentileChart({ caption: `Distribution of ${metricLabel} per model, by percentile`,
    label: `${metricLabel} at each percentile from 1 % to 99.9 % for ${series.map((s) => s.name).join(", ")}`,
    quantiles: dist.quantiles, series, yFormat: fmt.ms });
}

export function render(data, ctx) {
  const { agg, stats, dist, series, c } = data;
  if (isError(agg)) return errorNotice(agg);
  const out = [];
  if (agg.total.count === 0) {
    const fresh = data.ever && !isError(data.ever) && data.ever.total.count === 0;
    out.push(fresh
      ? emptyState("No events yet",
        "This sidecar has not stored any events. Agents send them with the runtime SDK or POST /v1/events; " +
        "`agent-sidecar demo` fills a fresh database with a simulated fleet.",
        "This page refreshes by itself: figures appear as soon as events arrive.")
      : emptyState(`Nothing in the ${c.label}`, "Events are stored, but none in this window: choose a longer one."));
    if (fresh) return h("div", {}, out);
  }
  out.push(section(`Activity, ${c.label}`, tiles(agg), isError(series) ? errorNotice(series) : activity(series, data.bucket)));
  const metricLabel = METRICS.find((m) => m[0] === c.metric)[1];
  out.push(section("Latency per model",
    h("p", { class: "hint" }, `Percentiles within ${isError(stats) ? "1" : Math.round(stats.relative_accuracy * 100)} % of the exact value, from this sidecar's sketches (${c.label}).`),
    isError(stats) ? errorNotice(stats) : latencyTable(stats),
    isError(dist) ? errorNotice(dist) : distributionChart(dist, metricLabel)));
  return h("div", {}, out);
}
