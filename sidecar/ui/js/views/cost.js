// Cost: spend per hour or day, per model, agent and user (as stored: pseudonyms for ids that
// held PII), from the store (/v1/series, /v1/aggregate).

import { getAll, getJSON, isError } from "../api.js";
import { barChart } from "../charts.js";
import { details, emptyState, fmt, h, section, select, table, tile } from "../dom.js";
import { errorNotice } from "../nav.js";

export const title = "Cost";

const RANGES = [
  ["24h", "last 24 hours, per hour", 86400, "1h"],
  ["7d", "last 7 days, per day", 7 * 86400, "1d"],
  ["30d", "last 30 days, per day", 30 * 86400, "1d"],
];

function chosen(ctx) {
  const found = RANGES.find((r) => r[0] === ctx.params.get("range")) || RANGES[0];
  return { key: found[0], label: found[1], seconds: found[2], bucket: found[3] };
}

export function controls(ctx) {
  return h("div", { class: "controls" },
    select("Range", "range", RANGES.map((r) => [r[0], r[1]]), chosen(ctx).key, (v) => ctx.setParams({ range: v })));
}

export async function load(ctx) {
  const c = chosen(ctx);
  const until = Date.now() / 1000;
  const since = until - c.seconds;
  const data = await getAll({
    series: getJSON("/v1/series", { since, until, bucket: c.bucket, group_by: "model", top: 8 }),
    models: getJSON("/v1/aggregate", { since, until, group_by: "model" }),
    agents: getJSON("/v1/aggregate", { since, until, type: "llm_call", group_by: "agent" }),
    users: getJSON("/v1/aggregate", { since, until, type: "llm_call", group_by: "user" }),
  });
  return { ...data, c };
}

function spendTable(caption, groups, keyName, keyLabel, total, limit) {
  const rows = [...groups].sort((a, b) => b.cost_usd - a.cost_usd || b.count - a.count).slice(0, limit);
  return table(caption, [
    { label: keyLabel, value: (r) => r[keyName] ?? "(none)" },
    { label: "LLM calls", value: (r) => fmt.int(r.count), num: true, metric: `${keyName}.count`, raw: (r) => r.count },
    { label: "Input tokens", value: (r) => fmt.int(r.input_tokens), num: true },
    { label: "Output tokens", value: (r) => fmt.int(r.output_tokens), num: true },
    { label: "Cost", value: (r) => fmt.usd(r.cost_usd), num: true, metric: `${keyName}.cost_usd`, raw: (r) => r.cost_usd },
    { label: "Share", value: (r) => fmt.pct(total ? r.cost_usd / total : 0), num: true },
  ], rows, { empty: "No LLM calls in this range.", key: (r) => `${keyName}:${r[keyName]}` });
}

export function render(data) {
  const { series, models, agents, users, c } = data;
  if (isError(models)) return errorNotice(models);
  const total = models.total;
  if (total.count === 0) {
    return emptyState(`No spend in the ${c.label.split(",")[0]}`,
      "No LLM calls are stored in this range. Cost is priced at ingest from the price table; see docs/console.md.");
  }
  const label = c.bucket === "1h" ? (t) => fmt.time(t).slice(11, 16) : (t) => fmt.time(t).slice(5, 10);
  const chart = isError(series) ? errorNotice(series) : barChart({
    caption: `Spend per ${c.bucket === "1h" ? "hour" : "day"} by model (UTC buckets)`,
    label: `Spend in US dollars per ${c.bucket === "1h" ? "hour" : "day"}, stacked by model`,
    labels: series.buckets, xFormat: label, yFormat: fmt.usd,
    series: series.series.map((s) => ({ name: s.key ?? "(none)", values: s.points.map((p) => p.cost_usd) })),
  });
  const perBucket = isError(series) ? null : details("cost-buckets", `Spend per ${c.bucket === "1h" ? "hour" : "day"} (table)`,
    table("Spend per bucket", [
      { label: "Bucket start", value: (r) => fmt.time(r.t) },
      { label: "LLM calls", value: (r) => fmt.int(r.count), num: true },
      { label: "Tokens", value: (r) => fmt.int(r.input_tokens + r.output_tokens), num: true },
      { label: "Cost", value: (r) => fmt.usd(r.cost_usd), num: true, metric: "bucket.cost_usd", raw: (r) => r.cost_usd },
    ], series.buckets.map((t, i) => ({ t, ...series.total[i] })).filter((r) => r.count)));
  return h("div", {},
    section(`Spend, ${c.label}`,
      h("div", { class: "tiles" },
        tile("Spend", "cost_usd", total.cost_usd, fmt.usd(total.cost_usd)),
        tile("LLM calls", "llm_calls", total.count, fmt.int(total.count)),
        tile("Tokens", "tokens", total.input_tokens + total.output_tokens, fmt.int(total.input_tokens + total.output_tokens),
          `${fmt.int(total.input_tokens)} in · ${fmt.int(total.output_tokens)} out`),
        tile("Per call", "cost_per_call", total.count ? total.cost_usd / total.count : 0, fmt.usd(total.count ? total.cost_usd / total.count : 0))),
      chart, perBucket),
    section("Per model", spendTable("Spend per model", models.groups, "model", "Model", total.cost_usd, 50)),
    section("Per agent", isError(agents) ? errorNotice(agents) : spendTable("Spend per agent", agents.groups, "agent", "Agent", total.cost_usd, 50)),
    section("Per user", h("p", { class: "hint" }, "User ids as stored: an id that held PII (an e-mail address, say) is shown as its pseudonym. Top 25 by spend."),
      isError(users) ? errorNotice(users) : spendTable("Spend per user", users.groups, "user", "User", total.cost_usd, 25)));
}
