"""The learned scorer: a logistic model over the features of :mod:`sidecar.guard.features`.

``probability = 1 / (1 + exp(-z))`` with ``z = bias + the weights of the whole-text features +
the weights of the best window`` (two consecutive sentences; see
:class:`sidecar.guard.features.Extraction`): an injection is local, so benign sentences
elsewhere in a long page neither add up to a false alarm nor dilute a real one. The
weights ship in the package (``sidecar/guard/weights/injection_model.json``, a few hundred KB of
JSON, pure Python at run time: no download, no NumPy); ``python -m sidecar.guard.training``
rebuilds the file byte for byte from the corpus templates and a fixed seed.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from importlib import resources
from itertools import repeat
from pathlib import Path
from typing import Any

MODEL_FORMAT = 1
DEFAULT_MODEL = "injection_model.json"


class LinearModel:
    """Weights by feature name, a bias, and the n-gram vocabulary the extractor must scan."""

    def __init__(
        self,
        bias: float,
        weights: dict[str, float],
        ngrams: Iterable[str] = (),
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.bias = bias
        self.weights = weights
        self.ngrams = list(ngrams)
        self.meta = meta or {}

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def best_window(self, windows: Sequence[Sequence[str]]) -> tuple[float, int]:
        """(sum, index) of the window whose weights add up most; (0.0, -1) without windows.
        Ties go to the larger window, then the earlier one."""
        get = self.weights.get
        best, best_size, index = 0.0, -1, -1
        for i, window in enumerate(windows):
            total = sum(map(get, window, repeat(0.0)))
            if index < 0 or total > best or (total == best and len(window) > best_size):
                best, best_size, index = total, len(window), i
        return best, index

    def logit(self, features: Iterable[str], windows: Sequence[Sequence[str]] = ()) -> float:
        whole = sum(map(self.weights.get, features, repeat(0.0)))
        return self.bias + whole + (self.best_window(windows)[0] if windows else 0.0)

    def probability(self, features: Iterable[str], windows: Sequence[Sequence[str]] = ()) -> float:
        z = self.logit(features, windows)
        if z < -40:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def contributions(
        self, features: Iterable[str], windows: Sequence[Sequence[str]] = ()
    ) -> dict[str, float]:
        """The weight each counted feature adds: the whole-text ones and the best window's
        (features the model does not know are left out)."""
        _, index = self.best_window(windows)
        counted = [*features, *(windows[index] if index >= 0 else ())]
        return {name: self.weights[name] for name in counted if name in self.weights}

    def to_json(self) -> str:
        """Stable text: sorted keys, weights rounded to 6 decimals (the file is versioned)."""
        body = {
            "format": MODEL_FORMAT,
            "meta": self.meta,
            "bias": round(self.bias, 6),
            "ngrams": self.ngrams,
            "weights": {k: round(v, 6) for k, v in sorted(self.weights.items())},
        }
        return json.dumps(body, ensure_ascii=False, indent=0, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LinearModel:
        body = json.loads(text)
        if body.get("format") != MODEL_FORMAT:
            raise ValueError(f"unsupported guard model format {body.get('format')!r}")
        return cls(float(body["bias"]), dict(body["weights"]), body["ngrams"], body["meta"])

    @classmethod
    def load(cls, path: str | Path | None = None) -> LinearModel:
        """The shipped model, or the one at ``path``."""
        if path is None:
            return _packaged()
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _packaged() -> LinearModel:
    text = resources.files("sidecar.guard").joinpath("weights", DEFAULT_MODEL).read_text("utf-8")
    return LinearModel.from_json(text)
