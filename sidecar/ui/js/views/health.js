// Health: store latency, budget journal, ingest writer, span exporter queue and drops, version
// and the configuration (secrets masked), from /health and /v1/summary.

import { getAll, getJSON, isError } from "../api.js";
import { badge, details, fmt, h, section, table, tile } from "../dom.js";
import { errorNotice } from "../nav.js";

export const title = "Health";

export async function load() {
  return getAll({ health: getJSON("/health", {}, { accept: [503] }), summary: getJSON("/v1/summary") });
}

function rows(object) {
  return Object.entries(object || {}).filter(([, v]) => v === null || typeof v !== "object")
    .map(([name, value]) => ({ name, value }));
}

function facts(caption, object) {
  return table(caption, [
    { label: "Name", value: (r) => r.name },
    { label: "Value", value: (r) => (typeof r.value === "number" ? (Number.isInteger(r.value) ? fmt.int(r.value) : String(r.value)) : String(r.value)), num: true,
      metric: `${caption}.value`, raw: (r) => r.value },
  ], rows(object), { key: (r) => `${caption}:${r.name}` });
}

function configSummary(config) {
  const auth = config.auth || {};
  const items = [
    ["Listening on", `${config.host}:${config.port}`],
    ["Store", config.db_url],
    ["Tokens", config.api_token ? `api_token set, ${(auth.tokens || []).length} scoped` : `${(auth.tokens || []).length} scoped`],
    ["Content capture", config.capture_content ? "on (redacted)" : "off"],
    ["Redaction", config.redact && config.redact.enabled ? "on" : "off"],
    ["Injection guard", config.guard && config.guard.enabled ? `on, ${config.guard.mode}` : "off"],
    ["Budgets", config.budgets && config.budgets.enabled ? `on, ${config.budgets.fail_policy}, ${config.budgets.timezone}` : "off"],
    ["Span export", config.traces && config.traces.enabled ? `on, ${config.traces.endpoint || ""}` : "off"],
  ];
  return h("dl", { class: "facts-list" }, items.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

export function render({ health, summary }) {
  const parts = [];
  if (isError(health)) {
    parts.push(errorNotice(health));
  } else {
    const db = health.database || {};
    parts.push(section("Sidecar",
      h("div", { class: "tiles" },
        h("div", { class: "tile" }, h("div", { class: "tile-label" }, "State"), h("div", { class: "tile-value" }, badge(health.healthy ? "healthy" : "unhealthy"))),
        tile("Store latency", "db_latency_ms", db.latency_ms ?? null, db.connected ? fmt.ms(db.latency_ms) : "unreachable", db.connected ? "one round trip, now" : db.error),
        tile("Version", "version", health.version, health.version),
        tile("Up for", "uptime_s", health.uptime_s, fmt.span(health.uptime_s))),
      health.budgets ? facts("Budget ledger and journal", health.budgets) : null));
  }
  if (isError(summary)) {
    parts.push(errorNotice(summary));
    return h("div", {}, parts);
  }
  const exporter = summary.exporter;
  parts.push(section("Pipelines",
    h("div", { class: "grid two" },
      facts("Ingest", summary.ingest),
      exporter.enabled ? facts("Span exporter (OTLP)", exporter)
        : h("p", { class: "hint" }, "Span export (OTLP) is turned off (traces.enabled: false)."),
      facts("Analytics", summary.analytics),
      summary.budgets.enabled ? facts("Budget counters", summary.budgets.counters) : null)));
  parts.push(section("Configuration",
    h("p", { class: "hint" }, "Secrets are masked (tokens, keys, passwords, URL passwords)."),
    configSummary(summary.config),
    details("config-json", "Whole configuration (JSON)", h("pre", { class: "config" }, JSON.stringify(summary.config, null, 2)))));
  return h("div", {}, parts);
}
