// Cache: hit rate by tier and by namespace, tokens and US dollars saved, guard rejections by
// guard; this process's counters from /v1/summary (the same the /metrics counters read).

import { getJSON } from "../api.js";
import { barList } from "../charts.js";
import { emptyState, fmt, h, section, table, tile } from "../dom.js";

export const title = "Cache";
const NOT_HITS = new Set(["miss", "rejected_by_guard"]);
const RESULT_NAMES = { exact: "exact hit", fuzzy: "fuzzy hit", semantic: "semantic hit", miss: "miss", rejected_by_guard: "turned away by a guard" };
const RESULT_COLORS = { exact: "#1f5fbf", fuzzy: "#7c3aed", semantic: "#0e7490", miss: "#64748b", rejected_by_guard: "#a16207" };
const ORDER = ["exact", "fuzzy", "semantic", "miss", "rejected_by_guard"];

function ordered(keys) {
  const rank = (k) => (ORDER.includes(k) ? ORDER.indexOf(k) : NOT_HITS.has(k) ? 90 : 10);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export async function load() {
  return { summary: await getJSON("/v1/summary") };
}

function resultName(key) {
  return RESULT_NAMES[key] || (NOT_HITS.has(key) ? key : `${key} hit`);
}

export function render({ summary }) {
  const cache = summary.cache;
  const results = ordered(Object.keys(cache.lookups));
  if (!cache.enabled) return emptyState("The cache is turned off", "This sidecar runs with cache.enabled: false.");
  const parts = [];
  if (!cache.lookups_total) {
    parts.push(emptyState("No cache lookups yet",
      "Agents look answers up with POST /v1/cache/lookup (the SDK's sidecar.cached(...)); hits, savings and guard decisions show here."));
  }
  const tiers = Object.keys(cache.tiers);
  parts.push(section("Since this sidecar started",
    h("div", { class: "tiles" },
      tile("Lookups", "lookups", cache.lookups_total, fmt.int(cache.lookups_total)),
      tile("Hit rate", "hit_rate", cache.hit_rate, fmt.pct(cache.hit_rate),
        tiers.map((t) => `${t} ${fmt.int(cache.tiers[t])}`).join(" · ")),
      tile("Tokens saved", "tokens_saved", cache.tokens_saved, fmt.int(cache.tokens_saved)),
      tile("Saved", "usd_saved", cache.usd_saved, fmt.usd(cache.usd_saved), "model calls not made"),
      tile("Entries", "entries", cache.entries, fmt.int(cache.entries), `${fmt.bytes(cache.bytes)} in ${fmt.int(cache.scopes)} scopes`)),
    h("div", { class: "grid two" },
      barList("Lookups by result", results.map((k) => ({ key: k, label: resultName(k), value: cache.lookups[k],
        metric: `lookups.${k}`, color: RESULT_COLORS[k] })), fmt.int),
      barList("Fuzzy candidates turned away, by guard",
        Object.entries(cache.guard_rejections).map(([k, v]) => ({ key: k, label: k, value: v, metric: `guard.${k}`, color: "#a16207" })), fmt.int))));
  const namespaceResults = ordered(new Set(cache.namespaces.flatMap((n) => Object.keys(n.results))));
  parts.push(section("By namespace", table("Lookups by namespace", [
    { label: "Namespace", value: (n) => n.namespace },
    { label: "Lookups", value: (n) => fmt.int(n.lookups), num: true, metric: "ns.lookups", raw: (n) => n.lookups },
    ...namespaceResults.map((r) => ({ label: resultName(r), value: (n) => fmt.int(n.results[r] || 0), num: true })),
    { label: "Hit rate", value: (n) => fmt.pct(n.hit_rate), num: true, metric: "ns.hit_rate", raw: (n) => n.hit_rate },
    { label: "Tokens saved", value: (n) => fmt.int(n.tokens_saved), num: true },
    { label: "Saved", value: (n) => fmt.usd(n.usd_saved), num: true },
  ], cache.namespaces, { empty: "No namespace has been looked up yet.", key: (n) => n.namespace })));
  return h("div", {}, parts);
}
