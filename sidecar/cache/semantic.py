"""The semantic tier: nearest neighbours by embedding within a scope, off the event loop.

- **Stores** only queue their entry (the queue holds a reference, no other object per store):
  one worker thread embeds the queued entries' texts in batches (a batch of
  16 short prompts costs about as much as 5 single ones) and adds the vectors to their scope's
  :class:`~sidecar.cache.vectors.ScopeVectors`. At most ``max_pending`` texts wait; beyond that a
  store stays lexical only and is counted in ``dropped``.
- **Lookups** embed the query and search the scopes in the caller's thread (the HTTP routes call
  :meth:`search` through ``asyncio.to_thread``), under a lock the worker only holds to add or
  remove vectors, never while embedding.
- **Restarts** do not recompute: persisted vectors are restored as they are, when they were made
  by the same model, straight into their scope (not through the queue).

Searches return the items (the cache's entries) held beside the vectors; the cache checks on
its own thread that the entry is still there, so a result that races an eviction is simply not
served.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sidecar.cache.config import SemanticConfig
from sidecar.cache.embedding import Embedder, MiniLMEmbedder, SemanticUnavailableError, quantise
from sidecar.cache.scope import CacheScope

log = logging.getLogger(__name__)


class Embeddable(Protocol):
    """What the cache hands the tier (its entry): the text to embed and the scope it is in.
    The tier keeps the item itself beside its vector and returns it from searches."""

    scope: CacheScope
    key: str


OnEmbedded = Callable[[Any, bytes], None]
_Job = tuple[Embeddable]  # (item,): remove its vector


@dataclass
class SemanticStats:
    ready: bool
    pending: int
    embedded: int
    restored: int
    dropped: int
    vectors: int
    scopes: int
    failed: bool


class SemanticTier:
    """Embeddings and vector search for the cache (see the module docstring)."""

    def __init__(
        self,
        config: SemanticConfig,
        embedder: Embedder | None = None,
        on_embedded: OnEmbedded | None = None,
    ) -> None:
        self.config = config
        if embedder is None:
            _check_installed()
        self._embedder = embedder
        self.on_embedded = on_embedded
        self._ready = threading.Event()
        self._loaded = threading.Event()  # set once loading ended, well or not
        self._lock = threading.Lock()
        self._scopes: dict[CacheScope, Any] = {}
        self._jobs: queue.SimpleQueue[Embeddable | _Job | None] = queue.SimpleQueue()
        self._pending = 0
        self._in_flight = 0
        self._idle = threading.Condition()
        self._embedded = self._restored = self._dropped = 0
        self._failed = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cache-embedder", daemon=True)
        self._thread.start()

    @property
    def model_id(self) -> str | None:
        """The id of the model vectors come from (persisted beside them), once loaded."""
        return self._embedder.model_id if self._ready.is_set() and self._embedder else None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    # -- called from the cache's thread ------------------------------------------------------

    def submit(self, item: Embeddable) -> bool:
        """Queue ``item.key`` for embedding into ``item.scope``; False (and counted) when the
        queue is full. The queue holds ``item`` itself, nothing more."""
        with self._idle:
            if self._pending >= self.config.max_pending:
                self._dropped += 1
                return False
            self._pending += 1
            self._in_flight += 1
        self._jobs.put(item)
        return True

    def restore(self, item: Embeddable, vector: bytes) -> None:
        """Add the persisted vector of ``item`` without recomputing it, at once (a few
        microseconds): it is searchable when this returns, and no copy of it waits in a queue."""
        with self._lock:
            self._add(item, vector)
            self._restored += 1

    def discard(self, item: Embeddable) -> None:
        """Remove the vector of ``item`` (queued behind its embedding, if that is pending)."""
        with self._idle:
            self._in_flight += 1
        self._jobs.put((item,))

    # -- any thread ----------------------------------------------------------------------------

    def embed(self, text: str) -> np.ndarray | None:
        """The query's unit vector, or None while the model is still loading."""
        if not self._ready.is_set() or self._embedder is None:
            return None
        vector: np.ndarray = self._embedder.embed([text])[0]
        return vector

    def search(self, scopes: tuple[CacheScope, ...], text: str) -> list[tuple[Any, float]]:
        """(item, cosine) of the nearest vectors above ``min_similarity``, best first."""
        with self._lock:
            if not any(s in self._scopes for s in scopes):
                return []
        vector = self.embed(text)
        if vector is None:
            return []
        found: list[tuple[Any, float]] = []
        k = self.config.top_k
        with self._lock:
            for scope in scopes:
                vectors = self._scopes.get(scope)
                if vectors is not None:
                    found.extend(vectors.search(vector, k))
        found.sort(key=lambda hit: -hit[1])
        return [hit for hit in found if hit[1] >= self.config.min_similarity]

    def vector(self, item: Embeddable) -> bytes | None:
        """The stored int8 vector of ``item`` (benchmarks and tests)."""
        with self._lock:
            vectors = self._scopes.get(item.scope)
            return vectors.vector(item) if vectors is not None else None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued job is done (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Wait until the model is loaded; False when it failed or took too long."""
        self._loaded.wait(timeout)
        return self._ready.is_set()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
            self._thread.join(timeout=30)

    def stats(self) -> SemanticStats:
        with self._lock:
            vectors = sum(len(v) for v in self._scopes.values())
            scopes = len(self._scopes)
        return SemanticStats(
            ready=self._ready.is_set(), pending=self._pending, embedded=self._embedded,
            restored=self._restored, dropped=self._dropped, vectors=vectors, scopes=scopes,
            failed=self._failed,
        )  # fmt: skip

    # -- the worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self._embedder is None:
                cfg = self.config
                self._embedder = MiniLMEmbedder(
                    Path(cfg.model_path) if cfg.model_path else None,
                    Path(cfg.model_cache_dir) if cfg.model_cache_dir else None,
                    cfg.max_tokens,
                )
            self._ready.set()
        except Exception:
            log.exception("the semantic cache model failed to load; semantic lookups are off")
            self._failed = True
        finally:
            self._loaded.set()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self.config.batch_size:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)
                    break
                batch.append(more)
            try:
                self._process(batch)
            except Exception:
                log.exception("semantic cache worker failed on a batch")
            finally:
                with self._idle:
                    self._in_flight -= len(batch)
                    self._pending -= sum(1 for job in batch if not isinstance(job, tuple))
                    idle = not self._in_flight
                    self._idle.notify_all()
                if idle:
                    _release_free_memory()

    def _process(self, batch: list[Embeddable | _Job]) -> None:
        embeds = [job for job in batch if not isinstance(job, tuple)]
        vectors: list[bytes] = []
        if embeds and self._embedder is not None and not self._failed:
            order = sorted(range(len(embeds)), key=lambda i: len(embeds[i].key))
            computed = self._embedder.embed([embeds[i].key for i in order])
            by_index = {i: quantise(computed[n]) for n, i in enumerate(order)}
            vectors = [by_index[i] for i in range(len(embeds))]
        with self._lock:
            done = 0
            for job in batch:
                if isinstance(job, tuple):
                    self._remove(job[0])
                elif vectors:
                    self._add(job, vectors[done])
                    done += 1
        if self.on_embedded is not None:
            for item, vector in zip(embeds, vectors, strict=False):
                self.on_embedded(item, vector)
        self._embedded += len(vectors)

    def _add(self, item: Embeddable, vector: bytes) -> None:
        from sidecar.cache.vectors import ScopeVectors

        vectors = self._scopes.get(item.scope)
        if vectors is None:
            vectors = self._scopes[item.scope] = ScopeVectors(self.config.prefilter_from)
        vectors.add(item, vector)

    def _remove(self, item: Embeddable) -> None:
        vectors = self._scopes.get(item.scope)
        if vectors is not None:
            vectors.remove(item)
            if not len(vectors):
                del self._scopes[item.scope]


def _release_free_memory() -> None:
    """Give the memory the model's activations used back to the system (glibc keeps it)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _check_installed() -> None:
    import importlib.util

    missing = [m for m in ("onnxruntime", "onnx", "numpy")
               if importlib.util.find_spec(m) is None]  # fmt: skip
    if missing:
        raise SemanticUnavailableError(
            f"cache.semantic.enabled needs {', '.join(missing)}: "
            "pip install 'agent-sidecar[semantic]'"
        )
