"""The OpenAPI 3.1 document of contract v1, served at ``GET /openapi.json``.

Body schemas come from the msgspec structs the routes decode and answer with
(``msgspec.json.schema_components``), so validation and documentation share one source. A test
compares the document's operations with the routes the app registers, and a schemathesis run
against a live sidecar checks every answer against it (no 500, no schema violation).

Long module: the route table of the contract, one entry per operation, with the shared builders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from sidecar import __version__
from sidecar.analytics.distribution import METRICS
from sidecar.api import schemas as s
from sidecar.api.cache_routes import LookupBody, StoreBatchBody, StoreBody
from sidecar.api.redact_routes import RedactBatchBody, RedactBody
from sidecar.api.tool_routes import DecideBody
from sidecar.budgets.admission import AdmitBody
from sidecar.budgets.config import BudgetPolicy, BudgetPolicyEntry
from sidecar.budgets.model import Decision
from sidecar.events.checked import checked
from sidecar.events.schema import LlmCall, Run, ToolCall
from sidecar.redact.engine import RedactionResult
from sidecar.store.filters import GROUP_NAMES
from sidecar.tools.policy import ToolPolicy

REF = "#/components/schemas/{name}"
Schema = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    role: str | None  # None: no token needed (probes)
    ok: tuple[int, Any]
    body: Any = None  # a struct type, or a mapping of media type → schema
    params: list[Schema] = field(default_factory=list)
    errors: tuple[int, ...] = (400, 401, 403, 413, 415, 422, 429, 503)


def _query(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, schema: Schema | None = None) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema or {"type": "string", "minLength": 1, "maxLength": 256},
    }


_TIME = {"type": "string", "description": "unix seconds or ISO 8601"}
_FILTERS = [
    _query("type", "event type", {"type": "string", "enum": ["llm_call", "tool_call", "run"]}),
    _query("user_id", "user id"),
    _query("session_id", "session id"),
    _query("request_id", "request id"),
    _query("tenant", "tenant (a tenant-scoped token sees only its own)"),
    _query("trace_id", "W3C trace id"),
    _query("since", "from (inclusive)", _TIME),
    _query("until", "until (exclusive)", _TIME),
    _query("tool", "tool name (tool calls)"),
    _query("model", "model (LLM calls)"),
    _query("status", "call status", {"type": "string", "enum": ["ok", "error"]}),
    _query("agent", "agent name"),
]
_OTLP_BODY = {
    "application/x-protobuf": {"type": "string", "format": "binary"},
    "application/protobuf": {"type": "string", "format": "binary"},
    "application/json": {"type": "object"},
}
_OTLP_ANSWER = (
    200,
    {
        "application/json": {"type": "object"},
        "application/x-protobuf": {"type": "string", "format": "binary"},
    },
)
_SCOPE = _path("scope", {"type": "string", "enum": ["user", "tenant", "global"]})
_EVENT = {
    "oneOf": [{"$ref": REF.format(name=c.__name__)} for c in (LlmCall, ToolCall, Run)],
    "discriminator": {
        "propertyName": "type",
        "mapping": {
            "llm_call": REF.format(name="LlmCall"),
            "tool_call": REF.format(name="ToolCall"),
            "run": REF.format(name="Run"),
        },
    },
}

_READ_ERRORS = (400, 401, 403, 422, 429, 503)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/health",
        "Health of every part, with database latency",
        None,
        (200, s.HealthAnswer),
        errors=(503,),
    ),
    Operation(
        "get",
        "/ready",
        "Whether this sidecar can take traffic",
        None,
        (200, s.ReadyAnswer),
        errors=(503,),
    ),
    Operation(
        "get",
        "/metrics",
        "Prometheus text format",
        "reader",
        (200, {"text/plain": {"type": "string"}}),
        errors=(401, 403, 429, 503),
    ),
    Operation("get", "/openapi.json", "This document", None, (200, {"type": "object"}), errors=()),
    Operation(
        "post",
        "/v1/events",
        "Send events (202 once durable; ids make retries idempotent)",
        "agent",
        (202, s.Accepted),
        body={
            "application/json": {"oneOf": [_EVENT, {"type": "array", "items": _EVENT}]},
            "application/x-ndjson": {"type": "string"},
        },
    ),
    Operation(
        "get",
        "/v1/events",
        "Stored (redacted) events by ts, newest first (ties by id), paged",
        "reader",
        (200, s.EventsPage),
        params=[
            *_FILTERS,
            _query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 1000}),
            _query("cursor", "next_cursor of the previous page"),
            _query("order", "asc or desc", {"type": "string", "enum": ["asc", "desc"]}),
        ],
    ),
    Operation(
        "get",
        "/v1/aggregate",
        "Counts, errors, tokens and cost, in total and by group",
        "reader",
        (200, s.AggregateAnswer),
        params=[
            *_FILTERS,
            _query("group_by", "model, tool, user, agent, provider, tenant, type or session"),
        ],
    ),
    Operation(
        "get",
        "/v1/stats",
        "Percentiles over a sliding window (all tenants), of this "
        "sidecar or of every replica sharing PostgreSQL",
        "reader",
        (200, s.StatsAnswer),
        params=[
            _query(
                "window",
                "1m, 5m, 1h, all, or a multiple of 10 s / 1 min; with "
                "scope=fleet one of fleet.windows (1m, 5m, 1h by default)",
            ),
            _query("group_by", "comma-separated: model, provider, agent, tool, operation, status"),
            _query(
                "scope",
                "local (this sidecar, the default) or fleet (every replica)",
                {"type": "string", "enum": ["local", "fleet"]},
            ),
        ],
    ),
    Operation(
        "post",
        "/v1/traces",
        "OTLP/HTTP GenAI spans, turned into events",
        "agent",
        _OTLP_ANSWER,
        body=_OTLP_BODY,
    ),
    Operation(
        "post",
        "/v1/metrics",
        "OTLP/HTTP metrics: answered, counted, not ingested",
        "agent",
        _OTLP_ANSWER,
        body=_OTLP_BODY,
    ),
    Operation(
        "post",
        "/v1/logs",
        "OTLP/HTTP logs: answered, counted, not ingested",
        "agent",
        _OTLP_ANSWER,
        body=_OTLP_BODY,
    ),
    Operation(
        "post",
        "/v1/admit",
        "May this step run? Reserves its estimate on every budget",
        "agent",
        (200, Decision),
        body=AdmitBody,
    ),
    Operation(
        "get", "/v1/budgets", "Budget policies (a tenant sees its own)", "reader", (200, s.Policies)
    ),
    Operation(
        "get",
        "/v1/budgets/consistency",
        "Every counter of the current windows recomputed from its records (all tenants)",
        "admin",
        (200, "ConsistencyReport"),
        errors=(400, 401, 403, 429, 503),
    ),
    Operation(
        "post",
        "/v1/budgets/settle",
        "Settle a reservation with the actual usage",
        "agent",
        (200, s.Settled),
        body="SettleBody",
        errors=(400, 401, 403, 404, 413, 415, 422, 429, 503),
    ),
    Operation(
        "put",
        "/v1/budgets/{scope}/{id}",
        "Set a budget policy",
        "admin",
        (200, BudgetPolicyEntry),
        body=BudgetPolicy,
        params=[_SCOPE, _path("id")],
    ),
    Operation(
        "delete",
        "/v1/budgets/{scope}/{id}",
        "Remove a budget policy",
        "admin",
        (200, s.Deleted),
        params=[_SCOPE, _path("id"), _query("model", "model")],
        errors=(400, 401, 403, 404, 422, 429, 503),
    ),
    Operation(
        "get",
        "/v1/usage/{scope}/{id}",
        "Usage of a budget in its current window",
        "reader",
        (200, "Usage"),
        params=[_SCOPE, _path("id"), _query("model", "model")],
        errors=(400, 401, 403, 404, 422, 429, 503),
    ),
    Operation(
        "post",
        "/v1/cache/store",
        "Store an answer in a cache scope",
        "agent",
        (200, s.Stored),
        body=StoreBody,
    ),
    Operation(
        "post",
        "/v1/cache/store/batch",
        "Store up to 1,000 answers in one request",
        "agent",
        (200, s.StoredBatch),
        body=StoreBatchBody,
    ),
    Operation(
        "post",
        "/v1/cache/lookup",
        "Look an answer up (exact, then guarded fuzzy, then guarded semantic)",
        "agent",
        (200, s.LookupAnswer),
        body=LookupBody,
    ),
    Operation(
        "delete",
        "/v1/cache/{namespace}",
        "Invalidate a key, a scope or a namespace",
        "agent",
        (200, s.Removed),
        params=[
            _path("namespace"),
            _query("tenant", "tenant"),
            _query("user_id", "user"),
            _query("model", "model"),
            _query("key", "text key"),
            _query("key_json", "JSON key"),
            _query(
                "all_users",
                "every user's entries of the namespace",
                {"type": "string", "enum": ["true", "false"]},
            ),
        ],
        errors=(400, 401, 403, 422, 429, 503),
    ),
    Operation(
        "post",
        "/v1/redact",
        "Mask PII and secrets in a text (`text`), or in a batch "
        "of texts (`texts`, at most 1,000 and 1 Mi characters in all)",
        "agent",
        (
            200,
            {
                "oneOf": [
                    {"$ref": REF.format(name="RedactionResult")},
                    {"$ref": REF.format(name="RedactBatchAnswer")},
                ]
            },
        ),
        body={
            "application/json": {
                "oneOf": [
                    {"$ref": REF.format(name="RedactBody")},
                    {"$ref": REF.format(name="RedactBatchBody")},
                ]
            }
        },
    ),
    Operation(
        "get",
        "/v1/runs",
        "Recent runs (the events of one request id), newest first, paged",
        "reader",
        (200, s.RunsPage),
        params=[
            _query("user_id", "user id"),
            _query("session_id", "session id"),
            _query("tenant", "tenant (a tenant-scoped token sees only its own)"),
            _query("since", "runs with an event from (inclusive)", _TIME),
            _query("until", "runs with an event until (exclusive)", _TIME),
            _query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 200}),
            _query("cursor", "next_cursor of the previous page"),
        ],
        errors=_READ_ERRORS,
    ),
    Operation(
        "get",
        "/v1/runs/{request_id}",
        "One run: its figures and its events in start order (a timeline)",
        "reader",
        (200, s.RunTimeline),
        params=[_path("request_id"), _query("tenant", "tenant of the run")],
        errors=(*_READ_ERRORS, 404, 409),
    ),
    Operation(
        "get",
        "/v1/series",
        "Count, errors, tokens and cost per time bucket, in total and per group",
        "reader",
        (200, s.SeriesAnswer),
        params=[
            _query("since", "from (inclusive; default 24 h before until)", _TIME),
            _query("until", "until (exclusive; default now)", _TIME),
            _query(
                "bucket",
                "bucket size (default 1h; at most 1,000 buckets)",
                {"type": "string", "pattern": "^[1-9][0-9]{0,6}(s|m|h|d)$"},
            ),
            _query(
                "group_by",
                "one of model, tool, user, agent, provider, tenant, type",
                {"type": "string", "enum": list(GROUP_NAMES)},
            ),
            _query(
                "top",
                "groups with their own series (by cost; the rest is _other)",
                {"type": "integer", "minimum": 1, "maximum": 50},
            ),
            _FILTERS[0],
            _FILTERS[1],
            _FILTERS[4],
        ],
        errors=_READ_ERRORS,
    ),
    Operation(
        "get",
        "/v1/stats/distribution",
        "Latency quantile curves (1 % to 99.9 %) per series over a sliding window (all tenants)",
        "reader",
        (200, s.DistributionAnswer),
        params=[
            _query("window", "1m, 5m, 1h, all, or a multiple of 10 s / 1 min"),
            _query("group_by", "comma-separated: model, provider, agent, tool, operation, status"),
            _query("metric", "the measure", {"type": "string", "enum": list(METRICS)}),
        ],
        errors=_READ_ERRORS,
    ),
    Operation(
        "get",
        "/v1/budgets/denials",
        "Recent admission denials of this process, newest first",
        "reader",
        (200, s.Denials),
        params=[
            _query("limit", "how many", {"type": "integer", "minimum": 1, "maximum": 500}),
            _query("tenant", "tenant (a tenant-scoped token sees only its own)"),
        ],
        errors=_READ_ERRORS,
    ),
    Operation(
        "get",
        "/v1/summary",
        "This process's counters: cache by tier and namespace, "
        "redactions, injection findings, ingest, exporter, budgets, masked configuration "
        "(all tenants)",
        "reader",
        (200, s.SummaryAnswer),
        errors=_READ_ERRORS,
    ),
    Operation(
        "get",
        "/v1/tool-policies",
        "Tool policies (a tenant sees its own)",
        "reader",
        (200, s.ToolPolicies),
        errors=_READ_ERRORS,
    ),
    Operation(
        "put",
        "/v1/tool-policies/{tenant}/{agent}",
        "Set the tool policy of a tenant and agent (* for any); binds every replica at once",
        "admin",
        (200, s.ToolPolicyAnswer),
        body=ToolPolicy,
        params=[_path("tenant"), _path("agent")],
    ),
    Operation(
        "get",
        "/v1/tool-policies/{tenant}/{agent}",
        "The tool policy under this key",
        "reader",
        (200, s.ToolPolicyAnswer),
        params=[_path("tenant"), _path("agent")],
        errors=(*_READ_ERRORS, 404),
    ),
    Operation(
        "delete",
        "/v1/tool-policies/{tenant}/{agent}",
        "Remove a stored tool policy",
        "admin",
        (200, s.Deleted),
        params=[_path("tenant"), _path("agent")],
        errors=(401, 403, 404, 422, 429, 503),
    ),
    Operation(
        "get",
        "/v1/approvals",
        "Pending tool-call approvals, oldest first (a tenant sees its own)",
        "approver",
        (200, s.Approvals),
        errors=_READ_ERRORS,
    ),
    Operation(
        "get",
        "/v1/approvals/{id}",
        "One approval; with wait, once decided or after wait seconds (the agent or an approver)",
        "agent",
        (200, s.ApprovalAnswer),
        params=[
            _path("id"),
            _query(
                "wait",
                "seconds to wait while pending",
                {"type": "number", "minimum": 0, "maximum": 60},
            ),
        ],
        errors=(*_READ_ERRORS, 404),
    ),
    Operation(
        "post",
        "/v1/approvals/{id}",
        "Approve or deny a pending tool call",
        "approver",
        (200, s.ApprovalAnswer),
        body=DecideBody,
        params=[_path("id")],
        errors=(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
    ),
    Operation("get", "/", "Redirect to the console", None, (302, None), errors=()),
    Operation("get", "/ui", "Redirect to the console", None, (302, None), errors=()),
    Operation(
        "get",
        "/ui/",
        "The console (HTML; its data comes from the /v1 API)",
        None,
        (200, {"text/html": {"type": "string"}}),
        errors=(304,),
    ),
    Operation(
        "get",
        "/ui/{path}",
        "A file of the console (script, style sheet, icon)",
        None,
        (
            200,
            {
                "text/javascript": {"type": "string"},
                "text/css": {"type": "string"},
                "image/svg+xml": {"type": "string"},
            },
        ),
        params=[_path("path", {"type": "string", "minLength": 1})],
        errors=(304, 404),
    ),
)


def _structs() -> list[Any]:
    from sidecar.api.budget_routes import SettleBody
    from sidecar.budgets.consistency import ConsistencyReport
    from sidecar.budgets.model import Usage

    named = {"SettleBody": SettleBody, "Usage": Usage, "ConsistencyReport": ConsistencyReport}
    types: list[Any] = [
        *(checked(event_type) for event_type in (LlmCall, ToolCall, Run)),
        s.ErrorBody,
        RedactionResult,
        s.RedactBatchAnswer,
        RedactBody,
        RedactBatchBody,
        *named.values(),
    ]
    for op in OPERATIONS:
        for part in (op.body, op.ok[1]):
            if isinstance(part, type) and issubclass(part, msgspec.Struct):
                types.append(part)
    return types


def _content(part: Any) -> Schema:
    if isinstance(part, str):
        return {"application/json": {"schema": {"$ref": REF.format(name=part)}}}
    if isinstance(part, type):
        return {"application/json": {"schema": {"$ref": REF.format(name=part.__name__)}}}
    if any("/" in key for key in part):
        return {media: {"schema": schema} for media, schema in part.items()}
    return {"application/json": {"schema": part}}


_REASONS = {
    200: "OK",
    202: "Accepted (durable)",
    302: "Found: see Location",
    304: "Not modified (ETag)",
    400: "Malformed body or unknown query parameter",
    401: "Missing or wrong bearer token",
    403: "Role or tenant does not allow it",
    404: "Not found",
    409: "Ambiguous (name the tenant), or already decided",
    413: "Body too large",
    415: "Wrong Content-Type",
    422: "Breaks the schema",
    429: "Denied by a budget, a limit or the rate limit (Retry-After)",
    503: "Store unavailable, overloaded or timed out (Retry-After)",
}


def _operation(op: Operation) -> Schema:
    responses: Schema = {str(op.ok[0]): {"description": _REASONS[op.ok[0]]}}
    if op.ok[1] is not None:
        responses[str(op.ok[0])]["content"] = _content(op.ok[1])
    for status in op.errors:
        if status == 304:
            responses["304"] = {"description": _REASONS[304]}
            continue
        content = _content(s.ErrorBody)
        if status in (403, 429) and op.path == "/v1/admit":
            content = _content(Decision)
            content["application/json"]["schema"] = {
                "oneOf": [
                    {"$ref": REF.format(name="Decision")},
                    {"$ref": REF.format(name="ErrorBody")},
                ]
            }
        responses[str(status)] = {"description": _REASONS[status], "content": content}
    out: Schema = {"summary": op.summary, "operationId": _operation_id(op), "responses": responses}
    if op.params:
        out["parameters"] = op.params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": _content(op.body)}
    if op.role is None:
        out["security"] = []
    else:
        out["x-role"] = op.role
    return out


def _operation_id(op: Operation) -> str:
    words = [w.strip("{}") for w in op.path.strip("/").replace(".", "_").split("/") if w]
    suffix = ["index"] if op.path.endswith("/") and op.path != "/" else []
    return "_".join([op.method, *(words or ["root"]), *suffix]).replace("-", "_")


def build_document() -> Schema:
    """The whole OpenAPI 3.1 document (pure data; no app needed)."""
    _, components = msgspec.json.schema_components(_structs(), ref_template=REF)
    paths: dict[str, Schema] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agent-sidecar",
            "version": __version__,
            "description": "Observability and cost governance for LLM agent services "
            "(contract v1). Roles: agent, reader, admin (x-role).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
