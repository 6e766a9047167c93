"""Trains the guard's logistic model on the ``train`` split of the corpus, in pure Python.

AdaGrad on the log loss with L2 and feature dropout (each feature of an example is left out
with probability ``dropout`` at every visit, so the model learns to rely on many cues rather
than on the exact combinations of the training phrases: on the held-out split this adds about
two points of recall), examples shuffled by a seeded generator, so a run is deterministic on
every platform (IEEE doubles, no BLAS). Features seen in fewer than
``min_count`` training texts are dropped; weights under ``prune`` are dropped after training.
The n-gram vocabulary (English word uni- and bigrams, Chinese character bigrams) is chosen on
the training split by smoothed log-odds; an n-gram is only a feature once the model keeps it.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Sequence

from sidecar.guard.cues import CONTEXT_GROUPS
from sidecar.guard.features import FeatureExtractor
from sidecar.guard.model import LinearModel
from sidecar.guard.training.corpus import Example

SEED = 7
_WORD_RX = re.compile(r"[a-z][a-z']{2,}")
_CJK_RUN_RX = re.compile("[\u4e00-\u9fff]{2,}")


def candidate_ngrams(rows: Sequence[Example], *, top: int, min_count: int = 8) -> list[str]:
    """The ``top`` n-grams whose presence best separates injected from benign training texts."""
    pos: Counter[str] = Counter()
    neg: Counter[str] = Counter()
    n_pos = sum(r.injected for r in rows)
    n_neg = len(rows) - n_pos
    for row in rows:
        low = row.text.lower()
        words = _WORD_RX.findall(low)
        grams = set(words)
        grams.update(f"{a} {b}" for a, b in itertools.pairwise(words))
        for run in _CJK_RUN_RX.findall(row.text):
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
        (pos if row.injected else neg).update(grams)
    scored = []
    for gram in set(pos) | set(neg):
        p, n = pos[gram], neg[gram]
        if p + n < min_count:
            continue
        odds = math.log((p + 1) / (n_pos + 2)) - math.log((n + 1) / (n_neg + 2))
        scored.append((-abs(odds), gram))
    scored.sort()
    return sorted(gram for _, gram in scored[:top])


def fit(
    examples: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
    labels: Sequence[bool],
    *,
    epochs: int = 30,
    rate: float = 0.3,
    l2: float = 1e-3,
    min_count: int = 3,
    prune: float = 0.02,
    dropout: float = 0.35,
    positive_weight: float = 1.0,
    nonpositive: frozenset[str] = frozenset(),
    seed: int = SEED,
) -> tuple[float, dict[str, float]]:
    """(bias, weights) of an L2-regularised, max-pooled logistic regression: each example is
    (whole-text features, windows) and z = bias + whole-text weights + the best window's
    weights; the gradient goes to the whole-text features and that window's.
    ``positive_weight`` scales the loss of injected examples; the weights of ``nonpositive``
    features are kept at or below zero (projected after each step)."""
    counts: Counter[str] = Counter()
    for features, windows in examples:
        seen = set(features)
        for window in windows:
            seen.update(window)
        counts.update(seen)
    kept = {name for name, n in counts.items() if n >= min_count}
    rows = [(sorted(set(f) & kept), [sorted(set(w) & kept) for w in ws]) for f, ws in examples]
    weights: dict[str, float] = dict.fromkeys(sorted(kept), 0.0)
    squares: dict[str, float] = dict.fromkeys(weights, 1e-8)
    bias, bias_square = 0.0, 1e-8
    order = list(range(len(rows)))
    rng = random.Random(seed)
    model = LinearModel(0.0, weights)
    capped = nonpositive & kept
    keep = 1.0 - dropout
    for _ in range(epochs):
        rng.shuffle(order)
        for index in order:
            features, windows = rows[index]
            if dropout:
                features = [f for f in features if rng.random() < keep]
                windows = [[f for f in w if rng.random() < keep] for w in windows]
            best, at = model.best_window(windows)
            counted = [*features, *(windows[at] if at >= 0 else ())]
            z = bias + sum(weights[name] for name in features) + best
            p = 1.0 / (1.0 + math.exp(-z)) if z > -40 else 0.0
            error = p - 1.0 if labels[index] else p
            if labels[index]:
                error *= positive_weight
            bias_square += error * error
            bias -= rate * error / math.sqrt(bias_square)
            for name in counted:
                gradient = error + l2 * weights[name]
                squares[name] += gradient * gradient
                weights[name] -= rate * gradient / math.sqrt(squares[name])
                if weights[name] > 0.0 and name in capped:
                    weights[name] = 0.0
    return bias, {k: v for k, v in weights.items() if abs(v) >= prune}


def context_features(
    examples: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
) -> frozenset[str]:
    """Features that involve a context group (security write-up, code, git, install docs,
    customer mail, docs, question, quoting): they may only ever lower the score, so a benign
    context word next to a weak cue never turns into evidence of an attack."""
    names: set[str] = set()
    for features, windows in examples:
        names.update(features)
        for window in windows:
            names.update(window)
    capped = set()
    for name in names:
        kind, _, rest = name.partition(":")
        if kind in ("g", "t", "n") and any(part in CONTEXT_GROUPS for part in rest.split("+")):
            capped.add(name)
    return frozenset(capped)


def train_model(
    rows: Sequence[Example], *, ngrams: int = 600, meta: dict[str, object] | None = None
) -> LinearModel:
    """The model trained on the ``train`` rows of ``rows`` (the others are not looked at)."""
    train_rows = [r for r in rows if r.split == "train"]
    vocabulary = candidate_ngrams(train_rows, top=ngrams) if ngrams else []
    extractor = FeatureExtractor(ngrams=vocabulary)
    extractions = [extractor.extract(r.text, r.source) for r in train_rows]
    examples = [(e.features, e.windows) for e in extractions]
    bias, weights = fit(
        examples, [r.injected for r in train_rows], nonpositive=context_features(examples)
    )
    used = [g for g in vocabulary if f"w:{g}" in weights]
    return LinearModel(bias, weights, used, dict(meta or {}))
