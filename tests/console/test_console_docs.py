"""docs/console.md is right: every ``curl`` example answers 200 on a real sidecar, and every
field the page lists for a route is in that route's answer.

Paths covered: the examples' routes over real HTTP on loopback, after the README's example
event (request ``req-1``) and a denied admit.
"""

from __future__ import annotations

import re
import time

import aiohttp

from tests.conftest import REPO, RunningSidecar
from tests.console.helpers import event, post_events

DOC = (REPO / "docs" / "console.md").read_text()
CURL = re.compile(r"^curl -s '(localhost:8787)(/[^']+)'$", re.MULTILINE)
FIELDS = re.compile(r"^- `GET (/v1/[a-z/{}_]+)[^`]*` →((?:.|\n)*?)(?=^- |^## |\Z)", re.MULTILINE)


def listed_fields(text: str) -> set[str]:
    return set(re.findall(r'"([a-z_]+)"', text))


async def test_every_curl_example_answers_and_lists_true_fields(
    sidecar: RunningSidecar,
    http: aiohttp.ClientSession,
) -> None:
    await post_events(
        http,
        sidecar.url,
        [
            event("llm_call", "req-1", time.time() - 60, user_id="u-42"),
            event("run", "req-1", time.time() - 59, user_id="u-42"),
        ],
    )
    async with http.put(
        sidecar.url + "/v1/budgets/user/u-42", json={"window": "1d", "max_tokens": 10}
    ) as response:
        assert response.status == 200
    async with http.post(
        sidecar.url + "/v1/admit",
        json={"request_id": "req-2", "user_id": "u-42", "model": "gpt-4o", "input_tokens": 50},
    ) as response:
        assert response.status == 429
    examples = CURL.findall(DOC)
    assert len(examples) >= 6
    answers = {}
    for _, path in examples:
        async with http.get(sidecar.url + path) as response:
            assert response.status == 200, (path, await response.text())
            answers[path.split("?")[0]] = await response.json()
    documented = {route: listed_fields(text) for route, text in FIELDS.findall(DOC)}
    assert set(documented) >= {
        "/v1/runs",
        "/v1/runs/{request_id}",
        "/v1/series",
        "/v1/budgets/denials",
        "/v1/summary",
    }
    samples = {
        "/v1/runs": [answers["/v1/runs"], *answers["/v1/runs"]["runs"]],
        "/v1/runs/{request_id}": [answers["/v1/runs/req-1"], answers["/v1/runs/req-1"]["run"]],
        "/v1/series": [
            answers["/v1/series"],
            *answers["/v1/series"]["total"],
            *answers["/v1/series"]["series"],
        ],
        "/v1/stats/distribution": [
            answers["/v1/stats/distribution"],
            *answers["/v1/stats/distribution"]["series"],
        ],
        "/v1/budgets/denials": [
            answers["/v1/budgets/denials"],
            *answers["/v1/budgets/denials"]["denials"],
        ],
        "/v1/summary": [answers["/v1/summary"]],
    }
    for route, fields in documented.items():
        present = set().union(*(set(sample) for sample in samples[route]))
        assert fields <= present, (route, fields - present)
