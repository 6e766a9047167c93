"""``POST /v1/redact`` over real HTTP: every type, code-point offsets, the three modes, errors."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from tests.conftest import RunningSidecar

from .canaries import find_leaks, make_canaries


async def _redact(
    http: aiohttp.ClientSession, sidecar: RunningSidecar, body: Any, status: int = 200
) -> dict[str, Any]:
    async with http.post(f"{sidecar.url}/v1/redact", json=body) as response:
        answer: dict[str, Any] = await response.json()
    assert response.status == status, answer
    return answer


async def test_every_type_is_found_at_its_offsets_and_masked(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    canaries = make_canaries()
    text = "日志：" + "；".join(f"第{n}项 {c.value} 完" for n, c in enumerate(canaries))
    answer = await _redact(http, sidecar, {"text": text})
    found = [(f["type"], text[f["start"] : f["end"]]) for f in answer["findings"]]
    expected = [(c.type, c.value) for c in canaries]
    expected[-1] = ("PASSWORD_IN_URL", canaries[-1].value.split(":")[2].split("@")[0])
    assert found == expected
    assert not find_leaks(answer["text"], canaries)
    assert answer["text"].startswith("日志：第0项 [EMAIL] 完；第1项 [PHONE] 完")


async def test_offsets_count_code_points_after_non_ascii_text(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    text = "用户张三 🙂🙂 的邮箱是 zhang.san@example.cn，手机 138 1234 5678。"
    answer = await _redact(http, sidecar, {"text": text})
    spans = [(f["type"], f["start"], f["end"]) for f in answer["findings"]]
    email, phone = text.index("zhang.san"), text.index("138")
    assert spans == [
        ("EMAIL", email, email + len("zhang.san@example.cn")),
        ("CN_PHONE", phone, phone + len("138 1234 5678")),
    ]
    assert answer["text"] == "用户张三 🙂🙂 的邮箱是 [EMAIL]，手机 [CN_PHONE]。"


async def test_modes_label_hash_and_partial(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    text = "card 4111 1111 1111 1111 mail ann@example.com"
    label = await _redact(http, sidecar, {"text": text, "mode": "label"})
    assert label["text"] == "card [CREDIT_CARD] mail [EMAIL]"
    hashed = await _redact(http, sidecar, {"text": text, "mode": "hash"})
    assert re.fullmatch(
        r"card \[CREDIT_CARD:[0-9a-f]{12}\] mail \[EMAIL:[0-9a-f]{12}\]", hashed["text"]
    ), hashed["text"]
    again = await _redact(http, sidecar, {"text": text, "mode": "hash"})
    other = await _redact(http, sidecar, {"text": "mail bob@example.com", "mode": "hash"})
    assert again["text"] == hashed["text"]  # a stable pseudonym per value
    assert other["text"].split()[-1] != hashed["text"].split()[-1]
    partial = await _redact(http, sidecar, {"text": text, "mode": "partial"})
    assert "1111" in partial["text"] and "4111 1111 1111 1111" not in partial["text"]
    assert partial["text"].endswith("mail [EMAIL]")  # no partial form for e-mail: the label
    default = await _redact(http, sidecar, {"text": text})
    assert default["text"] == label["text"]
    assert default["findings"] == label["findings"] == partial["findings"]


async def test_clean_text_comes_back_unchanged(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    text = "order ORD-15369800881 shipped at 2026-03-01T10:00:00Z, build 1.2.3.4-rc1"
    assert await _redact(http, sidecar, {"text": text}) == {"text": text, "findings": []}


async def test_bad_bodies_are_rejected_without_echo(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    missing = await _redact(http, sidecar, {"mode": "label"}, status=422)
    assert missing["error"]["code"] == "invalid_request"
    assert "text" in missing["error"]["message"]
    wrong_type = await _redact(http, sidecar, {"text": 42}, status=422)
    assert wrong_type["error"]["field"] == "text"
    canaries = make_canaries()
    for canary in canaries:
        bad_mode = await _redact(http, sidecar, {"text": "x", "mode": canary.value}, status=422)
        assert bad_mode["error"]["field"] == "mode"
        assert not find_leaks(str(bad_mode), canaries)
    async with http.post(
        f"{sidecar.url}/v1/redact", data=b'{"text": ', headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400


# --- batches: {"texts": [...]} ------------------------------------------------------------
# Paths: the batch form over real HTTP beside the single form, with hostile texts (U+0000 and
# control characters, 64 KB strings, duplicates, non-ASCII), the count cap (422 naming
# `texts`), the size cap (413 naming `texts`), both or neither form (422), and a batch large
# enough to be redacted on a worker thread.


async def test_a_batch_answers_each_text_as_the_single_route_does(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    canaries = make_canaries()
    hostile = [
        "\x00\x01 mail " + canaries[0].value + "\x1f",
        "x" * 65_536 + " " + canaries[1].value,
        "用户 🙂 " + canaries[2].value,
        "",
        "clean text",
    ]
    texts = [c.value for c in canaries] + hostile + hostile  # duplicates on purpose
    for mode in (None, "hash", "partial"):
        body: dict[str, Any] = {"texts": texts} | ({"mode": mode} if mode else {})
        batch = await _redact(http, sidecar, body)
        assert len(batch["results"]) == len(texts)
        for text, result in zip(texts, batch["results"], strict=True):
            single = {"text": text} | ({"mode": mode} if mode else {})
            assert result == await _redact(http, sidecar, single)
        assert not find_leaks(str(batch), canaries)


async def test_an_empty_batch_gives_no_results(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    assert await _redact(http, sidecar, {"texts": []}) == {"results": []}


async def test_batch_caps_name_the_field(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    from sidecar.api.redact_routes import MAX_BATCH_CHARS, MAX_TEXTS

    too_many = await _redact(http, sidecar, {"texts": ["a"] * (MAX_TEXTS + 1)}, status=422)
    assert too_many["error"]["field"] == "texts"
    at_cap = await _redact(http, sidecar, {"texts": ["a b"] * MAX_TEXTS})
    assert len(at_cap["results"]) == MAX_TEXTS
    big = "y" * (MAX_BATCH_CHARS // 3 + 1)
    too_big = await _redact(http, sidecar, {"texts": [big, big, big]}, status=413)
    assert too_big["error"]["field"] == "texts"
    both = await _redact(http, sidecar, {"text": "a", "texts": ["b"]}, status=422)
    assert both["error"]["field"] == "text"
    neither = await _redact(http, sidecar, {}, status=422)
    assert neither["error"]["field"] == "text"
    not_strings = await _redact(http, sidecar, {"texts": ["ok", 5]}, status=422)
    assert not_strings["error"]["field"] == "texts[1]"
