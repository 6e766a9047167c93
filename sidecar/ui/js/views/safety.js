// Safety: PII and secrets masked by type; prompt-injection findings by family and source, and
// texts flagged; this process's counters from /v1/summary.

import { getJSON } from "../api.js";
import { barList } from "../charts.js";
import { emptyState, fmt, h, section, table, tile } from "../dom.js";

export const title = "Safety";
const SOURCES = [["user", "user input"], ["tool_result", "tool results"]];

export async function load() {
  return { summary: await getJSON("/v1/summary") };
}

export function render({ summary }) {
  const { redactions, injection } = summary.safety;
  const total = Object.values(redactions).reduce((a, b) => a + b, 0);
  const flagged = injection.flagged || {};
  const scored = injection.scored || {};
  const families = [...new Set(SOURCES.flatMap(([s]) => Object.keys(injection[s] || {})))].sort();
  const findings = families.map((family) => ({ family, ...Object.fromEntries(SOURCES.map(([s]) => [s, (injection[s] || {})[family] || 0])) }));
  const anyFinding = findings.some((f) => SOURCES.some(([s]) => f[s]));
  const parts = [];
  if (!total && !anyFinding) {
    parts.push(emptyState("Nothing redacted or flagged yet",
      "Every event is redacted at ingest (emails, phones, cards, keys…) and its content scored for prompt injection; counts show here."));
  }
  const types = Object.entries(redactions).sort((a, b) => b[1] - a[1]);
  parts.push(section("Redaction",
    h("div", { class: "tiles" },
      tile("Values masked", "redactions_total", total, fmt.int(total), summary.safety.redaction_enabled ? "since this sidecar started" : "redaction is turned off")),
    types.length ? barList("Masked by type", types.map(([k, v]) => ({ key: k, label: k, value: v, metric: `redactions.${k}` })), fmt.int)
      : h("p", { class: "empty" }, "No PII or secret has been masked yet.")));
  parts.push(section("Prompt injection",
    h("p", { class: "hint" }, injection.enabled ? `Guard on, mode ${injection.mode} (${injection.mode === "block" ? "flagged tool results are refused at admit" : "findings are recorded, nothing is blocked"}).` : "The injection guard is turned off."),
    h("div", { class: "tiles" },
      ...SOURCES.map(([s, label]) => tile(`Flagged ${label}`, `flagged.${s}`, flagged[s] || 0, fmt.int(flagged[s] || 0), `of ${fmt.int(scored[s] || 0)} scored`))),
    table("Injection findings by family and source", [
      { label: "Family", value: (f) => f.family },
      ...SOURCES.map(([s, label]) => ({ label: `In ${label}`, value: (f) => fmt.int(f[s]), num: true, metric: `findings.${s}`, raw: (f) => f[s] })),
    ], findings.filter((f) => SOURCES.some(([s]) => f[s])), { empty: "No injection pattern found yet.", key: (f) => f.family })));
  return h("div", {}, parts);
}
