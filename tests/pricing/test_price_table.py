"""The price table: shipped prices, name resolution, user overrides, the pricing transform."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.events.schema import LlmCall, Run
from sidecar.pricing import DefaultPrice, EventPricer, PriceTable, PriceTableError


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai/gpt-4.1-2025-04-14", "gpt-4.1"),
        ("chatgpt-4o-latest", "gpt-4o"),
        ("gpt-4-0613", "gpt-4"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
        ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("models/gemini-1.5-pro-latest", "gemini-1.5-pro"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "llama-3.3-70b-instruct"),
        ("deepseek-ai/DeepSeek-V3", "deepseek-chat"),
        ("GPT-4o", "gpt-4o"),
    ],
)
def test_aliases_and_dated_names_resolve_to_the_base_model(
    table: PriceTable, name: str, base: str
) -> None:
    assert table.resolve(name) == base


def test_no_prefix_guessing_a_different_model_is_not_mispriced(table: PriceTable) -> None:
    assert table.resolve("o1-pro") == "o1-pro"
    assert table.resolve("gpt-4o-realtime-superfast") is None
    assert table.resolve("my-finetune") is None


def test_every_provider_family_is_shipped(table: PriceTable) -> None:
    for name in ("gpt-4o", "o3", "claude-sonnet-4", "gemini-2.5-pro", "deepseek-chat",
                 "llama-3.1-8b-instruct", "mistral-large"):  # fmt: skip
        assert table.resolve(name) == name


def test_cost_charges_cached_input_at_the_cached_rate(table: PriceTable) -> None:
    cost, priced = table.cost("gpt-4o-2024-08-06", 1_000_000, 100_000, 200_000)
    assert priced
    assert cost == pytest.approx(0.8 * 2.50 + 0.2 * 1.25 + 0.1 * 10.0)


def test_cached_tokens_without_a_cached_rate_cost_the_input_rate(table: PriceTable) -> None:
    full, _ = table.cost("gpt-4", 1000, 0, 0)
    cached, _ = table.cost("gpt-4", 1000, 0, 1000)
    assert full == cached == pytest.approx(0.03)


def test_cached_tokens_never_exceed_input_tokens(table: PriceTable) -> None:
    assert table.cost("gpt-4o", 100, 0, 10_000)[0] == pytest.approx(100 * 1.25e-6)


def test_unknown_model_costs_the_default_and_is_unpriced() -> None:
    table = PriceTable.load(default=DefaultPrice(input=1.0, output=2.0))
    cost, priced = table.cost("no-such-model", 1_000_000, 1_000_000)
    assert (cost, priced) == (pytest.approx(3.0), False)
    assert table.cost(None, 10, 10)[1] is False


def test_user_file_overrides_and_extends(tmp_path: Path) -> None:
    f = tmp_path / "prices.yaml"
    f.write_text(
        "models:\n"
        "  gpt-4o: {input: 1.0, output: 2.0}\n"
        "  acme-llm: {input: 0.5, output: 0.5, cached_input: 0.1}\n"
        "aliases:\n"
        "  acme: acme-llm\n"
    )
    table = PriceTable.load(f)
    assert table.cost("gpt-4o", 1_000_000, 0) == (pytest.approx(1.0), True)
    assert table.cost("acme", 1_000_000, 0, 1_000_000) == (pytest.approx(0.1), True)
    assert table.resolve("claude-3-haiku-20240307") == "claude-3-haiku"


def test_json_user_file(tmp_path: Path) -> None:
    f = tmp_path / "prices.json"
    f.write_text('{"models": {"x-1": {"input": 1, "output": 1}}}')
    assert PriceTable.load(f).cost("x-1", 1_000_000, 0)[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "text",
    [
        "models:\n  x: {input: -1, output: 1}\n",
        "models:\n  x: {input: 1, outptu: 1}\n",
        "aliases:\n  y: not-a-model\n",
        "models: [",
    ],
)
def test_a_bad_price_file_is_an_error_naming_the_file(tmp_path: Path, text: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(PriceTableError):
        PriceTable.load(f)


def _llm(model: str, cost: float | None = None) -> LlmCall:
    return LlmCall(
        ts=1.0, request_id="r", model=model, provider="p", input_tokens=1000,
        output_tokens=500, start_ts=1.0, duration_ms=1.0, cost_usd=cost,
    )  # fmt: skip


def test_event_pricer_sets_cost_on_llm_calls_and_counts_unpriced(table: PriceTable) -> None:
    pricer = EventPricer(table)
    events = [_llm("gpt-4o-mini"), _llm("mystery"), Run(ts=1.0, request_id="r", start_ts=1.0)]
    pricer.process(events)
    first, second = events[0], events[1]
    assert isinstance(first, LlmCall) and isinstance(second, LlmCall)
    assert first.cost_usd == pytest.approx(1000 * 0.15e-6 + 500 * 0.60e-6)
    assert second.cost_usd is not None and second.cost_usd > 0
    assert pricer.stats() == {"priced": 1, "unpriced": 1}
    assert pricer.unpriced_models == {"mystery"}


def test_client_cost_is_replaced_unless_trusted(table: PriceTable) -> None:
    ours, theirs = [_llm("gpt-4o", cost=0.0)], [_llm("gpt-4o", cost=0.0)]
    EventPricer(table).process(ours)
    EventPricer(table, trust_client_cost=True).process(theirs)
    assert isinstance(ours[0], LlmCall) and ours[0].cost_usd and ours[0].cost_usd > 0
    assert isinstance(theirs[0], LlmCall) and theirs[0].cost_usd == 0.0
