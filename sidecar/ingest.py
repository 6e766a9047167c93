"""The ingest pipeline: decoded batch → transforms → durable store → sinks.

Guarantees: a batch is all-or-nothing; the caller is told ``accepted`` only after the commit
(and after the budget charges of its ``llm_call`` events are durable); every sink sees each
stored event exactly once (duplicates of an earlier batch are stored and consumed zero times),
while the charger sees the duplicates too and charges each event once by its id; no transform
output that is not redacted reaches the store, because transforms (redaction first) run before
the rows are built.

No batch holds the event loop for long: a batch of more than :data:`OFF_LOOP_EVENTS` events or
from a body of more than :data:`OFF_LOOP_BYTES` is transformed (guard, redaction, pricing) and
turned into rows in a worker thread, and sinks and the charger see it in slices of
:data:`SLICE_EVENTS`, with a turn of the loop between slices, so a 3.9 MB batch of 11k events
delays other requests by a slice, not by the whole batch. A batch within both bounds (512
events is the OpenTelemetry SDK's default export batch) runs on the loop: about 8 ms of it at
15 µs an event on a 2-core machine. Worker threads for such batches cost more than they spared:
several requests' transforms took turns on the interpreter lock every millisecond, and each
request waited for all of them (measured, 500-event batches from 4 senders: the writer's busy
share rose from 0.81 to 0.92 with them on the loop, durable ingest from 0.65x to 0.82x its
storage floor).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from sidecar.events.schema import Event, LlmCall, ToolCall
from sidecar.offload import off_loop
from sidecar.store.rows import Row, event_row
from sidecar.store.writer import EventWriter

log = logging.getLogger(__name__)

OFF_LOOP_EVENTS = 512
OFF_LOOP_BYTES = 256 * 1024
SLICE_EVENTS = 256


class EventTransform(Protocol):
    """Mutates a decoded batch in place before it is stored (redaction, pricing, scoring)."""

    def process(self, events: list[Event]) -> None: ...


class EventSink(Protocol):
    """Sees each newly stored event once, after its commit (analytics, metrics, spans)."""

    async def consume(self, events: Sequence[Event]) -> None: ...


class EventCharger(Protocol):
    """Sees every event of a stored batch after its commit, the resent ones too (``fresh``
    are those stored now), and must be idempotent by event id: budget charging, so an event
    whose first copy was stored but never charged (a crash between the two) is charged when
    it is resent. An exception fails the request (the client resends)."""

    async def charge(self, events: Sequence[Event], fresh: Sequence[Event]) -> None: ...


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


@dataclass
class IngestStats:
    accepted: int = 0
    duplicates: int = 0
    sink_failures: int = 0


class Ingest:
    """Runs one batch through the pipeline; see the module docstring for the guarantees."""

    def __init__(
        self,
        writer: EventWriter,
        *,
        transforms: Sequence[EventTransform] = (),
        sinks: Sequence[EventSink] = (),
    ) -> None:
        self._writer = writer
        self._transforms = list(transforms)
        self._sinks = list(sinks)
        self._charger: EventCharger | None = None
        self.stats = IngestStats()

    def add_sink(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def set_charger(self, charger: EventCharger) -> None:
        self._charger = charger

    async def ingest(self, events: list[Event], *, body_bytes: int = 0) -> IngestResult:
        """Store ``events`` (decoded from a body of ``body_bytes``); see the module docstring."""
        if len(events) > OFF_LOOP_EVENTS or body_bytes > OFF_LOOP_BYTES:
            rows = await off_loop(self._rows, events)
        else:
            rows = self._rows(events)
        inserted = await self._writer.write(rows)
        fresh = events if len(inserted) == len(events) else _first_of_each(events, rows, inserted)
        for sink in self._sinks:
            async for part in _slices(fresh):
                try:
                    await sink.consume(part)
                except Exception:  # stored is stored: a sink failure must not fail the request
                    self.stats.sink_failures += 1
                    log.exception("event sink %s failed", type(sink).__name__)
        result = IngestResult(len(inserted), len(events) - len(inserted))
        self.stats.accepted += result.accepted
        self.stats.duplicates += result.duplicates
        if self._charger is not None:
            await self._charge(self._charger, events, fresh)
        return result

    async def record(self, events: list[Event]) -> IngestResult:
        """Store events that are records rather than telemetry (the tool policy's audit): they
        pass the transforms (redaction) and are stored like any other, but feed no sink
        (analytics, metrics, spans) and charge no budget."""
        inserted = await self._writer.write(self._rows(events))
        return IngestResult(len(inserted), len(events) - len(inserted))

    def _rows(self, events: list[Event]) -> list[Row]:
        """Ids, transforms and store rows: everything before the commit (no I/O)."""
        for event in events:
            if event.id is None:
                event.id = uuid.uuid4().hex
        for transform in self._transforms:
            transform.process(events)
        return [event_row(e) for e in events]

    @staticmethod
    async def _charge(charger: EventCharger, events: list[Event], fresh: Sequence[Event]) -> None:
        if len(events) <= SLICE_EVENTS:
            await charger.charge(events, fresh)
            return
        new = {id(e) for e in fresh}
        async for part in _slices(events):
            await charger.charge(part, [e for e in part if id(e) in new])


async def _slices(events: Sequence[Event]) -> AsyncIterator[Sequence[Event]]:
    """``events`` in slices of :data:`SLICE_EVENTS` (the whole batch when it is small), with a
    turn of the event loop after each slice."""
    if len(events) <= SLICE_EVENTS:
        yield events
        return
    for start in range(0, len(events), SLICE_EVENTS):
        yield events[start : start + SLICE_EVENTS]
        await asyncio.sleep(0)


def _first_of_each(events: list[Event], rows: list[Row], inserted: set[str]) -> list[Event]:
    """The newly stored events, each key once (an event sent twice in a batch is stored once;
    the key is the tenant and the id, :func:`~sidecar.store.rows.event_key`)."""
    fresh: list[Event] = []
    taken: set[str] = set()
    for event, row in zip(events, rows, strict=True):
        key = row[0]
        if key in inserted and key not in taken:
            taken.add(key)
            fresh.append(event)
    return fresh


class DropContent:
    """Transform: forget prompts, outputs, tool arguments and results (``capture_content``
    off). Placed after the injection scorer, which needs them, and before the redactor, which
    then has less to scan."""

    def process(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, LlmCall):
                event.input = None
                event.output = None
            elif isinstance(event, ToolCall):
                event.args = None
                event.result = None
