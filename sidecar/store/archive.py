"""Archive old events to compressed JSONL and restore them: the data lifecycle's cold path.

Guarantee: an archived event is deleted from the store only after the archive file that holds it
is complete, fsynced and renamed into place; restoring that file brings back rows identical in
every column but ``seq`` (arrival order), so ``GET /v1/events`` bodies and ``GET /v1/aggregate``
totals are exactly what they were. Restoring twice, or restoring events still in the store,
changes nothing (``ON CONFLICT (id) DO NOTHING``).

File format: gzip; the first line is a header
``{"format": "agent-sidecar-archive", "version": 1, "before": <unix s>, "types": [...]}``,
then one JSON object per event with the ``events`` columns (the stored, already redacted body
included). Worked example::

    agent-sidecar archive --before 2026-01-01 --out events-2025.jsonl.gz
    # archived 1204332 events before 2026-01-01T00:00:00Z to events-2025.jsonl.gz (50.6 MB)
    agent-sidecar restore events-2025.jsonl.gz
    # restored 1204332 events (0 already present)

Archiving runs at the floor of only reading the rows and gzipping their JSON (figures from
``python -m bench.bench_archive`` in docs/benchmarks.md, "Archive and restore"); about 42 bytes
per event gzipped when content is not captured (the default). Memory is bounded
by one batch (``batch_rows``, 5,000 by default) whatever the archive size.
"""

from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.store.rows import event_key, key_id
from sidecar.store.tables import EVENT_COLUMNS, events

FORMAT = "agent-sidecar-archive"
VERSION = 1
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_COLUMNS = frozenset(EVENT_COLUMNS)


class ArchiveError(ValueError):
    """The archive file is not one this program wrote, or it is damaged."""


@dataclass(frozen=True)
class ArchiveResult:
    events: int
    path: Path | None
    bytes: int


@dataclass(frozen=True)
class RestoreResult:
    events: int
    restored: int

    @property
    def already_present(self) -> int:
        return self.events - self.restored


def _select(before: float, types: Sequence[str] | None, max_seq: int) -> Any:
    query = select(events.c.seq, *(events.c[c] for c in EVENT_COLUMNS)).where(
        events.c.ts < before, events.c.seq <= max_seq
    )
    if types:
        query = query.where(events.c.type.in_(list(types)))
    return query


async def _max_seq(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        top = (await conn.execute(select(func.max(events.c.seq)))).scalar()
    return int(top or 0)


async def delete_before(
    engine: AsyncEngine,
    before: float,
    *,
    types: Sequence[str] | None = None,
    max_seq: int | None = None,
    batch_rows: int = 5000,
) -> int:
    """Delete events with ``ts < before`` (and ``seq <= max_seq``), ``batch_rows`` per statement,
    so the store's write lock is never held for long. Returns the number deleted."""
    if max_seq is None:
        max_seq = await _max_seq(engine)
    deleted = 0
    while True:
        victims = _select(before, types, max_seq).with_only_columns(events.c.seq)
        victims = victims.order_by(events.c.seq).limit(batch_rows).scalar_subquery()
        async with engine.begin() as conn:
            result = await conn.execute(delete(events).where(events.c.seq.in_(victims)))
        count = int(result.rowcount or 0)
        deleted += count
        if count < batch_rows:
            return deleted
        await asyncio.sleep(0)  # let ingest commits interleave between batches


async def archive_events(
    engine: AsyncEngine,
    before: float,
    path: str | os.PathLike[str],
    *,
    types: Sequence[str] | None = None,
    batch_rows: int = 5000,
    remove: bool = True,
) -> ArchiveResult:
    """Write every event with ``ts < before`` to ``path`` (gzip JSONL), then delete them.

    Events arriving meanwhile are untouched (the run is bounded by the highest ``seq`` at its
    start). With no matching event no file is written and ``path`` is None in the result.
    """
    target = Path(path)
    max_seq = await _max_seq(engine)
    tmp = target.with_name(target.name + ".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    raw = await asyncio.to_thread(open, tmp, "wb")
    try:
        out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "before": before,
            "types": list(types) if types else None,
        }
        out.write(_encode(header) + b"\n")
        after = 0
        while True:
            query = _select(before, types, max_seq).where(events.c.seq > after)
            async with engine.connect() as conn:
                rows = (await conn.execute(query.order_by(events.c.seq).limit(batch_rows))).all()
            if not rows:
                break
            after = rows[-1].seq
            lines = b"".join(_encode(_archived(row)) + b"\n" for row in rows)
            await asyncio.to_thread(out.write, lines)
            written += len(rows)
        await asyncio.to_thread(_finish, out, raw)
    except BaseException:
        raw.close()
        tmp.unlink(missing_ok=True)
        raise
    if written == 0:
        tmp.unlink(missing_ok=True)
        return ArchiveResult(0, None, 0)
    await asyncio.to_thread(_publish, tmp, target)
    if remove:
        await delete_before(engine, before, types=types, max_seq=max_seq, batch_rows=batch_rows)
    return ArchiveResult(written, target, target.stat().st_size)


def _finish(out: gzip.GzipFile, raw: IO[bytes]) -> None:
    out.close()
    raw.flush()
    os.fsync(raw.fileno())
    raw.close()


def _publish(tmp: Path, target: Path) -> None:
    """Rename into place and fsync the directory, so the file survives a power cut."""
    os.replace(tmp, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_archive(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The event rows of an archive file, checked line by line."""
    with gzip.open(path, "rb") as lines:
        try:
            header = _decode(next(lines))
        except (StopIteration, msgspec.DecodeError, OSError, EOFError) as exc:
            raise ArchiveError(f"{path}: not an agent-sidecar archive ({exc})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ArchiveError(f"{path}: not an agent-sidecar archive (no header)")
        if header.get("version") != VERSION:
            raise ArchiveError(f"{path}: archive version {header.get('version')} is unsupported")
        number = 1
        try:
            for line in lines:
                number += 1
                row = _decode(line)
                if not isinstance(row, dict) or set(row) != _COLUMNS:
                    raise ArchiveError(f"{path}:{number}: not an event row")
                yield row
        except (msgspec.DecodeError, EOFError, OSError) as exc:
            raise ArchiveError(f"{path}: damaged after line {number} ({exc})") from None


async def restore_events(
    engine: AsyncEngine, path: str | os.PathLike[str], *, batch_rows: int = 5000
) -> RestoreResult:
    """Insert an archive's events back; ids already in the store are skipped."""
    dialect = engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(events).on_conflict_do_nothing(index_elements=["id"]).returning(events.c.id)
    rows_iter = read_archive(path)
    total = restored = 0
    while True:
        batch = await asyncio.to_thread(_take, rows_iter, batch_rows)
        if not batch:
            return RestoreResult(total, restored)
        async with engine.begin() as conn:
            restored += len((await conn.execute(statement, batch)).all())
        total += len(batch)


def _archived(row: Any) -> dict[str, Any]:
    """A stored row as archived: its columns, ``id`` the event's own id (not the store's key)."""
    line = {c: getattr(row, c) for c in EVENT_COLUMNS}
    line["id"] = key_id(line["id"])
    return line


def _take(rows: Iterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Up to ``n`` archived rows, keyed again as the store keys them (tenant and id)."""
    batch = []
    for row in rows:
        row["id"] = event_key(row.get("tenant"), key_id(str(row["id"])))
        batch.append(row)
        if len(batch) >= n:
            break
    return batch
