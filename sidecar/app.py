"""The composition root: builds every part from the settings and wires them together.

Parts never import each other sideways; this module is the one place that knows them all.
Ingest order: transforms (pricing, trace ids) run before the store; sinks (analytics,
Prometheus, budget settling, span export) after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from time import time as time_time
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web
from prometheus_client import CollectorRegistry

from sidecar import __version__
from sidecar.analytics import Analytics
from sidecar.analytics.fleet import Fleet
from sidecar.api import (
    budget_routes,
    cache_routes,
    denials_routes,
    distribution_routes,
    events_routes,
    health_routes,
    openapi_routes,
    redact_routes,
    runs_routes,
    series_routes,
    stats_routes,
    summary_routes,
    traces_routes,
    ui_routes,
)
from sidecar.api.errors import unmasked
from sidecar.api.input_rules import input_middleware
from sidecar.api.lazy_tools import LazyTools, import_on_thread
from sidecar.api.middlewares import (
    ProtectionStats,
    auth_middleware,
    error_middleware,
    protection_middleware,
)
from sidecar.api.principals import TokenRegistry
from sidecar.api.tenancy import BudgetUsers, limit_key
from sidecar.budgets import Admission, BudgetLedger, BudgetSettler, create_ledger
from sidecar.budgets.config import masked_policies
from sidecar.budgets.denials import DenialLog, RecordingAdmission
from sidecar.budgets.ladder import Ladder
from sidecar.budgets.testclock import ENV as TEST_CLOCK_ENV
from sidecar.budgets.testclock import ledger_clock
from sidecar.cache import SemanticCache
from sidecar.cache.namespace_stats import NamespaceStats
from sidecar.cache.upkeep import CacheUpkeep
from sidecar.config import ConfigError, Settings, is_loopback
from sidecar.events.schema import Event, Run
from sidecar.guard import EventInjectionTagger, InjectionScorer
from sidecar.ingest import DropContent, EventTransform, Ingest
from sidecar.lifecycle import InBackground, OnStart, Stages
from sidecar.limits import RequestLimiter
from sidecar.pricing import EventPricer, PriceTable
from sidecar.redact import EventRedactor, IdentifierMasker, Redactor
from sidecar.store.event_store import EventStore, open_event_store
from sidecar.store.fleet import open_fleet_store
from sidecar.store.retention import Retention
from sidecar.store.urls import parse_database_url
from sidecar.store.writer import EventWriter
from sidecar.telemetry.admit_metrics import AdmitMetrics
from sidecar.telemetry.prometheus import PrometheusMetrics
from sidecar.telemetry.span_ids import TraceIdTransform
from sidecar.telemetry.stats_collector import StatsCollector
from sidecar.telemetry.tool_metrics import register_ladder_metrics

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from sidecar.telemetry.otlp_export import SpanExporterSink
    from sidecar.telemetry.otlp_metrics import OtlpMetricsSink
    from sidecar.tools import ToolGate

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Components:
    """Everything the app factory built, for the routes, the CLI and the tests."""

    settings: Settings
    registry: CollectorRegistry
    store: EventStore
    writer: EventWriter
    ingest: Ingest
    metrics: PrometheusMetrics
    analytics: Analytics
    component_stats: StatsCollector
    prices: PriceTable
    limiter: RequestLimiter
    ledger: BudgetLedger | None
    admission: Admission
    retention: Retention
    redactor: Redactor
    scorer: InjectionScorer
    cache: SemanticCache
    fleet: Fleet
    settler: BudgetSettler | None = None
    admit_metrics: AdmitMetrics | None = None
    spans: SpanExporterSink | None = None
    metrics_export: OtlpMetricsSink | None = None  # its module is imported only when on
    denials: DenialLog = field(default_factory=DenialLog)
    namespaces: NamespaceStats = field(default_factory=NamespaceStats)
    # An identifier as stored (PII → keyed pseudonym): ids in paths, queries, admits, cache
    # scopes and budget policies are mapped with it on the way in.
    mask_id: Callable[[str | None], str | None] = field(default=lambda value: value)
    tools: LazyTools | None = None  # the gate is built at its first use
    stages: Stages = field(default_factory=Stages)  # every part with a task, in start order

    @property
    def engine(self) -> AsyncEngine:
        """The events database's SQLAlchemy engine (created, and SQLAlchemy imported, now)."""
        return self.store.engine


COMPONENTS = web.AppKey("components", Components)


class _EndRequestLimits:
    """Sink: a finished run frees its per-request limit state at once (not after the TTL)."""

    def __init__(self, limiter: RequestLimiter) -> None:
        self._limiter = limiter

    async def consume(self, events: Sequence[Event]) -> None:
        for event in events:
            if type(event) is Run and event.status is not None:
                self._limiter.end(limit_key(event.tenant, event.request_id))


def build_components(settings: Settings) -> Components:
    registry = CollectorRegistry()
    analytics = Analytics(settings.analytics)
    metrics = PrometheusMetrics(registry, settings.metrics, analytics)
    store = open_event_store(settings.db_url, settings.store,
                             sql_echo=settings.logging.sql_echo, on_commit=metrics.store_write)
    writer = store.writer
    metrics.watch_ingest_queue_depth(lambda: writer.stats.queued_events)
    prices = PriceTable.load(settings.pricing.file, settings.pricing.default)
    pricer = EventPricer(prices, settings.pricing.trust_client_cost)
    limiter = RequestLimiter(settings.limits)
    ledger = (
        create_ledger(settings.budgets, settings.db_url, _ledger_clock(settings), prices)
        if settings.budgets.enabled else None
    )  # fmt: skip
    redactor = Redactor(settings.redact)
    scorer = InjectionScorer(settings.guard)
    ingest = Ingest(
        writer,
        transforms=[*_privacy_transforms(settings, redactor, scorer), pricer, TraceIdTransform()],
        sinks=[analytics, metrics] if settings.analytics.enabled else [metrics],
    )
    ingest.add_sink(_EndRequestLimits(limiter))
    denials = DenialLog()
    parts = Components(
        settings=settings, registry=registry, store=store, writer=writer,
        ingest=ingest, metrics=metrics, analytics=analytics,
        component_stats=StatsCollector(registry), prices=prices, limiter=limiter, ledger=ledger,
        admission=RecordingAdmission(ledger, limiter, prices,
                                     settings.budgets.default_max_output_tokens, scorer,
                                     denials=denials),
        retention=Retention(lambda: store.engine, settings.store.retention),
        redactor=redactor, scorer=scorer, cache=_open_cache(settings),
        fleet=Fleet(analytics, settings.fleet, open_fleet_store(store, settings.fleet.enabled)),
        denials=denials,
    )
    if settings.redact.enabled:
        parts.mask_id = IdentifierMasker(redactor)
    parts.admit_metrics = AdmitMetrics(registry)
    _add_budget_settling(parts)
    _add_fleet_publishing(parts)
    _add_pricing_metrics(parts, pricer)
    _add_safety_metrics(parts)
    _add_cache_upkeep(parts)
    _add_span_export(parts)
    _add_metrics_export(parts)
    _add_tool_policy(parts)
    _add_stages(parts)
    return parts


def _add_stages(parts: Components) -> None:
    """Started in this order, closed in reverse: the loops and the writer first, then the
    ledger's journal and the cache, then the exporters (a hung collector costs only their
    deadline), the engine last."""
    stages = parts.stages
    stages.add("store", parts.store)
    stages.add("setup", OnStart(lambda: _setup(parts)))
    if parts.spans is not None:
        stages.add("span export", parts.spans, deadline_s=1.0)
    if parts.metrics_export is not None:
        stages.add("metrics export", parts.metrics_export, deadline_s=1.0)
    stages.add("cache", CacheUpkeep(parts.cache, parts.settings.cache.flush_interval_s))
    if parts.ledger is not None:
        stages.add("ledger", parts.ledger)
    stages.add("writer", parts.writer)
    stages.add("store up", OnStart(lambda: _store_up(parts)))
    if parts.settler is not None:
        stages.add("settle retry", parts.settler)
    stages.add("retention", parts.retention)
    stages.add("fleet", parts.fleet)
    stages.add("warm-up", InBackground(_warm_up(parts)))


async def _setup(parts: Components) -> None:
    if parts.settings.redact.enabled and not parts.redactor.has_configured_key:
        # One pseudonym per id across restarts and replicas sharing the database.
        key = await parts.store.secret("redact.hash_key")
        parts.redactor.use_key(key.encode())
    if parts.ledger is not None and parts.settings.redact.enabled:
        parts.ledger.use_config_policies(
            masked_policies(parts.settings.budgets.policies, parts.mask_id)
        )


async def _store_up(parts: Components) -> None:
    parts.metrics.set_store_up(True)


def _as_is(value: Any) -> Any:
    return value


def _add_tool_policy(parts: Components) -> None:
    """Tool admits ask the tool policy; budgets with a ladder degrade before they deny."""
    settings = parts.settings
    if parts.ledger is not None:
        ladder = Ladder(parts.ledger, parts.prices, settings.budgets.cheaper_models)
        parts.admission.ladder = ladder
        register_ladder_metrics(parts.component_stats, ladder)
    if not settings.tools.enabled:
        return
    redact = parts.redactor.redact_value if settings.redact.enabled else _as_is
    clock = _ledger_clock(settings)

    async def build() -> tuple[ToolGate, Any]:
        engine = await parts.store.reader()
        factory = await import_on_thread("sidecar.tools.factory")
        await import_on_thread("sidecar.api.tool_routes")
        gate, audit = factory.create_gate(settings.tools, engine, parts.ingest.ingest, clock,
                                          redact)  # fmt: skip
        await gate.start()
        return gate, audit

    parts.tools = LazyTools(build, parts.component_stats)
    parts.admission.tools = parts.tools


def _warm_up(parts: Components) -> Callable[[], Awaitable[None]]:
    """After the start, compile (or load from the disk cache) the redactor's and the guard's
    pattern databases on a worker thread: ``/ready`` does not wait for them, and the first
    event rarely does (one arriving before they are ready compiles them itself)."""
    settings = parts.settings

    def warm() -> None:
        if settings.redact.enabled:
            parts.redactor.warm()
        if settings.guard.enabled:
            parts.scorer.warm()

    async def warm_up() -> None:
        await asyncio.to_thread(warm)

    return warm_up


def _ledger_clock(settings: Settings) -> Callable[[], float]:
    clock = ledger_clock()
    if clock is not time_time and not is_loopback(settings.host):
        raise ConfigError(f"{TEST_CLOCK_ENV} is for tests only: refusing a non-loopback bind")
    return clock


def budget_users(settings: Settings, mask_id: Callable[[str], str | None]) -> BudgetUsers:
    """User budget ids of tenants with tenant-scoped tokens are namespaced by the tenant."""
    return BudgetUsers((t.tenant for t in settings.auth.tokens if t.tenant), mask_id)


def _add_budget_settling(parts: Components) -> None:
    """Every stored llm_call event (a resent one too) is charged once: through the reservation
    it names, or directly to the budgets that apply."""
    ledger = parts.ledger
    if ledger is None:
        return
    parts.settler = settler = BudgetSettler(
        ledger, user_key=budget_users(parts.settings, parts.mask_id),
        resolve_model=parts.prices.resolve,
        retry_interval_s=parts.settings.budgets.housekeeping_interval_s,
    )
    parts.ingest.set_charger(settler)
    stats = parts.component_stats
    stats.gauge("agent_sidecar_budget_reservations_open", "Reservations not yet settled.",
                lambda: ledger.stats().get("open_reservations", 0))
    stats.counter("agent_sidecar_budget_reservations_expired",
                  "Reservations released unsettled after their TTL.",
                  lambda: ledger.stats().get("expired", 0))
    stats.counter("agent_sidecar_budget_settles", "Reservations settled with actual usage.",
                  lambda: ledger.stats().get("settles", 0))
    stats.counter("agent_sidecar_budget_store_errors", "Ledger store operations that failed.",
                  lambda: ledger.stats().get("store_errors", 0))


def _add_fleet_publishing(parts: Components) -> None:
    """With a shared PostgreSQL, this replica's window sketches go there every interval (the
    counters exist either way, so dashboards read 0 rather than nothing on SQLite)."""
    fleet = parts.fleet
    stats = parts.component_stats
    stats.gauge("agent_sidecar_fleet_shared",
                "1 when this sidecar publishes its sketches to the shared database.",
                lambda: 1 if fleet.shared else 0)
    stats.counter("agent_sidecar_fleet_publishes", "Window sketches upserted to the fleet table.",
                  lambda: fleet.counters.publishes)
    stats.counter("agent_sidecar_fleet_publish_failures",
                  "Fleet upserts that failed (retried the next interval).",
                  lambda: fleet.counters.publish_failures)
    stats.gauge("agent_sidecar_fleet_publish_bytes", "Bytes of sketches in the last fleet upsert.",
                lambda: fleet.counters.last_publish_bytes)


def _privacy_transforms(
    settings: Settings, redactor: Redactor, scorer: InjectionScorer
) -> list[EventTransform]:
    """Injection scoring sees the raw content; then content is dropped unless captured; then
    the redactor masks everything left. Nothing after these (store, sinks, exporters, logs)
    sees raw PII."""
    transforms: list[EventTransform] = []
    if settings.guard.enabled:
        transforms.append(EventInjectionTagger(scorer))
    if not settings.capture_content:
        transforms.append(DropContent())
    if settings.redact.enabled:
        transforms.append(EventRedactor(redactor))
    return transforms


def _open_cache(settings: Settings) -> SemanticCache:
    """The cache persists beside the events: in the SQLite file, or in PostgreSQL."""
    config = settings.cache
    url = parse_database_url(settings.db_url, check_driver=False)
    if config.persistence_path is None and (path := url.sqlite_path):
        config = msgspec.structs.replace(config, persistence_path=path)
    if config.persistence_path is None and url.backend == "postgresql":
        from sidecar.budgets.postgres import asyncpg_dsn
        from sidecar.cache.pg_persistence import PostgresCachePersistence

        persistence = PostgresCachePersistence(asyncpg_dsn(url.url))
        return SemanticCache.open_with(config, persistence, load=False)  # loaded at startup
    return SemanticCache.open(config)


def _add_cache_upkeep(parts: Components) -> None:
    cache = parts.cache
    stats = parts.component_stats
    stats.counter("agent_sidecar_cache_lookups", "Cache lookups by result.",
                  lambda: cache.stats().lookups, labels=("result",))
    stats.counter("agent_sidecar_cache_guard_rejections",
                  "Fuzzy candidates turned away, by the guard that refused them.",
                  lambda: cache.stats().guard_rejections, labels=("guard",))
    stats.counter("agent_sidecar_cache_evictions", "Cache entries removed, by reason.",
                  lambda: cache.stats().evictions, labels=("reason",))
    stats.gauge("agent_sidecar_cache_entries", "Entries in the cache.",
                lambda: cache.stats().entries)
    stats.gauge("agent_sidecar_cache_size_bytes", "Approximate bytes held by the cache.",
                lambda: cache.stats().bytes)
    stats.counter("agent_sidecar_cache_saved_usd",
                  "US dollars of model calls replaced by cache hits.",
                  lambda: cache.stats().usd_saved)
    stats.counter("agent_sidecar_cache_saved_tokens", "Tokens of model calls replaced by hits.",
                  lambda: cache.stats().tokens_saved)
    stats.gauge("agent_sidecar_cache_scopes", "Scopes in the cache (bounded by max_scopes).",
                lambda: cache.stats().scopes)
    stats.counter("agent_sidecar_cache_rejected_keys", "Cache keys refused as too large.",
                  lambda: cache.stats().rejected_keys)
    stats.gauge("agent_sidecar_cache_semantic_pending", "Stores waiting for their embedding.",
                lambda: cache.stats().semantic_pending)
    stats.counter("agent_sidecar_cache_semantic_dropped",
                  "Stores left lexical only because the embedding queue was full.",
                  lambda: cache.stats().semantic_dropped)


def _add_safety_metrics(parts: Components) -> None:
    redactor, scorer = parts.redactor, parts.scorer
    stats = parts.component_stats
    stats.counter("agent_sidecar_redactions", "PII and secrets masked, by type.",
                  redactor.stats, labels=("type",))

    def findings() -> dict[tuple[str, ...], float]:
        snapshot = scorer.stats()
        return {(family, source): n for source in ("user", "tool_result")
                for family, n in snapshot.get(source, {}).items()}

    stats.counter("agent_sidecar_injection_findings",
                  "Prompt-injection pattern findings, by family and source.",
                  findings, labels=("family", "source"))
    stats.counter("agent_sidecar_injection_flagged",
                  "Texts whose injection score reached the threshold, by source.",
                  lambda: scorer.stats().get("flagged", {}), labels=("source",))


def _add_pricing_metrics(parts: Components, pricer: EventPricer) -> None:
    parts.component_stats.counter(
        "agent_sidecar_unpriced_calls",
        "LLM calls of a model missing from the price table (charged the default price).",
        lambda: pricer.unpriced,
    )


def _add_span_export(parts: Components) -> None:
    """GenAI spans over OTLP (when enabled): built from stored, already redacted events."""
    settings = parts.settings
    if not settings.traces.export_enabled():
        return
    config = msgspec.structs.replace(settings.traces, capture_content=settings.capture_content)
    from sidecar.telemetry.otlp_export import SpanExporterSink

    parts.spans = spans = SpanExporterSink.from_config(config)
    parts.ingest.add_sink(spans)
    stats = parts.component_stats
    stats.counter("agent_sidecar_spans_exported", "GenAI spans the OTLP collector accepted.",
                  lambda: spans.stats()["exported"])
    stats.counter("agent_sidecar_spans_dropped", "GenAI spans dropped, by reason.",
                  lambda: {"queue_full": spans.stats()["dropped_queue_full"],
                           "export_failed": spans.stats()["export_failed"]},
                  labels=("reason",))
    stats.gauge("agent_sidecar_spans_queued", "GenAI spans waiting for export.",
                lambda: spans.stats()["queued"])


def _add_metrics_export(parts: Components) -> None:
    """GenAI metrics over OTLP as exponential histograms (off by default). The sink and the
    OTLP metric exporter are imported only here, when enabled, to keep start-up lean."""
    settings = parts.settings
    if not settings.otlp_metrics.export_enabled():
        return
    from sidecar.telemetry.otlp_metrics import OtlpMetricsSink, metrics_resource

    admit = parts.admit_metrics
    parts.metrics_export = sink = OtlpMetricsSink(
        settings.otlp_metrics,
        metrics_resource(settings.traces, parts.fleet.replica_id),
        settings.metrics,
        admit_counters=(admit.decisions, admit.denied) if admit is not None else None,
    )
    parts.ingest.add_sink(sink)
    parts.component_stats.counter(
        "agent_sidecar_otlp_metrics_dropped",
        "Events not recorded in the OTLP metrics because their queue was full.",
        lambda: sink.stats()["dropped_queue_full"])


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application for ``settings``; starting it opens the store.

    Serve it with :func:`sidecar.server.start_runner`, which applies the connection limits."""
    parts = build_components(settings)
    tokens = TokenRegistry.from_config(settings.api_token, settings.auth.tokens)
    protection = ProtectionStats()
    _add_protection_metrics(parts, protection)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            error_middleware(
                parts.redactor.redact_text if settings.redact.enabled else unmasked,
                parts.redactor.pseudonym,
            ),
            auth_middleware(tokens, metrics_public=settings.metrics_public),
            input_middleware(),
            protection_middleware(settings.protection, protection),
        ],
    )
    app[COMPONENTS] = parts
    app.add_routes(health_routes.routes(_health_checks(parts), parts.registry,
                                        version=__version__))
    mask_id = parts.mask_id
    app.add_routes(events_routes.routes(parts.ingest, parts.store, parts.metrics,
                                        settings.max_body_bytes, mask_id))
    app.add_routes(stats_routes.routes(parts.analytics, parts.fleet))
    app.add_routes(traces_routes.routes(parts.ingest, parts.metrics, settings.max_body_bytes))
    users = budget_users(settings, mask_id)
    assert parts.admit_metrics is not None
    app.add_routes(budget_routes.admit_routes(parts.admission, parts.admit_metrics,
                                              mask_id, users))
    if parts.ledger is not None:
        app.add_routes(budget_routes.routes(parts.ledger, mask_id, users))
        app.add_routes(denials_routes.routes(parts.denials))
    app.add_routes(cache_routes.routes(
        parts.cache, _pii_probe(parts.redactor), mask_id, parts.namespaces,
        _key_masker(parts.redactor) if settings.redact.enabled else _same_key,
    ))  # fmt: skip
    app.add_routes(redact_routes.routes(parts.redactor))
    app.add_routes(runs_routes.routes(parts.store, mask_id))
    app.add_routes(series_routes.routes(parts.store, mask_id))
    app.add_routes(distribution_routes.routes(parts.analytics))
    app.add_routes(summary_routes.routes(parts, version=__version__))
    if parts.tools is not None:

        def tool_route_defs(gate: ToolGate) -> list[web.RouteDef]:
            from sidecar.api import tool_routes  # imported by the gate's build

            return tool_routes.routes(
                gate.store, gate.approvals, wait_max_s=settings.tools.approval_wait_max_s,
                request_timeout_s=settings.protection.request_timeout_s)  # fmt: skip

        app.add_routes(parts.tools.routes(tool_route_defs))
    app.add_routes(openapi_routes.routes())
    app.add_routes(ui_routes.routes())
    app.cleanup_ctx.append(_lifecycle(parts))
    return app


def _add_state_metrics(parts: Components, protection: ProtectionStats) -> None:
    """Bounded per-user, per-request and per-scope state: what left at a cap, and what a cap
    refused (docs/reliability.md#bounded-state)."""
    ledger, limiter, cache = parts.ledger, parts.limiter, parts.cache

    def ledger_stat(name: str) -> int:
        return ledger.stats().get(name, 0) if ledger is not None else 0

    def evictions() -> dict[str, float]:
        lost = cache.stats().evictions
        return {"ledger_counters": ledger_stat("state_evictions_counters"),
                "limiter_requests": limiter.evicted,
                "cache_entries": lost.get("lru", 0),
                "cache_scopes": lost.get("scope_limit", 0),
                "rate_limit_buckets": protection.buckets_evicted}  # fmt: skip

    def refusals() -> dict[str, float]:
        return {part: ledger_stat(f"state_refusals_{part}")
                for part in ("counters", "reservations", "policies")}  # fmt: skip

    stats = parts.component_stats
    stats.counter("agent_sidecar_state_evictions",
                  "Per-user, per-request and per-scope state dropped at its cap, by part.",
                  evictions, labels=("part",))  # fmt: skip
    stats.counter("agent_sidecar_state_refusals",
                  "Budget scopes, reservations and policies refused at their cap, by part.",
                  refusals, labels=("part",))  # fmt: skip


def _add_protection_metrics(parts: Components, protection: ProtectionStats) -> None:
    _add_state_metrics(parts, protection)
    stats = parts.component_stats
    stats.counter("agent_sidecar_requests_rate_limited",
                  "Requests refused with 429 by the per-token rate limit.",
                  lambda: protection.rate_limited)
    stats.counter("agent_sidecar_requests_timed_out",
                  "Requests answered 503 after request_timeout_s.", lambda: protection.timeouts)
    stats.gauge("agent_sidecar_rate_limit_buckets",
                "Callers tracked by the rate limiter (bounded by rate_limit_max_clients).",
                lambda: protection.buckets)


def _key_masker(redactor: Redactor) -> Callable[[Any], Any]:
    """A cache key with each finding replaced by its keyed pseudonym (same value, same key)."""

    def mask_key(key: Any) -> Any:
        return redactor.redact_value(key, mode="hash")

    return mask_key


def _same_key(key: Any) -> Any:
    return key


def _pii_probe(redactor: Redactor) -> Callable[[Any], bool]:
    """Whether a JSON value holds anything the redactor recognises."""

    def has_pii(value: Any) -> bool:
        text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
        return bool(redactor.find(text))

    return has_pii


HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


def _health_checks(parts: Components) -> dict[str, HealthCheck]:
    settings = parts.settings

    async def database() -> dict[str, Any]:
        try:
            latency = await asyncio.wait_for(parts.store.ping(),
                                             timeout=settings.store.health_timeout_s)
        except Exception as exc:  # any failure to reach the database means "not connected"
            parts.metrics.set_store_up(False)
            return {"connected": False, "error": type(exc).__name__}
        parts.metrics.set_store_up(True)
        return {"connected": True, "latency_ms": round(latency, 3)}

    checks: dict[str, HealthCheck] = {"database": database}
    ledger = parts.ledger
    if ledger is not None:

        async def budgets() -> dict[str, Any]:
            return dict(ledger.status())  # "healthy" and the "reason" when it is not

        checks["budgets"] = budgets
    return checks


def _lifecycle(parts: Components) -> Callable[[web.Application], Any]:
    async def lifecycle(_app: web.Application) -> Any:
        await parts.stages.start()
        yield
        await parts.stages.close()

    return lifecycle
