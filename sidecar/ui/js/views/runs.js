// Runs: recent runs (/v1/runs), and one run as a timeline of its LLM and tool calls
// (/v1/runs/{request_id}) with durations, tokens, cost, status and the stored content.

import { getJSON, isError } from "../api.js";
import { PALETTE } from "../charts.js";
import { badge, details, emptyState, fmt, h, notice, section, table, tile } from "../dom.js";
import { errorNotice, href } from "../nav.js";

export const title = "Runs";
const PAGE = 50;
let older = { key: null, runs: [], cursor: null }; // pages loaded with "Older runs"

export function heading(ctx) {
  return ctx.args.length ? "Run" : "Runs";
}

export function controls(ctx) {
  if (ctx.args.length) return h("div", { class: "controls" }, h("a", { href: href("runs"), class: "button subtle" }, "← All runs"));
  const input = h("input", { id: "run-user", name: "user_id", type: "search", autocomplete: "off",
    maxlength: "256", value: ctx.params.get("user_id") || "" });
  const form = h("form", { class: "controls", role: "search" },
    h("label", { class: "control", for: "run-user" }, h("span", {}, "User id"), input),
    h("button", { type: "submit", class: "button" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.setParams({ user_id: input.value.trim() });
  });
  return form;
}

export async function load(ctx) {
  if (ctx.args.length) {
    try {
      return { detail: await getJSON(`/v1/runs/${encodeURIComponent(ctx.args[0])}`, { tenant: ctx.params.get("tenant") }) };
    } catch (error) {
      return { detail: error };
    }
  }
  const key = ctx.params.toString();
  if (older.key !== key) older = { key, runs: [], cursor: null };
  try {
    return { list: await getJSON("/v1/runs", { limit: PAGE, user_id: ctx.params.get("user_id") }) };
  } catch (error) {
    return { list: error };
  }
}

export function live(data) {
  if (data.detail) return !isError(data.detail) && !data.detail.run.finished;
  return older.runs.length === 0; // paused while older pages are shown
}

function runLink(run) {
  return h("a", { href: href("runs", [run.request_id], { tenant: run.tenant }) }, run.request_id);
}

function runTable(runs) {
  return table("Recent runs, newest first", [
    { label: "Run", value: runLink },
    { label: "Started", value: (r) => fmt.time(r.started_at) },
    { label: "Agent", value: (r) => r.agent || "–" },
    { label: "User", value: (r) => r.user_id || "–" },
    { label: "Status", value: (r) => badge(r.status) },
    { label: "Duration", value: (r) => fmt.ms(r.duration_ms), num: true },
    { label: "LLM calls", value: (r) => fmt.int(r.llm_calls), num: true, metric: "llm_calls", raw: (r) => r.llm_calls },
    { label: "Tool calls", value: (r) => fmt.int(r.tool_calls), num: true, metric: "tool_calls", raw: (r) => r.tool_calls },
    { label: "Tokens", value: (r) => fmt.int(r.input_tokens + r.output_tokens), num: true, metric: "tokens", raw: (r) => r.input_tokens + r.output_tokens },
    { label: "Cost", value: (r) => fmt.usd(r.cost_usd), num: true, metric: "cost_usd", raw: (r) => r.cost_usd },
  ], runs, { key: (r) => `${r.tenant ?? ""}/${r.request_id}` });
}

function renderList(list, ctx) {
  if (isError(list)) return errorNotice(list);
  if (!list.runs.length && !older.runs.length) {
    return ctx.params.get("user_id")
      ? emptyState("No runs of this user", "No stored event names this user id (ids holding PII are matched by their pseudonym).")
      : emptyState("No runs yet", "A run is the events of one request id. Runs appear here as agents send events.");
  }
  const runs = [...list.runs, ...older.runs.filter((r) => !list.runs.some((n) => n.request_id === r.request_id && n.tenant === r.tenant))];
  const cursor = older.runs.length ? older.cursor : list.next_cursor;
  const more = cursor ? h("button", { type: "button", class: "button", id: "older-runs" }, "Older runs") : null;
  if (more) {
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const page = await getJSON("/v1/runs", { limit: PAGE, cursor, user_id: ctx.params.get("user_id") });
        older.runs.push(...page.runs);
        older.cursor = page.next_cursor;
      } catch (error) {
        more.replaceWith(errorNotice(error));
        return;
      }
      ctx.reload();
    });
  }
  return h("div", {}, section(`Runs (${runs.length}${cursor ? "+" : ""})`,
    older.runs.length ? h("p", { class: "hint" }, "Live refresh is paused while older runs are shown.") : null,
    runTable(runs), more));
}

function stepName(event) {
  if (event.type === "llm_call") return `${event.model}${event.operation && event.operation !== "chat" ? " " + event.operation : ""}`;
  if (event.type === "tool_call") return event.tool;
  return "run";
}

function startOf(event) {
  if (typeof event.start_ts === "number") return event.start_ts;
  return event.ts - (event.duration_ms || 0) / 1000;
}

/** The earliest start among the run's own events (their start_ts), else the summary's. */
function runStart(run, events) {
  const starts = events.map(startOf).filter((t) => Number.isFinite(t));
  return starts.length ? Math.min(...starts) : run.started_at;
}

function content(event) {
  const parts = [];
  for (const field of ["input", "output", "args", "result", "error_message"]) {
    if (event[field] === null || event[field] === undefined) continue;
    const text = typeof event[field] === "string" ? event[field] : JSON.stringify(event[field], null, 2);
    parts.push(h("div", { class: "content-field" }, h("h4", {}, field), h("pre", {}, text)));
  }
  return parts;
}

function timeline(run, events) {
  const steps = events.filter((e) => e.type !== "run");
  const begin = runStart(run, events);
  const total = Math.max(1, ...events.map((e) => (startOf(e) - begin) * 1000 + (e.duration_ms || 0)));
  const scale = (ms) => `${Math.min(100, Math.max(0, (ms / total) * 100))}%`;
  const rows = steps.map((e, i) => {
    const offset = (startOf(e) - begin) * 1000;
    const color = e.status === "error" ? "#b3261e" : e.type === "llm_call" ? PALETTE[0] : PALETTE[2];
    const label = `${e.type === "llm_call" ? "LLM" : "tool"} ${stepName(e)}: starts at +${fmt.ms(offset)}, takes ${fmt.ms(e.duration_ms)}${e.status === "error" ? ", failed" : ""}`;
    return h("li", { class: "step", dataset: { key: `step-${i}` } },
      h("span", { class: "step-label" }, h("span", { class: `kind ${e.type}` }, e.type === "llm_call" ? "LLM" : "tool"), " ", stepName(e)),
      h("span", { class: "step-track", role: "img", "aria-label": label },
        h("span", { class: "step-bar", title: label, style: { left: scale(offset), width: `max(3px, ${scale(e.duration_ms || 0)})`, background: color } })),
      h("span", { class: "step-time" }, fmt.ms(e.duration_ms)));
  });
  return h("figure", { class: "timeline" },
    h("figcaption", {}, `Timeline: ${steps.length} calls over ${fmt.ms(total)} (bars start at their offset from the run's start)`),
    h("ol", {}, rows));
}

function stepsTable(run, events) {
  const steps = events.filter((e) => e.type !== "run");
  const begin = runStart(run, events);
  const anyContent = steps.some((e) => content(e).length);
  return h("div", {},
    table("Calls in start order", [
      { label: "#", value: (e) => String(steps.indexOf(e) + 1) },
      { label: "Offset", value: (e) => "+" + fmt.ms((startOf(e) - begin) * 1000), num: true },
      { label: "Kind", value: (e) => (e.type === "llm_call" ? "LLM" : "tool") },
      { label: "Name", value: stepName },
      { label: "Duration", value: (e) => fmt.ms(e.duration_ms), num: true, metric: "duration_ms", raw: (e) => e.duration_ms },
      { label: "TTFT", value: (e) => fmt.ms(e.ttft_ms), num: true },
      { label: "Tokens in/out", value: (e) => (e.type === "llm_call" ? `${fmt.int(e.input_tokens)} / ${fmt.int(e.output_tokens)}` : "–"), num: true },
      { label: "Cost", value: (e) => (e.type === "llm_call" ? fmt.usd(e.cost_usd) : "–"), num: true, metric: "cost_usd", raw: (e) => e.cost_usd ?? null },
      { label: "Status", value: (e) => h("span", {}, badge(e.status || "ok"), e.error_type ? ` ${e.error_type}` : "") },
    ], steps, { empty: "This run has no LLM or tool calls.", key: (e) => e.id }),
    anyContent
      ? h("div", { class: "contents" }, steps.map((e, i) => {
        const parts = content(e);
        return parts.length ? details(`content-${e.id}`, `#${i + 1} ${stepName(e)}: content (redacted)`, ...parts) : null;
      }))
      : notice("info", "No content stored for these calls: prompts, outputs and tool arguments are kept only with capture_content: true (SIDECAR_CAPTURE_CONTENT), redacted either way."));
}

function renderDetail(detail) {
  if (isError(detail)) {
    if (detail.status === 404) return emptyState("No such run", "No stored event has this request id.");
    return errorNotice(detail);
  }
  const { run, events, truncated } = detail;
  return h("div", {},
    section(run.request_id,
      h("dl", { class: "facts-list" },
        ...[["Agent", run.agent], ["User", run.user_id], ["Session", run.session_id], ["Tenant", run.tenant],
          ["Started", fmt.time(run.started_at)]].filter(([, v]) => v).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("div", { class: "tiles" },
        h("div", { class: "tile" }, h("div", { class: "tile-label" }, "Status"), h("div", { class: "tile-value" }, badge(run.status))),
        tile("Duration", "duration_ms", run.duration_ms, fmt.ms(run.duration_ms), run.finished ? "run finished" : "still running or no end event yet"),
        tile("LLM calls", "llm_calls", run.llm_calls, fmt.int(run.llm_calls)),
        tile("Tool calls", "tool_calls", run.tool_calls, fmt.int(run.tool_calls), `${fmt.int(run.errors)} errors in calls`),
        tile("Tokens", "tokens", run.input_tokens + run.output_tokens, fmt.int(run.input_tokens + run.output_tokens),
          `${fmt.int(run.input_tokens)} in · ${fmt.int(run.output_tokens)} out`),
        tile("Cost", "cost_usd", run.cost_usd, fmt.usd(run.cost_usd))),
      truncated ? notice("info", "This run has more events than one page shows (the first 2,000).") : null,
      timeline(run, events)),
    section("Calls", stepsTable(run, events)));
}

export function render(data, ctx) {
  return data.detail ? renderDetail(data.detail) : renderList(data.list, ctx);
}
