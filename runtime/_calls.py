"""The synchronous questions an agent asks: admission and the semantic cache.

Each is one small JSON request over a kept-alive connection. Failures follow the client's
policy: fail-open answers "allowed" / "miss" (and counts it), fail-closed raises
:class:`SidecarUnavailable`. A denial is always raised as a typed :class:`SidecarDenied`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from runtime._errors import (
    CONFIGURATION_STATUSES,
    SidecarConfigurationError,
    SidecarError,
    SidecarUnavailable,
    configuration_error,
    denial,
)
from runtime._transport import ClientStats

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Grant:
    """The sidecar's yes to a step. ``reservation_id`` goes on the llm_call event so the sidecar
    settles the reservation with the actual usage; ``degraded`` marks a fail-open allow."""

    allowed: bool
    reservation_id: str | None = None
    warnings: tuple[dict[str, Any], ...] = ()
    degraded: bool = False
    # The budget's degradation step (warn, suggest, restrict) and, from suggest on, a cheaper
    # model with its price per million tokens (wrap_openai(..., apply_suggestions=True) uses it).
    step: str | None = None
    suggested_model: str | None = None
    suggested_price: dict[str, float] | None = None


def _policy_refusal(status: int, payload: Any) -> bool:
    """A 403 that is the tool policy's answer to an admit, not a token or role problem."""
    return (status == 403 and isinstance(payload, dict) and payload.get("allowed") is False
            and isinstance(payload.get("reason"), str))  # fmt: skip


class SidecarCalls:
    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        base_url: str,
        headers: dict[str, str],
        *,
        fail_open: bool,
        stats: ClientStats,
        on_configuration_error: Callable[[SidecarConfigurationError], None] = lambda _: None,
    ) -> None:
        self._session = session
        self._on_configuration_error = on_configuration_error
        self._base = base_url
        self._headers = {**headers, "Content-Type": "application/json"}
        self.fail_open = fail_open
        self._stats = stats

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any] | None:
        """POST ``body`` as JSON: ``(status, payload)``, or None when the sidecar could not
        answer (unreachable, timeout, a 2xx or 5xx that is not JSON). A 401, 403 or 404 raises
        :class:`SidecarConfigurationError`, whatever the fail policy, except the tool policy's
        refusal of a call (403 with ``{"allowed": false, "reason": ...}``), which is returned."""
        try:
            async with self._session().post(
                self._base + path, data=_encode(body), headers=self._headers
            ) as response:
                status = response.status
                try:
                    payload = await response.json(content_type=None)
                except ValueError:
                    if status not in CONFIGURATION_STATUSES:
                        return None
                    payload = None
        except (TimeoutError, aiohttp.ClientError, OSError):
            return None
        if status in CONFIGURATION_STATUSES and not _policy_refusal(status, payload):
            error = configuration_error(f"POST {path}", status, payload)
            self._on_configuration_error(error)
            raise error
        return status, payload

    def _unreachable(self, what: str) -> None:
        self._stats.failed_requests += 1
        if not self.fail_open:
            raise SidecarUnavailable(f"{what}: the sidecar could not be reached")

    async def admit(self, body: dict[str, Any]) -> Grant:
        """Ask before a step; raises a typed denial, or follows the fail policy when the
        sidecar cannot answer (unreachable, 5xx). 401 or 403 (the token) and 404 (the URL)
        raise :class:`SidecarConfigurationError`; any other answer (400/422: the request) is
        :class:`SidecarError` with the status, never a silent allow."""
        answer = await self.post("/v1/admit", {k: v for k, v in body.items() if v is not None})
        if answer is None or answer[0] >= 500:
            self._unreachable("admit")
            self._stats.admits_degraded += 1
            return Grant(allowed=True, degraded=True)
        status, payload = answer
        if status == 429:
            raise denial(payload if isinstance(payload, dict) else {})
        if _policy_refusal(status, payload):
            raise denial(payload, 403)
        if status != 200:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            raise SidecarError(
                f"admit refused by the sidecar (HTTP {status}): "
                f"{error.get('code', '')} {error.get('message', '')}".rstrip(),
                status,
            )
        return Grant(
            allowed=True,
            reservation_id=payload.get("reservation_id"),
            warnings=tuple(payload.get("warnings") or ()),
            degraded=bool(payload.get("degraded")),
            step=payload.get("step"),
            suggested_model=payload.get("suggested_model"),
            suggested_price=payload.get("suggested_price"),
        )

    async def wait_approval(self, approval_id: str, wait_s: float) -> dict[str, Any] | None:
        """``GET /v1/approvals/{id}?wait=``: the approval once decided or after ``wait_s``;
        None when the sidecar cannot answer."""
        try:
            async with self._session().get(
                f"{self._base}/v1/approvals/{quote(approval_id, safe='')}",
                params={"wait": f"{max(0.0, wait_s):.3f}"},
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=wait_s + 10),
            ) as response:
                payload = await response.json(content_type=None)
                return payload if response.status == 200 and isinstance(payload, dict) else None
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
            return None

    async def cache_lookup(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.post("/v1/cache/lookup", body)
        if answer is None or answer[0] != 200:
            if answer is None or answer[0] >= 500:
                self._unreachable("cache lookup")
            return {"hit": False, "result": "unavailable"}
        result: dict[str, Any] = answer[1]
        return result

    async def cache_store(self, body: dict[str, Any]) -> bool:
        answer = await self.post("/v1/cache/store", body)
        return answer is not None and answer[0] == 200

    async def cached(
        self,
        scope: dict[str, Any],
        key: Any,
        compute: Callable[[], Any],
        *,
        ttl_s: float | None = None,
        cost_usd: float | None = None,
        tokens: int | None = None,
    ) -> Any:
        """The cached value for ``key`` in ``scope``, else ``compute()`` (sync or async),
        stored for next time. A sidecar problem only ever costs a recompute."""
        try:
            found = await self.cache_lookup({**scope, "key": key})
        except SidecarUnavailable:
            found = {"hit": False}
        if found.get("hit"):
            return found.get("value")
        value = compute()
        if inspect.isawaitable(value):
            value = await value
        body = {
            **scope,
            "key": key,
            "value": value,
            "ttl_s": ttl_s,
            "cost_usd": cost_usd,
            "tokens": tokens,
        }
        await self.cache_store({k: v for k, v in body.items() if v is not None})
        return value
