"""Generates the Grafana dashboards in dashboards/*.json (run after editing; a test checks that
the committed files are this script's output).

Every panel queries the Prometheus data source chosen by the ``datasource`` variable (no
hard-coded uid); expressions use only ``$__rate_interval``, ``$__interval``, ``$__range`` and
label-matcher variables (``gen_ai_request_model=~"$model"``), so any Prometheus evaluates them
once those are substituted. Usage: ``python scripts/build_dashboards.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
RI = "$__rate_interval"

MODEL = 'gen_ai_request_model=~"$model"'
TOOL = 'gen_ai_tool_name=~"$tool"'
INST = 'instance=~"$instance"'
COST = 'model=~"$model", agent=~"$agent"'
LLM_COUNT = "gen_ai_client_operation_duration_seconds_count"


def target(expr: str, legend: str = "__auto", ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "datasource": DS, "expr": expr, "legendFormat": legend,
            "range": True, "editorMode": "code"}


def quantiles(metric: str, selector: str, by: str, legend: str) -> list[dict[str, Any]]:
    """p50 / p95 / p99 from a histogram's buckets, one target each."""
    out = []
    for ref, q in zip("ABC", ("0.5", "0.95", "0.99"), strict=True):
        matcher = f"{{{selector}}}" if selector else ""
        expr = (f"histogram_quantile({q}, sum by (le{', ' + by if by else ''}) "
                f"(rate({metric}_bucket{matcher}[{RI}])))")
        out.append(target(expr, f"p{round(float(q) * 100)} {legend}".strip(), ref))
    return out


def ratio(num: str, den: str, by: str) -> str:
    return (f"sum by ({by}) (rate({num}[{RI}]))\n/\n"
            f"sum by ({by}) (rate({den}[{RI}]))")


class Board:
    def __init__(self, uid: str, title: str, description: str, variables: list[str]) -> None:
        self.uid, self.title, self.description = uid, title, description
        self.variables = variables
        self.panels: list[dict[str, Any]] = []
        self._x = self._y = 0
        self._row_h = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append({"id": len(self.panels) + 1, "type": "row", "title": title,
                            "collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y},
                            "panels": []})
        self._y += 1

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_h
            self._x = self._row_h = 0

    def _place(self, w: int, h: int) -> dict[str, int]:
        if self._x + w > 24:
            self._newline()
        pos = {"h": h, "w": w, "x": self._x, "y": self._y}
        self._x += w
        self._row_h = max(self._row_h, h)
        return pos

    def stat(self, title: str, expr: str, unit: str, description: str = "") -> None:
        self.panels.append({
            "id": len(self.panels) + 1, "type": "stat", "title": title,
            "description": description, "datasource": DS, "gridPos": self._place(6, 4),
            "targets": [target(expr, "", "A") | {"instant": True, "range": False}],
            "fieldConfig": {"defaults": {"unit": unit, "decimals": 2,
                                         "color": {"mode": "thresholds"},
                                         "thresholds": {"mode": "absolute", "steps": [
                                             {"color": "green", "value": None}]}},
                            "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "none", "justifyMode": "auto",
                        "orientation": "auto", "textMode": "auto"},
        })

    def series(self, title: str, targets: list[dict[str, Any]], unit: str,
               description: str = "", w: int = 12, stack: bool = False) -> None:
        custom: dict[str, Any] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                  "showPoints": "never", "spanNulls": False}
        if stack:
            custom["stacking"] = {"mode": "normal", "group": "A"}
        self.panels.append({
            "id": len(self.panels) + 1, "type": "timeseries", "title": title,
            "description": description, "datasource": DS, "gridPos": self._place(w, 8),
            "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                   "showLegend": True, "calcs": ["mean", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}},
        })

    def note(self, title: str, markdown: str, w: int = 24, h: int = 5) -> None:
        """A text panel (no query): what a number means, or where a better one lives."""
        self.panels.append({
            "id": len(self.panels) + 1, "type": "text", "title": title,
            "gridPos": self._place(w, h),
            "options": {"mode": "markdown", "content": markdown,
                        "code": {"language": "plaintext", "showLineNumbers": False,
                                 "showMiniMap": False}},
        })

    def json(self) -> dict[str, Any]:
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": ["agent-sidecar", "genai"], "timezone": "browser", "editable": True,
            "graphTooltip": 1, "schemaVersion": SCHEMA_VERSION, "version": 1,
            "refresh": "30s", "time": {"from": "now-1h", "to": "now"},
            "timepicker": {}, "fiscalYearStartMonth": 0, "liveNow": False,
            "weekStart": "", "id": None,
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts", "type": "dashboard"}]},
            "links": [{"type": "dashboards", "tags": ["agent-sidecar"], "asDropdown": True,
                       "title": "agent-sidecar", "includeVars": True, "keepTime": True}],
            "templating": {"list": [VARIABLES[v] for v in ["datasource", *self.variables]]},
            "panels": self.panels,
        }


def _query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "definition": query, "query": {"query": query, "refId": f"{name}-variable"},
            "refresh": 2, "sort": 1, "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [], "regex": "", "hide": 0, "skipUrlSync": False}


VARIABLES: dict[str, dict[str, Any]] = {
    "datasource": {"name": "datasource", "label": "Data source", "type": "datasource",
                   "query": "prometheus", "refresh": 1, "regex": "", "hide": 0,
                   "current": {}, "options": [], "skipUrlSync": False},
    "model": _query_variable("model", "Model",
                             f"label_values({LLM_COUNT}, gen_ai_request_model)"),
    "tool": _query_variable("tool", "Tool", "label_values("
                            "gen_ai_execute_tool_duration_seconds_count, gen_ai_tool_name)"),
    "agent": _query_variable("agent", "Agent",
                             "label_values(agent_sidecar_cost_usd_total, agent)"),
    "instance": _query_variable("instance", "Sidecar",
                                "label_values(agent_sidecar_store_up, instance)"),
    "job": _query_variable("job", "Job", "label_values(agent_sidecar_store_up, job)"),
}


FLEET_NOTE = """\
**Fleet percentiles with the 1% bound are not in Prometheus.** Every sidecar sharing PostgreSQL
publishes its sketches; `GET /v1/stats?scope=fleet&window=5m&group_by=model` on any one of them
(or its console) answers p50..p99.9 of TTFT and duration for the whole fleet within 1%, with the
replicas that contributed and the age of each one's data. Grafana has no data source for that
JSON API here, so the panels beside this note aggregate the GenAI histograms of every sidecar in
Prometheus instead: fleet-wide, but only as exact as the buckets (about 13% off at p90 on
lognormal latencies). With `otlp_metrics` on and a Prometheus that ingests OTLP as native
histograms, `histogram_quantile(0.99, sum(rate(NAME[5m])))` over the native histogram NAME
`gen_ai_client_operation_time_to_first_chunk_seconds` reads the exponential histograms instead
(about 2% at their usual scale of 4).
"""


def overview() -> Board:
    b = Board("agent-sidecar-overview", "Agent sidecar / Overview",
              "LLM calls, errors, time to first token, latency and tokens by model.", ["model"])
    errors = f'{LLM_COUNT}{{{MODEL}, error_type!=""}}'
    b.stat("LLM calls", f"sum(increase({LLM_COUNT}{{{MODEL}}}[$__range]))", "short",
           "LLM calls in the selected time range.")
    b.stat("Error rate", f"sum(increase({errors}[$__range])) / "
           f"sum(increase({LLM_COUNT}{{{MODEL}}}[$__range]))", "percentunit",
           "Share of LLM calls that failed in the selected time range.")
    b.stat("Tokens", f"sum(increase(gen_ai_client_token_usage_sum{{{MODEL}}}[$__range]))",
           "short", "Input and output tokens in the selected time range.")
    b.stat("TTFT p95", "histogram_quantile(0.95, sum by (le) (rate("
           f"gen_ai_client_operation_time_to_first_chunk_seconds_bucket{{{MODEL}}}[$__range])))",
           "s", "Time to first token at p95 over the selected range, all selected models.")
    b.row("Traffic and errors")
    b.series("LLM calls per second by model", [target(
        f"sum by (gen_ai_request_model) (rate({LLM_COUNT}{{{MODEL}}}[{RI}]))",
        "{{gen_ai_request_model}}")], "reqps", stack=True)
    b.series("Error rate by model", [target(
        ratio(errors, f"{LLM_COUNT}{{{MODEL}}}", "gen_ai_request_model"),
        "{{gen_ai_request_model}}")], "percentunit")
    b.series("Errors per second by type", [target(
        f"sum by (error_type) (rate({errors}[{RI}]))", "{{error_type}}")], "reqps",
        stack=True)
    b.series("Agent runs per second by agent", [target(
        "sum by (gen_ai_agent_name) (rate(gen_ai_invoke_agent_duration_seconds_count"
        f"[{RI}]))", "{{gen_ai_agent_name}}")], "reqps", stack=True)
    b.row("Latency")
    b.series("Time to first token p50 / p95 / p99 by model", quantiles(
        "gen_ai_client_operation_time_to_first_chunk_seconds", MODEL, "gen_ai_request_model",
        "{{gen_ai_request_model}}"), "s", "Streaming calls only, measured by the client.")
    b.series("Call duration p50 / p95 / p99 by model", quantiles(
        "gen_ai_client_operation_duration_seconds", MODEL, "gen_ai_request_model",
        "{{gen_ai_request_model}}"), "s")
    b.series("Time per output token p95 by model", [target(
        "histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate("
        f"gen_ai_client_operation_time_per_output_chunk_seconds_bucket{{{MODEL}}}[{RI}])))",
        "{{gen_ai_request_model}}")], "s")
    b.series("Agent run duration p95 by agent", [target(
        "histogram_quantile(0.95, sum by (le, gen_ai_agent_name) (rate("
        f"gen_ai_invoke_agent_duration_seconds_bucket[{RI}])))", "{{gen_ai_agent_name}}")], "s")
    b.row("Fleet")
    b.note("Fleet percentiles", FLEET_NOTE, w=12, h=8)
    b.series("Fleet TTFT p50 / p95 / p99, every sidecar (buckets)", quantiles(
        "gen_ai_client_operation_time_to_first_chunk_seconds", MODEL, "", "fleet"), "s",
        "All sidecars' buckets summed: fleet-wide, bucket-bounded accuracy (see the note).",
        w=12)
    b.stat("Sidecars reporting", "count(count by (instance) (agent_sidecar_store_up))",
           "short", "Sidecars Prometheus scrapes.")
    b.stat("Sidecars publishing fleet sketches", "sum(agent_sidecar_fleet_shared)", "short",
           "Sidecars writing their sketches to the shared PostgreSQL (0 on SQLite).")
    b.row("Tokens")
    b.series("Tokens per second by model and type", [target(
        "sum by (gen_ai_request_model, gen_ai_token_type) (rate("
        f"gen_ai_client_token_usage_sum{{{MODEL}}}[{RI}]))",
        "{{gen_ai_request_model}} {{gen_ai_token_type}}")], "short", w=24, stack=True)
    return b


def cost() -> Board:
    b = Board("agent-sidecar-cost", "Agent sidecar / Cost and budgets",
              "Spend by model and agent, admission denials by reason, budget warnings.",
              ["model", "agent"])
    spend = f"agent_sidecar_cost_usd_total{{{COST}}}"
    b.stat("Spend", f"sum(increase({spend}[$__range]))", "currencyUSD",
           "US dollars spent in the selected time range (price table).")
    b.stat("USD per hour", f"sum(rate({spend}[$__range])) * 3600", "currencyUSD",
           "Average burn rate over the selected range.")
    b.stat("USD per LLM call", f"sum(increase({spend}[$__range])) / "
           f"sum(increase({LLM_COUNT}[$__range]))", "currencyUSD")
    b.stat("Denied admissions", 'sum(increase(agent_sidecar_admit_total{result="denied"}'
           "[$__range]))", "short")
    b.row("Spend")
    b.series("USD per hour by model", [target(
        f"sum by (model) (rate({spend}[{RI}])) * 3600", "{{model}}")], "currencyUSD",
        stack=True)
    b.series("USD per hour by agent", [target(
        f"sum by (agent) (rate({spend}[{RI}])) * 3600", "{{agent}}")], "currencyUSD",
        stack=True)
    b.series("Unpriced calls per second by model", [target(
        f'sum by (model) (rate(agent_sidecar_unpriced_calls_total{{model=~"$model"}}[{RI}]))',
        "{{model}}")], "reqps", "Calls of models missing from the price table: their cost is 0.")
    b.row("Admission and budgets")
    b.series("Admissions per second by kind and result", [target(
        f"sum by (kind, result) (rate(agent_sidecar_admit_total[{RI}]))",
        "{{kind}} {{result}}")], "reqps", stack=True)
    b.series("Denials per second by reason", [target(
        f"sum by (reason) (rate(agent_sidecar_admit_denied_total[{RI}]))", "{{reason}}")],
        "reqps", stack=True)
    b.series("Budget warnings per second by scope", [target(
        f"sum by (scope) (rate(agent_sidecar_budget_warnings_total[{RI}]))", "{{scope}}")],
        "reqps", "Admissions that crossed a budget's warn threshold.")
    b.series("Open budget reservations", [target(
        "sum(agent_sidecar_budget_reservations_open)", "open")], "short")
    b.series("Admission latency p50 / p95 / p99", quantiles(
        "agent_sidecar_admit_duration_seconds", "", "", ""), "s", w=24)
    return b


def tools_and_cache() -> Board:
    b = Board("agent-sidecar-tools-cache", "Agent sidecar / Tools and cache",
              "Tool call rate, failures and latency; semantic cache hits and savings.",
              ["tool"])
    calls = f"gen_ai_execute_tool_duration_seconds_count{{{TOOL}}}"
    lookups = "agent_sidecar_cache_lookups_total"
    hits = f'{lookups}{{result=~"exact|fuzzy"}}'
    b.stat("Cache hit ratio", f"sum(increase({hits}[$__range])) / "
           f"sum(increase({lookups}[$__range]))", "percentunit")
    b.stat("USD saved by the cache",
           "sum(increase(agent_sidecar_cache_saved_usd_total[$__range]))", "currencyUSD")
    b.stat("Tokens saved by the cache",
           "sum(increase(agent_sidecar_cache_saved_tokens_total[$__range]))", "short")
    b.stat("Cache entries", "sum(agent_sidecar_cache_entries)", "short")
    b.row("Tools")
    b.series("Tool calls per second by tool", [target(
        f"sum by (gen_ai_tool_name) (rate({calls}[{RI}]))", "{{gen_ai_tool_name}}")],
        "reqps", stack=True)
    b.series("Tool error rate by tool", [target(ratio(
        f'gen_ai_execute_tool_duration_seconds_count{{{TOOL}, error_type!=""}}', calls,
        "gen_ai_tool_name"), "{{gen_ai_tool_name}}")], "percentunit")
    b.series("Tool duration p95 by tool", [target(
        "histogram_quantile(0.95, sum by (le, gen_ai_tool_name) (rate("
        f"gen_ai_execute_tool_duration_seconds_bucket{{{TOOL}}}[{RI}])))",
        "{{gen_ai_tool_name}}")], "s", w=24)
    b.row("Semantic cache")
    b.series("Cache hit ratio", [target(
        f"sum(rate({hits}[{RI}])) / sum(rate({lookups}[{RI}]))", "hit ratio")],
        "percentunit", "Exact and fuzzy hits over all lookups.")
    b.series("Cache lookups per second by result", [target(
        f"sum by (result) (rate({lookups}[{RI}]))", "{{result}}")], "reqps",
        "rejected_by_guard: a fuzzy candidate a guard refused (numbers, entities, negation).",
        stack=True)
    b.series("USD saved per hour", [target(
        f"sum(rate(agent_sidecar_cache_saved_usd_total[{RI}])) * 3600", "USD/h")],
        "currencyUSD")
    b.series("Evictions per second and entries", [
        target(f"sum(rate(agent_sidecar_cache_evictions_total[{RI}]))", "evictions/s"),
        target("sum(agent_sidecar_cache_entries)", "entries", "B")], "short")
    return b


def safety() -> Board:
    b = Board("agent-sidecar-safety", "Agent sidecar / Safety",
              "PII and secrets redacted before anything leaves the sidecar; prompt-injection "
              "findings.", [])
    b.stat("Redactions", "sum(increase(agent_sidecar_redactions_total[$__range]))", "short")
    b.stat("Injection findings",
           "sum(increase(agent_sidecar_injection_findings_total[$__range]))", "short")
    b.row("Redaction")
    b.series("Redactions per second by type", [target(
        f"sum by (type) (rate(agent_sidecar_redactions_total[{RI}]))", "{{type}}")], "short",
        "EMAIL, PHONE, CREDIT_CARD, API_KEY, ...: values masked at ingest.", w=24, stack=True)
    b.row("Prompt injection")
    b.series("Injection findings per second by family", [target(
        f"sum by (family) (rate(agent_sidecar_injection_findings_total[{RI}]))",
        "{{family}}")], "short", stack=True)
    b.series("Injection findings per second by source", [target(
        f"sum by (source) (rate(agent_sidecar_injection_findings_total[{RI}]))",
        "{{source}}")], "short", "Where the text came from: user input, tool result, ...",
        stack=True)
    return b


def health() -> Board:
    b = Board("agent-sidecar-health", "Agent sidecar / Sidecar health",
              "Ingest, rejects, queue depth, store latency, span export.", ["job", "instance"])
    b.stat("Sidecars up", f'sum(up{{job=~"$job", {INST}}})', "short")
    b.stat("Store up", f"min(agent_sidecar_store_up{{{INST}}})", "bool_yes_no")
    b.stat("Events stored", f"sum(increase(agent_sidecar_events_ingested_total{{{INST}}}"
           "[$__range]))", "short")
    b.stat("Events rejected", f"sum(increase(agent_sidecar_events_rejected_total{{{INST}}}"
           "[$__range]))", "short")
    b.row("Ingest")
    b.series("Events stored per second by sidecar", [target(
        f"sum by (instance) (rate(agent_sidecar_events_ingested_total{{{INST}}}[{RI}]))",
        "{{instance}}")], "short", stack=True)
    b.series("Rejected, duplicate and unknown-field events per second", [
        target(f"sum by (reason) (rate(agent_sidecar_events_rejected_total{{{INST}}}[{RI}]))",
               "rejected {{reason}}"),
        target(f"sum(rate(agent_sidecar_events_duplicate_total{{{INST}}}[{RI}]))",
               "duplicate", "B"),
        target(f"sum(rate(agent_sidecar_events_unknown_fields_total{{{INST}}}[{RI}]))",
               "unknown fields", "C")], "short")
    b.series("Ingest queue depth", [target(
        f"max by (instance) (max_over_time(agent_sidecar_ingest_queue_depth{{{INST}}}"
        "[$__interval]))", "{{instance}}")], "short",
        "Events waiting for the group commit; ingest answers 503 past store.queue_max_events.")
    b.row("Store")
    b.series("Store write duration p50 / p95 / p99", quantiles(
        "agent_sidecar_store_write_duration_seconds", INST, "", ""), "s")
    b.series("Events per store commit p50 / p99", [
        target("histogram_quantile(0.5, sum by (le) (rate("
               f"agent_sidecar_store_batch_events_bucket{{{INST}}}[{RI}])))", "p50"),
        target("histogram_quantile(0.99, sum by (le) (rate("
               f"agent_sidecar_store_batch_events_bucket{{{INST}}}[{RI}])))", "p99", "B")],
        "short")
    b.series("Store up", [target(f"agent_sidecar_store_up{{{INST}}}", "{{instance}}")],
             "bool_yes_no")
    b.row("Fleet sketches")
    b.series("Fleet upserts and failures per second by sidecar", [
        target(f"sum by (instance) (rate(agent_sidecar_fleet_publishes_total{{{INST}}}[{RI}]))",
               "upserts {{instance}}"),
        target("sum by (instance) (rate(agent_sidecar_fleet_publish_failures_total"
               f"{{{INST}}}[{RI}]))", "failures {{instance}}", "B")], "short",
        "One upsert per sidecar per fleet.publish_interval_s (5 s) when the database is "
        "PostgreSQL; failures mean the fleet view is missing this sidecar's latest figures.")
    b.series("Bytes per fleet upsert by sidecar", [target(
        f"max by (instance) (agent_sidecar_fleet_publish_bytes{{{INST}}})", "{{instance}}")],
        "bytes", "About 0.5 kB per series and window, compressed.")
    b.row("Span export")
    b.series("GenAI spans exported and dropped per second", [
        target(f"sum(rate(agent_sidecar_spans_exported_total{{{INST}}}[{RI}]))", "exported"),
        target(f"sum by (reason) (rate(agent_sidecar_spans_dropped_total{{{INST}}}[{RI}]))",
               "dropped {{reason}}", "B")], "short",
        "Drops mean the OTLP collector is slow or down; ingest goes on regardless.")
    return b


def build() -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON model."""
    boards = [overview(), cost(), tools_and_cache(), safety(), health()]
    return {f"{b.uid.removeprefix('agent-sidecar-')}.json": b.json() for b in boards}


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, board in build().items():
        (OUT / name).write_text(render(board), encoding="utf-8")
        print(f"wrote dashboards/{name} ({len(board['panels'])} panels)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
