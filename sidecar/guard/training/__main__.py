"""``python -m sidecar.guard.training [--corpus PATH] [--model PATH] [--ngrams N] [--check]``

Writes the labelled corpus (JSON lines) and the model trained on its ``train`` split, then
prints precision and recall on both splits. ``--check`` writes nothing and exits 1 when either
file would change (the shipped files are reproducible from this script).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from sidecar.guard.features import FeatureExtractor
from sidecar.guard.model import LinearModel
from sidecar.guard.training.corpus import SEED, Example, build
from sidecar.guard.training.evaluate import evaluate
from sidecar.guard.training.train import SEED as TRAIN_SEED
from sidecar.guard.training.train import train_model

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "guard" / "corpus" / "injection_corpus.jsonl"
MODEL = Path(__file__).resolve().parents[1] / "weights" / "injection_model.json"
MODEL_VERSION = "1"


def corpus_text(seed: int = SEED) -> str:
    return "".join(row.to_json() + "\n" for row in build(seed))


def model_text(corpus: str, ngrams: int = 0) -> tuple[str, LinearModel]:
    rows = [Example(**json.loads(line)) for line in corpus.splitlines()]
    digest = hashlib.sha256(corpus.encode("utf-8")).hexdigest()
    meta: dict[str, object] = {
        "version": f"{MODEL_VERSION}+{digest[:10]}",
        "corpus_sha256": digest,
        "corpus_seed": SEED,
        "train_seed": TRAIN_SEED,
        "texts": len(rows),
        "train_texts": sum(r.split == "train" for r in rows),
    }
    model = train_model(rows, ngrams=ngrams, meta=meta)
    extractor = FeatureExtractor(ngrams=model.ngrams)
    for split in ("train", "heldout"):
        part = [r for r in rows if r.split == split]
        report = evaluate(
            lambda r: model.probability(*extractor.extract(r.text, r.source)[:2]) >= 0.5, part
        )
        model.meta[f"{split}_precision"] = round(report.precision, 4)
        model.meta[f"{split}_recall"] = round(report.recall, 4)
    return model.to_json(), model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sidecar.guard.training")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--ngrams", type=int, default=0, help="corpus n-grams to add (0: none)")
    parser.add_argument("--check", action="store_true", help="only check the files are current")
    args = parser.parse_args(argv)
    corpus = corpus_text()
    weights, model = model_text(corpus, args.ngrams)
    if args.check:
        stale = [p for p, text in ((args.corpus, corpus), (args.model, weights))
                 if not p.exists() or p.read_text(encoding="utf-8") != text]  # fmt: skip
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if stale else 0
    args.corpus.parent.mkdir(parents=True, exist_ok=True)
    args.corpus.write_text(corpus, encoding="utf-8")
    args.model.parent.mkdir(parents=True, exist_ok=True)
    args.model.write_text(weights, encoding="utf-8")
    meta = model.meta
    print(
        f"{meta['texts']} texts, {len(model.weights)} weights, model {meta['version']}\n"
        f"train   precision {meta['train_precision']:.3f} recall {meta['train_recall']:.3f}\n"
        f"heldout precision {meta['heldout_precision']:.3f} recall {meta['heldout_recall']:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
