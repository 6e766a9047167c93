"""The learned scorer: a logistic model over the features of :mod:`sidecar.guard.features`.

``probability = 1 / (1 + exp(-(bias + sum of the weights of the features present)))``. The
weights ship in the package (``sidecar/guard/weights/injection_model.json``, a few hundred KB of
JSON, pure Python at run time: no download, no NumPy); ``python -m sidecar.guard.training``
rebuilds the file byte for byte from the corpus templates and a fixed seed.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from importlib import resources
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

    def logit(self, features: Iterable[str]) -> float:
        get = self.weights.get
        return self.bias + sum(get(name, 0.0) for name in features)

    def probability(self, features: Iterable[str]) -> float:
        z = self.logit(features)
        if z < -40:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def contributions(self, features: Iterable[str]) -> dict[str, float]:
        """The weight each present feature adds (features the model does not know are left out)."""
        return {name: self.weights[name] for name in features if name in self.weights}

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
