"""``agent-sidecar archive --before DATE`` and ``agent-sidecar restore FILE``.

Both open the configured store directly (the server may keep running: archive deletes in short
batches, restore skips ids already present), print one summary line and exit 0, or exit 2 with
a message for a bad date or a file that is not an archive.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sidecar.config import Settings
from sidecar.events.schema import EVENT_TYPES


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    server_flags: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register the two subcommands; ``server_flags`` adds --config / --db-url."""
    archive = commands.add_parser(
        "archive", help="move events older than a date to a compressed JSONL file"
    )
    server_flags(archive)
    archive.add_argument(
        "--before",
        required=True,
        type=parse_date,
        help="UTC date or time (2026-01-01, 2026-01-01T12:00:00Z) or unix seconds",
    )
    archive.add_argument("--out", help="archive file (default events-before-DATE.jsonl.gz)")
    archive.add_argument(
        "--type",
        dest="types",
        action="append",
        choices=EVENT_TYPES,
        help="only this event type (repeatable; default all)",
    )
    archive.add_argument("--keep", action="store_true", help="write the file, delete nothing")
    restore = commands.add_parser("restore", help="put archived events back into the store")
    server_flags(restore)
    restore.add_argument("file", help="a file written by `agent-sidecar archive`")


def parse_date(text: str) -> float:
    """Unix seconds from ``2026-01-01``, an ISO-8601 time (UTC when no offset), or a number."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sidecar.store.archive import ArchiveError  # SQLAlchemy: only for these commands

    try:
        return asyncio.run(_run(args, settings))
    except ArchiveError as exc:
        print(f"agent-sidecar: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"agent-sidecar: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from sidecar.store.archive import archive_events, restore_events
    from sidecar.store.database import create_engine, create_schema

    engine = create_engine(settings.db_url, settings.store)
    batch = settings.store.retention.batch_rows
    try:
        await create_schema(engine)
        if args.command == "restore":
            restored = await restore_events(engine, args.file, batch_rows=batch)
            print(
                f"restored {restored.restored} events "
                f"({restored.already_present} already present) from {args.file}"
            )
            return 0
        when = datetime.fromtimestamp(args.before, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = Path(args.out or f"events-before-{when.replace(':', '')}.jsonl.gz")
        result = await archive_events(
            engine, args.before, out, types=args.types, batch_rows=batch, remove=not args.keep
        )
        if result.path is None:
            print(f"no events before {when}; nothing archived")
        else:
            verb = "copied" if args.keep else "archived"
            print(
                f"{verb} {result.events} events before {when} to {result.path} "
                f"({result.bytes / 1e6:.1f} MB)"
            )
        return 0
    finally:
        await engine.dispose()
