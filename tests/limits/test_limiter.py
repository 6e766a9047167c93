"""Per-request limits: steps, tool calls, wall time, loop detection, bounded state."""

from __future__ import annotations

from sidecar.limits import LimitsConfig, RequestLimiter, canonical_call


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock | None = None, **kw: object) -> RequestLimiter:
    base: dict[str, object] = {
        "max_steps_per_request": None, "max_tool_calls_per_request": None,
        "max_request_seconds": None, "loop_repeat_threshold": None,
    }  # fmt: skip
    base.update(kw)
    return RequestLimiter(LimitsConfig(**base), clock or Clock())  # type: ignore[arg-type]


def test_step_limit_denies_the_step_after_the_limit() -> None:
    lim = limiter(max_steps_per_request=3)
    assert [lim.check("r", "llm").allowed for _ in range(4)] == [True, True, True, False]
    d = lim.check("r", "tool", "t", {})
    assert (d.reason, d.limit, d.usage) == ("step_limit_exceeded", 3, 3)
    assert lim.check("other", "llm").allowed
    assert lim.stats()["denied_step_limit_exceeded"] == 2


def test_tool_call_limit_counts_tools_only() -> None:
    lim = limiter(max_tool_calls_per_request=2)
    assert lim.check("r", "tool", "a", 1).allowed
    assert lim.check("r", "llm").allowed
    assert lim.check("r", "tool", "b", 2).allowed
    assert lim.check("r", "tool", "c", 3).reason == "tool_call_limit_exceeded"
    assert lim.check("r", "llm").allowed


def test_time_limit_from_the_first_step() -> None:
    clock = Clock()
    lim = limiter(clock, max_request_seconds=30.0)
    assert lim.check("r", "llm").allowed
    clock.now += 30.0
    assert lim.check("r", "llm").allowed
    clock.now += 0.5
    assert lim.check("r", "llm").reason == "time_limit_exceeded"


def test_loop_detection_on_identical_consecutive_calls() -> None:
    lim = limiter(loop_repeat_threshold=3)
    assert lim.check("r", "tool", "search", {"q": "x", "n": 1}).allowed
    assert lim.check("r", "tool", "search", {"n": 1, "q": "x"}).allowed
    d = lim.check("r", "tool", "search", {"n": 1, "q": "x"})
    assert (d.allowed, d.reason, d.limit) == (False, "loop_detected", 3)


def test_a_different_call_in_between_restarts_the_count() -> None:
    lim = limiter(loop_repeat_threshold=3)
    for args in ({"q": 1}, {"q": 1}, {"q": 2}, {"q": 1}, {"q": 1}):
        assert lim.check("r", "tool", "search", args).allowed
    assert lim.check("r", "tool", "search", {"q": 1}).reason == "loop_detected"
    assert lim.check("r", "tool", "fetch", {"q": 1}).allowed


def test_canonicalisation_ignores_key_order_not_values() -> None:
    assert canonical_call("t", {"b": 1, "a": [1, 2]}) == canonical_call("t", {"a": [1, 2], "b": 1})
    assert canonical_call("t", {"a": [1, 2]}) != canonical_call("t", {"a": [2, 1]})
    assert canonical_call("t", {"a": 1}) != canonical_call("u", {"a": 1})


def test_denied_steps_are_not_counted() -> None:
    lim = limiter(max_steps_per_request=2, loop_repeat_threshold=2)
    assert lim.check("r", "tool", "t", 1).allowed
    assert lim.check("r", "tool", "t", 1).reason == "loop_detected"
    assert lim.check("r", "llm").allowed
    assert lim.check("r", "llm").reason == "step_limit_exceeded"


def test_memory_is_bounded_by_max_tracked_requests() -> None:
    lim = limiter(max_tracked_requests=100, max_steps_per_request=1)
    for i in range(1000):
        lim.check(f"r{i}", "llm")
    assert len(lim) <= 100
    assert lim.stats()["evicted"] >= 900


def test_idle_request_state_expires() -> None:
    clock = Clock()
    lim = limiter(clock, request_state_ttl_s=60.0, max_steps_per_request=1)
    assert lim.check("old", "llm").allowed
    clock.now += 61.0
    lim.check("new", "llm")
    assert len(lim) == 1
    assert lim.check("old", "llm").allowed  # forgotten, so a fresh request


def test_end_forgets_a_request() -> None:
    lim = limiter(max_steps_per_request=1)
    lim.check("r", "llm")
    lim.end("r")
    assert lim.check("r", "llm").allowed
