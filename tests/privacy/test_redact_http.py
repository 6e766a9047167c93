"""``POST /v1/redact`` over real HTTP: every type, code-point offsets, the three modes, errors."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from tests.conftest import RunningSidecar

from .canaries import find_leaks, make_canaries


async def _redact(http: aiohttp.ClientSession, sidecar: RunningSidecar, body: Any,
                  status: int = 200) -> dict[str, Any]:
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
    found = [(f["type"], text[f["start"]:f["end"]]) for f in answer["findings"]]
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
    assert spans == [("EMAIL", email, email + len("zhang.san@example.cn")),
                     ("CN_PHONE", phone, phone + len("138 1234 5678"))]
    assert answer["text"] == "用户张三 🙂🙂 的邮箱是 [EMAIL]，手机 [CN_PHONE]。"


async def test_modes_label_hash_and_partial(
    sidecar: RunningSidecar, http: aiohttp.ClientSession
) -> None:
    text = "card 4111 1111 1111 1111 mail ann@example.com"
    label = await _redact(http, sidecar, {"text": text, "mode": "label"})
    assert label["text"] == "card [CREDIT_CARD] mail [EMAIL]"
    hashed = await _redact(http, sidecar, {"text": text, "mode": "hash"})
    assert re.fullmatch(r"card \[CREDIT_CARD:[0-9a-f]{12}\] mail \[EMAIL:[0-9a-f]{12}\]",
                        hashed["text"]), hashed["text"]
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
    async with http.post(f"{sidecar.url}/v1/redact", data=b"{\"text\": ",
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
