"""Hyperscan databases for the redactor and the guard: optional import, compiled lazily and
once, cached on disk, scanned with a scratch space per thread.

Compiling the built-in databases takes about a second of CPU; a sidecar that never scans
(redaction and guard off) never pays it, and a restart loads the serialized database from the
disk cache instead (``$SIDECAR_HYPERSCAN_CACHE``, else ``$XDG_CACHE_HOME/agent-sidecar/
hyperscan``, else ``~/.cache/agent-sidecar/hyperscan``; ``off`` disables it). Each cache file is
named by the SHA-256 of the Hyperscan version, the CPU platform, the expressions, their ids and
flags, and starts with that key and the SHA-256 of its body: a stale, truncated, foreign or
renamed file is ignored and the database recompiled, never loaded wrong. A directory that
cannot be written only costs the compile. Databases are immutable and shared between threads;
scratch is per thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:  # Optional: x86-64 wheels only.
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    _hs = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

CACHE_ENV = "SIDECAR_HYPERSCAN_CACHE"
MatchHandler = Callable[[int, int, int, int, object], Any]
_MAGIC = b"agent-sidecar hyperscan 1\n"


class CompileError(ValueError):
    """Hyperscan refused an expression of the database."""


def available() -> bool:
    """True when the Hyperscan bindings are importable."""
    return _hs is not None


def flag(name: str) -> int:
    """The value of ``hyperscan.HS_FLAG_<name>`` (0 without Hyperscan)."""
    return int(getattr(_hs, f"HS_FLAG_{name}")) if _hs is not None else 0


def compiles(expression: str, flags: int) -> bool:
    """Whether Hyperscan accepts ``expression`` with ``flags``."""
    assert _hs is not None
    try:
        _hs.Database().compile(expressions=[expression.encode("utf-8")], ids=[0], elements=1,
                               flags=[flags])  # fmt: skip
    except _hs.error:
        return False
    return True


class Database:
    """A block-mode database compiled on first use (or :meth:`warm`), from the disk cache when
    a previous process compiled the same expressions. Thread-safe."""

    def __init__(
        self,
        expressions: Sequence[bytes],
        ids: Sequence[int],
        flags: Sequence[int],
        *,
        literal: bool = False,
    ) -> None:
        if _hs is None:
            raise RuntimeError("hyperscan is not installed")
        self._spec = (tuple(expressions), tuple(ids), tuple(flags), literal)
        self._db: Any = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def warm(self) -> None:
        """Compile (or load) now rather than at the first scan."""
        self._database()

    @property
    def compiled(self) -> bool:
        return self._db is not None

    def scan(self, data: bytes, on_match: MatchHandler) -> None:
        """Report each match of ``data`` to ``on_match(id, start, end, flags, context)``."""
        db = self._db if self._db is not None else self._database()
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _hs.Scratch(db)
        db.scan(data, match_event_handler=on_match, scratch=scratch)

    def _database(self) -> Any:
        with self._lock:
            if self._db is None:
                self._db = _load_or_compile(*self._spec)
            return self._db


_shared: dict[tuple[Any, ...], Database] = {}
_shared_lock = threading.Lock()


def shared_database(
    expressions: Sequence[bytes], ids: Sequence[int], flags: Sequence[int], *,
    literal: bool = False,
) -> Database:  # fmt: skip
    """One :class:`Database` per distinct spec in the process (redactors and scorers built
    with the same configuration share it)."""
    key = (tuple(expressions), tuple(ids), tuple(flags), literal)
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = Database(expressions, ids, flags, literal=literal)
        return found


def cache_dir() -> Path | None:
    """Where compiled databases are kept, or None when the cache is off."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return None if configured == "off" else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agent-sidecar" / "hyperscan"


def _key(expressions: tuple[bytes, ...], ids: tuple[int, ...], flags: tuple[int, ...],
         literal: bool) -> str:  # fmt: skip
    digest = hashlib.sha256()
    version = str(getattr(_hs, "__version__", ""))
    for part in (version, platform.machine(), platform.processor(), str(literal)):
        digest.update(part.encode() + b"\0")
    for expression, ident, value in zip(expressions, ids, flags, strict=True):
        digest.update(b"%d\0%d\0%d\0" % (ident, value, len(expression)) + expression)
    return digest.hexdigest()


def _load_or_compile(expressions: tuple[bytes, ...], ids: tuple[int, ...],
                     flags: tuple[int, ...], literal: bool) -> Any:  # fmt: skip
    where = cache_dir()
    key = _key(expressions, ids, flags, literal)
    path = where / f"{key}.hsdb" if where else None
    if path is not None:
        db = _read(path, key)
        if db is not None:
            return db
    db = _hs.Database()
    try:
        db.compile(expressions=list(expressions), ids=list(ids), elements=len(expressions),
                   flags=list(flags), literal=literal)  # fmt: skip
    except _hs.error as exc:
        raise CompileError(str(exc)) from None
    if path is not None:
        _write(path, key, _hs.dumpb(db))
    return db


def _read(path: Path, key: str) -> Any:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    size = len(_MAGIC) + 128
    head, body = blob[:size], blob[size:]
    if head != _header(key, body):
        return None
    try:
        db = _hs.loadb(body, _hs.HS_MODE_BLOCK)
        _hs.Scratch(db)  # refuses a database built for other CPU features
    except Exception:  # a database of another build or machine: recompile
        return None
    return db


def _header(key: str, body: bytes) -> bytes:
    """What a file must start with: the format, the spec's key, the body's SHA-256."""
    return _MAGIC + key.encode() + hashlib.sha256(body).hexdigest().encode()


def _write(path: Path, key: str, body: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_header(key, body) + body)
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
    except OSError as exc:  # read-only home, full disk: the next start compiles again
        log.debug("hyperscan cache not written: %s", type(exc).__name__)
