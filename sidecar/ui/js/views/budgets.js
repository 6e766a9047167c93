// Budgets: every policy with its usage in the current window (used, reserved, remaining, next
// reset) against its warn and deny thresholds; recent denials with their reason and retry time.

import { getAll, getJSON, isError } from "../api.js";
import { meter } from "../charts.js";
import { emptyState, figure, fmt, h, section, table } from "../dom.js";
import { errorNotice } from "../nav.js";

export const title = "Budgets";
const MAX_USAGE_LOOKUPS = 100;
const lookups = new Map(); // wildcard policy key -> the id a person asked about

function usagePath(policy, id) {
  return `/v1/usage/${encodeURIComponent(policy.scope)}/${encodeURIComponent(id)}`;
}

export async function load() {
  const first = await getAll({
    policies: getJSON("/v1/budgets"),
    denials: getJSON("/v1/budgets/denials", { limit: 50 }),
  });
  if (isError(first.policies)) return first;
  const named = first.policies.policies.filter((p) => p.id !== "*").slice(0, MAX_USAGE_LOOKUPS);
  const usages = await Promise.all(named.map((p) =>
    getJSON(usagePath(p, p.id), { model: p.model }).catch((e) => e)));
  const usage = new Map(named.map((p, i) => [policyKey(p), usages[i]]));
  const asked = first.policies.policies.filter((p) => p.id === "*" && lookups.has(policyKey(p)));
  const answers = await Promise.all(asked.map((p) =>
    getJSON(usagePath(p, lookups.get(policyKey(p))), { model: p.model }).catch((e) => e)));
  asked.forEach((p, i) => usage.set(policyKey(p), answers[i]));
  return { ...first, usage };
}

function policyKey(p) {
  return `${p.scope}/${p.id}/${p.model || ""}/${p.window}`;
}

function resetText(windowEnd) {
  const end = Date.parse(windowEnd) / 1000;
  if (!Number.isFinite(end)) return windowEnd;
  return `resets in ${fmt.span(end - Date.now() / 1000)} (${fmt.time(end)})`;
}

function meters(policy, usage) {
  const out = [];
  if (policy.max_tokens !== null && policy.max_tokens !== undefined) {
    out.push(h("div", { class: "meter-block" },
      h("div", { class: "meter-head" }, h("span", {}, "Tokens"),
        h("span", {}, figure("tokens_used", usage.tokens_used, fmt.int(usage.tokens_used)), " used · ",
          figure("tokens_reserved", usage.tokens_reserved, fmt.int(usage.tokens_reserved)), " reserved · ",
          figure("remaining_tokens", usage.remaining_tokens, fmt.int(usage.remaining_tokens)), " left of ",
          fmt.int(policy.max_tokens))),
      meter({ label: "Tokens", used: usage.tokens_used, reserved: usage.tokens_reserved, cap: policy.max_tokens,
        warnAt: policy.warn_at, format: fmt.int })));
  }
  if (policy.max_cost_usd !== null && policy.max_cost_usd !== undefined) {
    out.push(h("div", { class: "meter-block" },
      h("div", { class: "meter-head" }, h("span", {}, "Cost"),
        h("span", {}, figure("cost_usd", usage.cost_usd, fmt.usd(usage.cost_usd)), " used · ",
          figure("remaining_cost_usd", usage.remaining_cost_usd, fmt.usd(usage.remaining_cost_usd)), " left of ",
          fmt.usd(policy.max_cost_usd))),
      meter({ label: "Cost", used: usage.cost_usd, reserved: 0, cap: policy.max_cost_usd,
        warnAt: policy.warn_at, format: fmt.usd })));
  }
  return out;
}

function lookupForm(policy, index, usage, ctx) {
  const id = `budget-lookup-${index}`;
  const key = policyKey(policy);
  const input = h("input", { id, name: "id", type: "text", autocomplete: "off", required: true,
    maxlength: "256", value: lookups.get(key) || "" });
  const result = [];
  if (lookups.has(key) && usage) {
    result.push(h("p", { class: "hint" }, `Usage of ${lookups.get(key)}:`));
    if (isError(usage)) result.push(errorNotice(usage));
    else result.push(...meters(policy, usage), h("p", { class: "hint" }, resetText(usage.window_end)));
  }
  const form = h("form", { class: "lookup" },
    h("div", { class: "lookup-row" },
      h("label", { for: id }, `${policy.scope === "user" ? "User" : "Tenant"} id`), input,
      h("button", { type: "submit", class: "button" }, "Show usage")),
    h("div", { class: "lookup-result" }, result));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (value) lookups.set(key, value);
    else lookups.delete(key);
    ctx.reload();
  });
  return form;
}

function card(policy, usage, index, ctx) {
  const name = policy.scope === "global" ? `global · ${policy.id}` : `${policy.scope} · ${policy.id === "*" ? "every " + policy.scope : policy.id}`;
  const facts = [`window ${policy.window}`];
  if (policy.model) facts.push(`model ${policy.model}`);
  if (policy.warn_at) facts.push(`warns at ${Math.round(policy.warn_at * 100)} %`);
  const body = [];
  if (policy.id === "*") {
    body.push(h("p", { class: "hint" }, `Each ${policy.scope} has this budget separately.`),
      lookupForm(policy, index, usage, ctx));
  } else if (!usage) {
    body.push(h("p", { class: "hint" }, "Usage not loaded (too many policies to look up at once)."));
  } else if (isError(usage)) {
    body.push(errorNotice(usage));
  } else {
    body.push(...meters(policy, usage), h("p", { class: "hint" }, resetText(usage.window_end)));
  }
  return h("article", { class: "budget-card", dataset: { key: policyKey(policy) } },
    h("h3", {}, name), h("p", { class: "facts" }, facts.join(" · ")), ...body);
}

function denialTable(denials) {
  return table("Recent denials (this sidecar process)", [
    { label: "Time", value: (d) => fmt.time(d.ts) },
    { label: "Reason", value: (d) => d.reason || "denied", metric: "reason", raw: (d) => d.reason },
    { label: "Limit", value: (d) => describeLimit(d.limit) },
    { label: "User", value: (d) => d.user_id || "–" },
    { label: "Model or tool", value: (d) => d.model || d.tool || "–" },
    { label: "Retry after", value: (d) => (d.retry_after_s === null || d.retry_after_s === undefined ? "never fits" : fmt.span(d.retry_after_s)),
      num: true, metric: "retry_after_s", raw: (d) => d.retry_after_s },
  ], denials, { empty: "No admission was denied since this sidecar started.", key: (d) => `${d.ts}-${d.request_id}` });
}

function describeLimit(limit) {
  if (!limit) return "–";
  if (limit.scope) {
    const caps = [];
    if (limit.max_tokens !== undefined) caps.push(`${fmt.int(limit.max_tokens)} tokens`);
    if (limit.max_cost_usd !== undefined) caps.push(fmt.usd(limit.max_cost_usd));
    return `${limit.scope}/${limit.id} ${limit.window}${limit.model ? " " + limit.model : ""}: ${caps.join(", ")}`;
  }
  return `${limit.name || "limit"} ${limit.value ?? ""}`.trim();
}

export function render(data, ctx) {
  const { policies, denials, usage } = data;
  if (isError(policies)) {
    if (policies.status === 404) return emptyState("Budgets are turned off", "This sidecar runs with budgets.enabled: false.");
    return errorNotice(policies);
  }
  const list = policies.policies;
  const parts = [];
  if (!list.length) {
    parts.push(emptyState("No budget policies",
      "Set one in the configuration file (budgets.policies) or with PUT /v1/budgets/{scope}/{id}, " +
      "for example {\"window\": \"1d\", \"max_tokens\": 100000}."));
  } else {
    parts.push(section(`Policies (${list.length})`, h("div", { class: "cards" }, list.map((p, i) => card(p, usage.get(policyKey(p)), i, ctx)))));
  }
  parts.push(section("Recent denials", isError(denials) ? errorNotice(denials) : denialTable(denials.denials)));
  return h("div", {}, parts);
}
