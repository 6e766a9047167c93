"""Prompt-injection guard: texts/s of the default configuration and of the pattern-only pass,
and the per-kind table on the labelled corpus, in one run.

Run: ``python -m bench guard`` (``quick=True`` for a short run). One core, one process. The
throughput workloads are 1 KB agent texts (see :func:`agent_texts`); the quality table scores
``tests/guard/corpus/injection_corpus.jsonl`` (the held-out split separately).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_redact import agent_log_texts
from sidecar.guard import GuardConfig, InjectionScorer
from sidecar.guard.scorer import Source
from sidecar.guard.training import phrases_en as en
from sidecar.guard.training import phrases_zh as zh
from sidecar.guard.training.corpus import build
from sidecar.guard.training.quality import load, quality_table

CORPUS = (
    Path(__file__).resolve().parent.parent / "tests" / "guard" / "corpus" / "injection_corpus.jsonl"
)


# Benign sentences with words injections also use, written for this benchmark only (the
# corpus never shows them): one in five sentences of the prose workload is one of these.
OWN_LOOK_ALIKES = [
    "Please send the slides to everyone who missed the call.",
    "The previous version of the app ignored your notification settings.",
    "Our assistant can reschedule your appointment if you reply to this email.",
    "Delete the draft once the final copy is approved.",
    "From now on the shuttle leaves from gate B.",
    "You must enter the code from the text message to log in.",
    "The system will email a new password link within minutes.",
    "Forward your receipt to expenses@example.com for reimbursement.",
    "Upload the signed form to the portal before the deadline.",
    "Developers can call the orders API with a read-only token.",
    "Ignore the first reading; the sensor needs a minute to warm up.",
    "The new instructions for the dishwasher are on page four.",
]
OWN_LOOK_ALIKES_ZH = [
    "请把会议纪要发给没参加会议的同事。",
    "旧版应用会忽略你的通知设置。",
    "回复这封邮件，我们的助理可以帮你改约时间。",
    "定稿通过后请删除草稿。",
    "从现在开始，班车改从B门出发。",
    "登录时你必须输入短信里的验证码。",
    "系统会在几分钟内发送新的密码链接。",
    "请在截止日期前把签好的表格上传到门户网站。",
]


def _prose(rng: random.Random, chinese: bool) -> str:
    plain = zh.FILLER if chinese else en.FILLER
    look_alikes = OWN_LOOK_ALIKES_ZH if chinese else OWN_LOOK_ALIKES
    text = ""
    while len(text.encode()) < 1024:
        sentence = rng.choice(look_alikes if rng.random() < 0.2 else plain)
        text += sentence + (" " if rng.random() < 0.7 else "\n\n")
    return text.encode()[:1024].decode("utf-8", "ignore")


def _tool_json(rng: random.Random, chinese: bool) -> str:
    items: list[dict[str, object]] = []
    while len(json.dumps(items, ensure_ascii=False).encode()) < 900:
        title = rng.choice(zh.TITLES if chinese else en.TITLES)
        snippet = _prose(rng, chinese)[:160]
        items.append({"id": rng.randint(1, 10**6), "title": title, "snippet": snippet,
                      "score": round(rng.random(), 3)})  # fmt: skip
    return (
        json.dumps({"results": items}, ensure_ascii=False).encode()[:1024].decode("utf-8", "ignore")
    )


def agent_texts(count: int, seed: int = 11) -> list[str]:
    """~1 KB texts an agent sidecar sees: 40% log lines, 20% JSON tool results, 40% web and
    e-mail prose (one sentence in five uses words injections also use, in sentences the corpus
    never shows); 20% Chinese."""
    rng = random.Random(seed)
    logs = agent_log_texts(count, 0.2, seed=seed)
    out = []
    for i in range(count):
        roll, chinese = rng.random(), rng.random() < 0.2
        if roll < 0.4:
            out.append(logs[i])
        elif roll < 0.6:
            out.append(_tool_json(rng, chinese))
        else:
            out.append(_prose(rng, chinese))
    return out


def look_alike_texts(count: int, seed: int = 12) -> list[str]:
    """~1 KB of the corpus's hard benign look-alikes glued together: the worst case."""
    rng = random.Random(seed)
    benign = [r.text for r in build() if not r.injected]
    out = []
    for _ in range(count):
        text = ""
        while len(text) < 1000:
            text += rng.choice(benign) + "\n"
        out.append(text[:1024])
    return out


def _rate(fn: Callable[[str, Source], object], texts: list[str], repeats: int) -> float:
    """Texts per second of this process's CPU time (one core; other processes on a shared
    machine do not count against it), median of ``repeats`` runs."""
    runs = []
    for _ in range(repeats):
        start = time.process_time()
        for text in texts:
            fn(text, "tool_result")
        runs.append(time.process_time() - start)
    return len(texts) / statistics.median(runs)


def run(quick: bool = False) -> str:
    """Markdown section: throughput (medians of ``repeats`` runs) and the per-kind table."""
    count, repeats = (400, 3) if quick else (3000, 5)
    default = InjectionScorer()
    patterns = InjectionScorer(GuardConfig(model=False))
    workloads = {
        "agent texts (logs, JSON tool results, prose; 20% Chinese)": agent_texts(count),
        "agent log lines only": agent_log_texts(count, 0.2, seed=13),
        "hard look-alikes only (worst case)": look_alike_texts(count),
    }
    lines = [
        "## Prompt-injection guard",
        "",
        f"1 KB texts, {count} per workload, scored as tool results; texts per second of CPU "
        f"time on one core, median of {repeats} runs, both configurations in the same run. "
        "Flagged: share of the workload the default configuration flags (all of it is benign).",
        "",
        "| workload | default (patterns + learned scorer) | pattern-only pass | ratio | flagged |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, texts in workloads.items():
        full = _rate(default.score, texts, repeats)
        fast = _rate(patterns.score, texts, repeats)
        flagged = sum(default.score(t, "tool_result").flagged for t in texts) / len(texts)
        lines.append(f"| {name} | {full:,.0f} texts/s | {fast:,.0f} texts/s | "
                     f"{fast / full:.1f}x | {flagged:.1%} |")  # fmt: skip
    rows = load(CORPUS) if CORPUS.exists() else build()
    lines += [
        "",
        f"Quality on the labelled corpus ({len(rows)} texts; held-out texts use phrase lists "
        "and sentence frames the training split never shows), threshold 0.5:",
        "",
        quality_table(rows).rstrip(),
        "",
        "Command: `python -m bench guard`",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick=True))
