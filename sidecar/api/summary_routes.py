"""``GET /v1/summary``: this process's own counters as JSON, for the console (all tenants).

The same in-process objects ``/metrics`` reads, so the figures agree with the Prometheus
counters: cache lookups by tier and by namespace, tokens and US dollars saved, guard
rejections by guard; redactions by type; injection findings by family and source; the ingest
writer, the analytics, the span exporter's queue and drops; the budget ledger; and the
configuration with every secret masked (tokens, keys, passwords, the password of any URL).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from sidecar.analytics import Analytics
from sidecar.api.json import json_response
from sidecar.api.params import only_known
from sidecar.api.principals import principal
from sidecar.budgets import BudgetLedger
from sidecar.budgets.denials import DenialLog
from sidecar.cache import SemanticCache
from sidecar.cache.namespace_stats import NamespaceStats
from sidecar.config import Settings, masked
from sidecar.guard import InjectionScorer
from sidecar.ingest import Ingest
from sidecar.redact import Redactor
from sidecar.store import EventWriter

if TYPE_CHECKING:
    from sidecar.telemetry.otlp_export import SpanExporterSink

NOT_HITS = frozenset({"miss", "rejected_by_guard"})


class SummaryParts(Protocol):
    """What the summary reads (the app's components provide it)."""

    settings: Settings
    cache: SemanticCache
    namespaces: NamespaceStats
    redactor: Redactor
    scorer: InjectionScorer
    writer: EventWriter
    ingest: Ingest
    analytics: Analytics
    spans: SpanExporterSink | None
    ledger: BudgetLedger | None
    denials: DenialLog


def summary(parts: SummaryParts, version: str) -> dict[str, Any]:
    """The body of ``GET /v1/summary``."""
    settings = parts.settings
    return {
        "version": version,
        "generated_at": time.time(),
        "cache": _cache(parts),
        "safety": {
            "redaction_enabled": settings.redact.enabled,
            "redactions": parts.redactor.stats(),
            "injection": {
                "enabled": settings.guard.enabled,
                "mode": settings.guard.mode,
                **parts.scorer.stats(),
            },
        },
        "ingest": _ingest(parts.ingest, parts.writer),
        "analytics": {
            "enabled": settings.analytics.enabled,
            "events_consumed": parts.analytics.events_consumed,
            "series_overflowed": parts.analytics.series_overflowed,
        },
        "exporter": {
            "enabled": parts.spans is not None,
            **(parts.spans.stats() if parts.spans is not None else {}),
        },
        "budgets": _budgets(parts),
        "config": masked(settings),
    }


def _ingest(ingest: Ingest, writer: EventWriter) -> dict[str, Any]:
    w = writer.stats
    return {
        "accepted": ingest.stats.accepted,
        "duplicates": ingest.stats.duplicates,
        "sink_failures": ingest.stats.sink_failures,
        "queued_events": w.queued_events,
        "commits": w.commits,
        "rows_written": w.rows_written,
        "write_failures": w.failures,
        "last_commit_s": round(w.last_commit_seconds, 6),
    }


def _cache(parts: SummaryParts) -> dict[str, Any]:
    stats = parts.cache.stats()
    lookups = dict(stats.lookups)
    total = sum(lookups.values())
    tiers = {name: n for name, n in lookups.items() if name not in NOT_HITS}
    hits = sum(tiers.values())
    return {
        "enabled": parts.settings.cache.enabled,
        "lookups": lookups,
        "lookups_total": total,
        "hits": hits,
        "hit_rate": hits / total if total else 0.0,
        "tiers": tiers,
        "guard_rejections": dict(stats.guard_rejections),
        "tokens_saved": stats.tokens_saved,
        "usd_saved": round(stats.usd_saved, 9),
        "entries": stats.entries,
        "bytes": stats.bytes,
        "scopes": stats.scopes,
        "stores": stats.stores,
        "evictions": dict(stats.evictions),
        "namespaces": parts.namespaces.snapshot(),
    }


def _budgets(parts: SummaryParts) -> dict[str, Any]:
    ledger = parts.ledger
    if ledger is None:
        return {"enabled": False, "denials_recorded": parts.denials.total}
    return {
        "enabled": True,
        "policies": len(ledger.policies()),
        "counters": ledger.stats(),
        "status": ledger.status(),
        "denials_recorded": parts.denials.total,
    }


def routes(parts: SummaryParts, *, version: str) -> list[web.RouteDef]:
    async def get_summary(request: web.Request) -> web.Response:
        principal(request).require_all_tenants("/v1/summary")
        only_known(request.query, ())
        return json_response(summary(parts, version))

    return [web.get("/v1/summary", get_summary)]
