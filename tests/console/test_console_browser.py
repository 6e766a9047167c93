"""The console in a real browser (Debian's Chromium, driven by Playwright) against real
``agent-sidecar serve`` processes.

Paths covered: every view (overview, cost, budgets, runs and a run's timeline, cache, safety,
health) on a sidecar loaded with the demo workload through the runtime SDK, each number checked
against the JSON API it comes from; live refresh as new events arrive; the empty state of every
view on a fresh database; tokens (the page asks for one, keeps it in the tab only, and shows
nothing without a reader token); keyboard use, labelled controls, text contrast and a phone's
width; names that try to inject HTML. Each view is saved as a screenshot under
``test-artifacts/console/`` (git-ignored).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from sidecar.api.principals import token_digest
from tests.conftest import SidecarProcess, require_service
from tests.console.browser import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    PII_EMAIL,
    XSS,
    api,
    figures,
    launch,
    llm,
    load_demo,
    open_view,
    send,
    shot,
)

VIEWS = ["overview", "cost", "budgets", "runs", "cache", "safety", "health"]
ADMIN = "console-admin-0123"
READER = "console-reader-0123"
AGENT = "console-agent-0123"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_service(CHROMIUM.exists(), "Debian's chromium is not installed (make tools)")
    with sync_playwright() as playwright:
        instance = launch(playwright)
        try:
            yield instance
        finally:
            instance.close()


def _serve(tmp: Path, name: str, env: dict[str, str] | None = None) -> SidecarProcess:
    return SidecarProcess(f"sqlite+aiosqlite:///{tmp / name}", env=env).start()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A sidecar (content capture on) loaded with the demo workload."""
    proc = _serve(tmp_path_factory.mktemp("demo"), "demo.db", {"SIDECAR_CAPTURE_CONTENT": "true"})
    try:
        load_demo(proc.url, runs=120, users=12)
        yield proc.url
    finally:
        proc.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    assert not [e for e in errors if "401" not in e and "403" not in e], errors


def values(page: Page, metric: str) -> list[float | None]:
    return [None if v == "" else float(v) for v, _ in figures(page, metric)]


def one(page: Page, metric: str) -> float:
    [value] = values(page, metric)
    assert value is not None, metric
    return value


def grouped(number: int) -> str:
    return f"{number:,}"


def test_overview_shows_the_api_figures(page: Page, demo: str) -> None:
    open_view(page, demo, "overview?window=1h")
    page.wait_for_selector("figure.chart svg rect")
    agg = api(demo, "/v1/aggregate", since=time.time() - 3600, group_by="type")
    by_type = {g["type"]: g for g in agg["groups"]}
    llm_calls = by_type["llm_call"]
    assert one(page, "llm_calls") == llm_calls["count"] > 200
    assert figures(page, "llm_calls")[0][1] == grouped(llm_calls["count"])
    assert one(page, "tool_calls") == by_type["tool_call"]["count"]
    assert one(page, "tokens") == llm_calls["input_tokens"] + llm_calls["output_tokens"]
    assert math.isclose(one(page, "cost_usd"), agg["total"]["cost_usd"], rel_tol=1e-9)
    stats = api(demo, "/v1/stats", window="1h", group_by="model")
    models = [s for s in stats["series"] if s["key"]["model"]]
    assert len(models) >= 5
    for metric in ("ttft_ms", "duration_ms", "tpot_ms"):
        for p in ("p50", "p90", "p99", "p999"):
            shown = values(page, f"{metric}.{p}")
            wanted = [s[metric][p] if s[metric] else None for s in models]
            assert shown == pytest.approx(wanted, rel=1e-12), (metric, p)
    assert page.locator("figure.chart svg path").count() >= 5  # a curve per model
    sent = page.evaluate(
        "() => performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource'))"
        ".reduce((n, e) => n + e.transferSize, 0)"
    )
    assert 0 < sent <= 500_000  # a cold first load (the context's cache starts empty)
    shot(page, "overview")
    page.select_option("#metric", "duration_ms")
    page.wait_for_selector('.content[data-view="overview"][data-loaded]')
    assert "metric=duration_ms" in page.url
    assert page.get_by_text("Distribution of duration per model").is_visible()


def test_cost_view_shows_spend_per_model_agent_and_user(page: Page, demo: str) -> None:
    open_view(page, demo, "cost")
    since = time.time() - 86_400
    models = api(demo, "/v1/aggregate", since=since, group_by="model")
    ranked = sorted(models["groups"], key=lambda g: -g["cost_usd"])
    assert values(page, "model.cost_usd") == pytest.approx([g["cost_usd"] for g in ranked])
    assert one(page, "cost_usd") == pytest.approx(models["total"]["cost_usd"])
    agents = api(demo, "/v1/aggregate", since=since, type="llm_call", group_by="agent")
    counts = cast(list[float], values(page, "agent.count"))
    assert sorted(counts) == sorted(g["count"] for g in agents["groups"])
    users = api(demo, "/v1/aggregate", since=since, type="llm_call", group_by="user")
    top = sorted(users["groups"], key=lambda g: -g["cost_usd"])[:25]
    assert values(page, "user.cost_usd") == pytest.approx([g["cost_usd"] for g in top])
    assert page.locator("figure.chart svg rect").count() >= 5
    page.get_by_text("Spend per hour (table)").click()
    assert sum(v or 0 for v in values(page, "bucket.cost_usd")) == pytest.approx(
        models["total"]["cost_usd"]
    )
    shot(page, "cost")


def test_budgets_view_shows_usage_thresholds_and_denials(page: Page, demo: str) -> None:
    open_view(page, demo, "budgets")
    for user in ("user-000", "user-001"):
        usage = api(demo, f"/v1/usage/user/{user}")
        card = f'[data-key="user/{user}//1d"]'
        assert values(page, "tokens_used") and figures(page, "tokens_used", card)[0][0] == str(
            usage["tokens_used"]
        )
        assert figures(page, "remaining_tokens", card)[0][0] == str(usage["remaining_tokens"])
        assert figures(page, "tokens_reserved", card)[0][0] == str(usage["tokens_reserved"])
        assert page.locator(f"{card} .meter-mark.warn").count() == 1
        assert page.locator(f"{card} .meter-mark.deny").count() == 1
        label = page.locator(f"{card} .meter").get_attribute("aria-label") or ""
        assert label.startswith("Tokens: ")
    denials = api(demo, "/v1/budgets/denials", limit=50)["denials"]
    assert denials, "the demo's small budgets deny some admits"
    shown = figures(page, "reason")
    assert [v for v, _ in shown] == [d["reason"] for d in denials]
    assert values(page, "retry_after_s") == [d["retry_after_s"] for d in denials]
    shot(page, "budgets")


def test_runs_list_and_a_runs_timeline(page: Page, demo: str) -> None:
    open_view(page, demo, "runs")
    runs = api(demo, "/v1/runs", limit=50)["runs"]
    rows = page.locator(".content tbody tr")
    assert rows.count() == 50
    assert values(page, "llm_calls") == [r["llm_calls"] for r in runs]
    assert values(page, "cost_usd") == pytest.approx([r["cost_usd"] for r in runs])
    shot(page, "runs")
    target = next(r for r in runs if r["llm_calls"] >= 2 and r["tool_calls"] >= 1)
    link = page.get_by_role("link", name=target["request_id"])
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.content[data-view="runs"][data-loaded] .timeline')
    detail = api(demo, f"/v1/runs/{target['request_id']}")
    steps = [e for e in detail["events"] if e["type"] != "run"]
    assert page.locator(".timeline li").count() == len(steps)
    assert values(page, "duration_ms")[1:] == [e["duration_ms"] for e in steps]
    assert one(page, "llm_calls") == detail["run"]["llm_calls"]
    assert page.evaluate("document.activeElement.id") == "view-title"
    shot(page, "run-timeline")


def test_a_runs_content_is_shown_redacted(page: Page, demo: str) -> None:
    open_view(page, demo, "runs/run-with-content")
    for summary in page.locator(".contents summary").all():
        summary.click()
    text = page.locator(".content").inner_text()
    assert "[EMAIL]" in text and PII_EMAIL not in text and "4111 1111" not in text
    assert "reveal your system prompt" in text
    shot(page, "run-content")


def test_cache_view_shows_the_summary_figures(page: Page, demo: str) -> None:
    open_view(page, demo, "cache")
    cache = api(demo, "/v1/summary")["cache"]
    assert one(page, "lookups") == cache["lookups_total"] > 0
    assert one(page, "hit_rate") == pytest.approx(cache["hit_rate"])
    assert one(page, "tokens_saved") == cache["tokens_saved"]
    assert one(page, "usd_saved") == pytest.approx(cache["usd_saved"])
    for result, n in cache["lookups"].items():
        assert one(page, f"lookups.{result}") == n
    assert values(page, "ns.lookups") == [n["lookups"] for n in cache["namespaces"]]
    shot(page, "cache")


def test_safety_view_shows_redactions_and_injection_findings(page: Page, demo: str) -> None:
    open_view(page, demo, "safety")
    safety = api(demo, "/v1/summary")["safety"]
    assert one(page, "redactions_total") == sum(safety["redactions"].values()) > 0
    assert one(page, "redactions.EMAIL") == safety["redactions"]["EMAIL"]
    injection = safety["injection"]
    assert one(page, "flagged.tool_result") == injection["flagged"]["tool_result"]
    found = sum(v or 0 for v in values(page, "findings.tool_result"))
    assert found == sum(injection["tool_result"].values()) > 0
    shot(page, "safety")


def test_health_view_shows_store_exporter_and_masked_configuration(page: Page, demo: str) -> None:
    open_view(page, demo, "health")
    health = api(demo, "/health")
    assert figures(page, "version")[0][0] == health["version"]
    assert values(page, "db_latency_ms")[0] is not None
    summary = api(demo, "/v1/summary")
    assert page.get_by_text("Span export (OTLP) is turned off").is_visible()
    assert figures(page, "Ingest.value")[0][0] == str(summary["ingest"]["accepted"])
    assert page.get_by_text("Listening on").is_visible()
    shot(page, "health")


def test_names_holding_html_are_shown_as_text(page: Page, demo: str) -> None:
    open_view(page, demo, "runs")
    assert page.get_by_text(XSS).first.is_visible()
    open_view(page, demo, "overview?window=1h")
    open_view(page, demo, "cost")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img").count() == 0


def test_views_update_when_new_events_arrive(page: Page, demo: str) -> None:
    open_view(page, demo, "overview?window=1h")
    page.select_option("#refresh", "2")  # the refresh control: every 2 s
    before = one(page, "llm_calls")
    page.evaluate("() => { window.__samePage = true; }")
    send(demo, [llm("live-run") for _ in range(5)])
    page.wait_for_function(
        "(want) => document.querySelector('[data-metric=\"llm_calls\"]')?.dataset.value === want",
        arg=f"{before + 5:g}",
        timeout=30_000,
    )
    assert page.evaluate("() => window.__samePage") is True  # updated without a reload
    page.goto(page.url.split("#")[0] + "#/runs")
    page.wait_for_selector('.content[data-view="runs"][data-loaded]')
    send(demo, [llm("live-run-2")])
    page.wait_for_function(
        "() => document.querySelector('.content tbody tr th a')?.textContent === 'live-run-2'",
        timeout=30_000,
    )


def test_every_view_has_a_clear_empty_state_on_a_fresh_database(
    browser: Browser,
    tmp_path: Path,
) -> None:
    proc = _serve(tmp_path, "fresh.db")
    try:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        open_view(page, proc.url, "overview")
        assert page.get_by_role("heading", name="No events yet").is_visible()
        for view in VIEWS[1:]:
            open_view(page, proc.url, view)
            if view == "health":  # nothing to be empty: the parts and their state
                assert page.locator(".badge.healthy").is_visible()
                assert figures(page, "Ingest.value")[0][0] == "0"
            else:
                assert page.locator("[data-empty]").count() == 1, view
                assert page.locator("[data-empty] h2").is_visible(), view
            shot(page, f"empty-{view}")
        context.close()
    finally:
        proc.stop()


def _tokens_env() -> dict[str, str]:
    import json

    return {
        "SIDECAR_API_TOKEN": ADMIN,
        "SIDECAR_AUTH__TOKENS": json.dumps(
            [
                {"sha256": token_digest(READER), "role": "reader", "name": "console-reader"},
                {"sha256": token_digest(AGENT), "role": "agent", "name": "console-agent"},
            ]
        ),
    }


def test_with_tokens_the_page_asks_for_one_and_shows_nothing_without_a_reader(
    browser: Browser,
    tmp_path: Path,
) -> None:
    proc = _serve(tmp_path, "tokens.db", _tokens_env())
    try:
        send(proc.url, [llm("secret-run")], ADMIN)
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        answers: list[tuple[str, int, str | None]] = []
        page.on(
            "response",
            lambda r: (
                answers.append((r.url, r.status, r.request.headers.get("authorization")))
                if "/v1/" in r.url
                else None
            ),
        )
        page.goto(f"{proc.url}/ui/#/runs")
        dialog = page.locator("#token-dialog")
        dialog.wait_for(state="visible")
        assert answers and all(status == 401 for _, status, _ in answers), answers
        assert "secret-run" not in page.content()
        shot(page, "token-dialog")
        page.fill("#token-input", AGENT)
        page.keyboard.press("Enter")
        # The 401 notice from before the token may still be on the page: wait for the answer
        # to the agent's token itself (a 403), then for the notice it brings.
        page.wait_for_selector('.content[data-view="runs"] .notice.error >> text=Not allowed')
        assert any(status == 403 and auth == f"Bearer {AGENT}" for _, status, auth in answers)
        assert "Not allowed with this token" in page.locator(".content").inner_text()
        assert "secret-run" not in page.content()
        page.click("#token-button")
        page.fill("#token-input", READER)
        page.click("#token-form button[type=submit]")
        page.wait_for_selector("text=secret-run")
        assert answers[-1][1] == 200 and answers[-1][2] == f"Bearer {READER}"
        stored = page.evaluate(
            "[sessionStorage.getItem('agent-sidecar.token'), localStorage.length, document.cookie]"
        )
        assert stored == [READER, 0, ""]
        other = context.new_page()  # another tab: its own session storage, no token
        other.goto(f"{proc.url}/ui/#/runs")
        other.locator("#token-dialog").wait_for(state="visible")
        context.close()
    finally:
        proc.stop()


CONTRAST = """() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 :
    ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c.length < 4 || c[3] > 0.5) return c; }
    return [255, 255, 255]; };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !el.checkVisibility()) continue;
    if (el.closest("svg, .skip-link, option")) continue;
    const style = getComputedStyle(el);
    const a = lum(parse(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) bad.push(`${n.textContent.trim().slice(0, 30)}: ${ratio.toFixed(2)}`);
  }
  return bad;
}"""

UNLABELLED = """() => [...document.querySelectorAll("input, select, button, textarea")]
  .filter((el) => el.checkVisibility())
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 80))"""


def test_keyboard_labels_contrast_and_phone_width(page: Page, demo: str) -> None:
    open_view(page, demo, "overview")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Cost"
    page.keyboard.press("Enter")
    page.wait_for_selector('.content[data-view="cost"][data-loaded]')
    assert page.evaluate("document.activeElement.id") == "view-title"
    assert page.locator('nav a[aria-current="page"]').inner_text() == "Cost"
    for view in VIEWS:
        open_view(page, demo, view)
        assert page.evaluate(UNLABELLED) == [], view
        assert page.evaluate(CONTRAST) == [], view
    page.set_viewport_size(PHONE)
    for view in VIEWS:
        open_view(page, demo, view)
        page.wait_for_timeout(200)  # charts redraw on resize
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (view, overflow)
        shot(page, f"phone-{view}")
