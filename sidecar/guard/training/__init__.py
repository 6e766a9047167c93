"""Training of the guard's learned scorer: the labelled corpus builder and the trainer.

``python -m sidecar.guard.training`` rebuilds ``tests/guard/corpus/injection_corpus.jsonl``
from the templates of :mod:`sidecar.guard.training.corpus` (fixed seed), trains the linear
model of :mod:`sidecar.guard.model` on its ``train`` split and writes
``sidecar/guard/weights/injection_model.json``; both outputs are byte-identical on every run.
Nothing here is imported at run time.
"""
