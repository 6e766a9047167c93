"""The parts of one sidecar, built from the settings and wired together (no HTTP here).

Parts never import each other sideways; this module and :mod:`sidecar.app` (the routes) are
the only ones that know them all. Ingest order: transforms (guard, drop content, redaction,
pricing, trace ids) run before the store; sinks (analytics, Prometheus, request limits, span
and metric export) after the commit; the settler charges budgets. Every part with a task or a
buffer is a stage of ``Components.stages`` (:mod:`sidecar.lifecycle`); every metric is defined
in ``sidecar.telemetry``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from time import time as time_time
from typing import TYPE_CHECKING, Any

import msgspec
from prometheus_client import CollectorRegistry

from sidecar.analytics import Analytics
from sidecar.analytics.fleet import Fleet
from sidecar.api.lazy_tools import LazyTools, import_on_thread
from sidecar.api.middlewares import ProtectionStats
from sidecar.api.tenancy import BudgetUsers, limit_key
from sidecar.budgets import Admission, BudgetLedger, BudgetSettler, create_ledger
from sidecar.budgets.config import masked_policies
from sidecar.budgets.denials import DenialLog, RecordingAdmission
from sidecar.budgets.ladder import Ladder
from sidecar.budgets.model import LedgerStats
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
from sidecar.telemetry.budget_metrics import register_budget_metrics
from sidecar.telemetry.cache_metrics import register_cache_metrics
from sidecar.telemetry.export_metrics import (
    register_otlp_metrics_metrics,
    register_pricing_metrics,
    register_span_metrics,
)
from sidecar.telemetry.fleet_metrics import register_fleet_metrics
from sidecar.telemetry.prometheus import PrometheusMetrics
from sidecar.telemetry.protection_metrics import register_protection_metrics
from sidecar.telemetry.safety_metrics import InjectionStats, register_safety_metrics
from sidecar.telemetry.span_ids import TraceIdTransform
from sidecar.telemetry.state_metrics import register_state_metrics
from sidecar.telemetry.stats_collector import StatsCollector
from sidecar.telemetry.tool_metrics import register_ladder_metrics

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from sidecar.telemetry.otlp_export import SpanExporterSink
    from sidecar.telemetry.otlp_metrics import OtlpMetricsSink
    from sidecar.tools import ToolGate


def _as_is(value: Any) -> Any:
    return value


@dataclass(kw_only=True)
class Components:
    """Everything :func:`build_components` built, for the routes, the CLI and the tests."""

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
    admit_metrics: AdmitMetrics
    protection: ProtectionStats = field(default_factory=ProtectionStats)
    settler: BudgetSettler | None = None
    spans: SpanExporterSink | None = None
    metrics_export: OtlpMetricsSink | None = None  # its module is imported only when on
    denials: DenialLog = field(default_factory=DenialLog)
    namespaces: NamespaceStats = field(default_factory=NamespaceStats)
    # An identifier as stored (PII → keyed pseudonym): ids in paths, queries, admits, cache
    # scopes and budget policies are mapped with it on the way in.
    mask_id: Callable[[str | None], str | None] = field(default=_as_is)
    mask_key: Callable[[Any], Any] = field(default=_as_is)  # cache keys: findings → pseudonyms
    tools: LazyTools | None = None  # the gate is built at its first use
    stages: Stages = field(default_factory=Stages)  # every part with a task, in start order

    @property
    def engine(self) -> AsyncEngine:
        """The events database's SQLAlchemy engine (created, and SQLAlchemy imported, now)."""
        return self.store.engine


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
    store = open_event_store(
        settings.db_url,
        settings.store,
        sql_echo=settings.logging.sql_echo,
        on_commit=metrics.store_write,
    )
    metrics.watch_ingest_queue_depth(lambda: store.writer.stats.queued_events)
    prices = PriceTable.load(settings.pricing.file, settings.pricing.default)
    pricer = EventPricer(prices, settings.pricing.trust_client_cost)
    limiter = RequestLimiter(settings.limits)
    ledger = (
        create_ledger(settings.budgets, settings.db_url, _ledger_clock(settings), prices)
        if settings.budgets.enabled else None
    )  # fmt: skip
    redactor, scorer = Redactor(settings.redact), InjectionScorer(settings.guard)
    ingest = Ingest(
        store.writer,
        transforms=[*_privacy_transforms(settings, redactor, scorer), pricer, TraceIdTransform()],
        sinks=[analytics, metrics] if settings.analytics.enabled else [metrics],
    )
    ingest.add_sink(_EndRequestLimits(limiter))
    denials = DenialLog()
    parts = Components(
        settings=settings, registry=registry, store=store,
        writer=store.writer, ingest=ingest, metrics=metrics, analytics=analytics,
        component_stats=StatsCollector(registry), prices=prices, limiter=limiter, ledger=ledger,
        admission=RecordingAdmission(ledger, limiter, prices,
                                     settings.budgets.default_max_output_tokens, scorer,
                                     denials=denials),
        retention=Retention(lambda: store.engine, settings.store.retention),
        redactor=redactor, scorer=scorer, cache=_open_cache(settings), denials=denials,
        fleet=Fleet(analytics, settings.fleet,
                    open_fleet_store(store, settings.fleet.enabled)),
        admit_metrics=AdmitMetrics(registry),
    )  # fmt: skip
    if settings.redact.enabled:
        parts.mask_id = IdentifierMasker(redactor)
        parts.mask_key = _key_masker(redactor)
    _add_budget_settling(parts)
    _add_exports(parts)
    _add_tool_policy(parts)
    _add_metrics(parts, pricer)
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
        stages.add("ledger", parts.ledger, deadline_s=5.0)  # the journal's last write
    stages.add("writer", parts.writer, deadline_s=8.0)  # commits what it holds
    if parts.tools is not None:
        stages.add("tool policy", parts.tools)  # closes its held connection
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


def _add_metrics(parts: Components, pricer: EventPricer) -> None:
    """Every family of ``component_stats`` comes from a module of ``sidecar.telemetry``."""
    stats, ledger, cache, fleet = parts.component_stats, parts.ledger, parts.cache, parts.fleet
    protection, scorer = parts.protection, parts.scorer

    def ledger_counters() -> dict[str, int]:
        return ledger.stats() if ledger is not None else {}

    if ledger is not None:
        register_budget_metrics(stats, lambda: LedgerStats.of(ledger.stats()))
        if parts.admission.ladder is not None:
            register_ladder_metrics(stats, parts.admission.ladder)
    register_fleet_metrics(stats, lambda: fleet.counters, fleet.shared)
    register_pricing_metrics(stats, lambda: pricer.unpriced)
    register_safety_metrics(stats, parts.redactor.stats,
                            lambda: InjectionStats.of(scorer.stats()))  # fmt: skip
    register_cache_metrics(stats, cache.stats)
    if parts.spans is not None:
        register_span_metrics(stats, parts.spans.stats)
    if parts.metrics_export is not None:
        register_otlp_metrics_metrics(stats, parts.metrics_export.stats)
    register_protection_metrics(stats, protection)
    register_state_metrics(stats, ledger_counters, lambda: parts.limiter.evicted,
                           lambda: cache.stats().evictions,
                           lambda: protection.buckets_evicted)  # fmt: skip


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
    if parts.ledger is None:
        return
    parts.settler = BudgetSettler(
        parts.ledger, user_key=budget_users(parts.settings, parts.mask_id),
        resolve_model=parts.prices.resolve,
        retry_interval_s=parts.settings.budgets.housekeeping_interval_s,
    )  # fmt: skip
    parts.ingest.set_charger(parts.settler)


def _add_tool_policy(parts: Components) -> None:
    """Tool admits ask the tool policy; budgets with a ladder degrade before they deny."""
    settings = parts.settings
    if parts.ledger is not None:
        parts.admission.ladder = Ladder(parts.ledger, parts.prices, settings.budgets.cheaper_models)
    if not settings.tools.enabled:
        return
    redact = parts.redactor.redact_value if settings.redact.enabled else _as_is
    clock = _ledger_clock(settings)

    async def build() -> tuple[ToolGate, Any]:
        engine = await parts.store.reader()  # SQLAlchemy, imported off the event loop
        factory = await import_on_thread("sidecar.tools.factory")
        await import_on_thread("sidecar.api.tool_routes")
        gate, audit = factory.create_gate(settings.tools, engine, parts.ingest.record, clock,
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
        from sidecar.cache.pg_persistence import PostgresCachePersistence
        from sidecar.store.urls import asyncpg_dsn

        persistence = PostgresCachePersistence(asyncpg_dsn(url.url))
        return SemanticCache.open_with(config, persistence, load=False)  # loaded at startup
    return SemanticCache.open(config)


def _add_exports(parts: Components) -> None:
    """GenAI spans over OTLP (built from stored, already redacted events) and GenAI metrics as
    exponential histograms, each when enabled; the metrics sink and its exporter are imported
    only then, to keep start-up lean."""
    settings = parts.settings
    if settings.traces.export_enabled():
        config = msgspec.structs.replace(settings.traces, capture_content=settings.capture_content)
        from sidecar.telemetry.otlp_export import SpanExporterSink

        parts.spans = SpanExporterSink.from_config(config)
        parts.ingest.add_sink(parts.spans)
    if settings.otlp_metrics.export_enabled():
        from sidecar.telemetry.otlp_metrics import OtlpMetricsSink, metrics_resource

        admit = parts.admit_metrics
        parts.metrics_export = OtlpMetricsSink(
            settings.otlp_metrics, metrics_resource(settings.traces, parts.fleet.replica_id),
            settings.metrics, admit_counters=(admit.decisions, admit.denied),
        )  # fmt: skip
        parts.ingest.add_sink(parts.metrics_export)


def pii_probe(redactor: Redactor) -> Callable[[Any], bool]:
    """Whether a JSON value holds anything the redactor recognises."""

    def has_pii(value: Any) -> bool:
        text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
        return bool(redactor.find(text))

    return has_pii


def _key_masker(redactor: Redactor) -> Callable[[Any], Any]:
    """A cache key with each finding replaced by its keyed pseudonym (same value, same key)."""

    def mask_key(key: Any) -> Any:
        return redactor.redact_value(key, mode="hash")

    return mask_key
