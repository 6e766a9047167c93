"""The model price table: USD per 1M input, output and cached-input tokens.

What is promised: ``PriceTable.cost(model, input_tokens, output_tokens, cached_input_tokens)``
returns ``(cost_usd, priced)``. ``priced`` is False when the model is not in the table; the cost
then comes from the configured default price, so a budget still counts the call.

``input_tokens`` is the whole prompt, cached part included (OpenAI's ``prompt_tokens``); the
``cached_input_tokens`` among them are charged at the cached rate (or the input rate when the
model has none)::

    >>> t = PriceTable.load()
    >>> t.cost("gpt-4o-2024-08-06", 1_000_000, 100_000, 200_000)
    (3.25, True)

that is 0.8M x $2.50 + 0.2M cached x $1.25 + 0.1M output x $10 per 1M.

Name resolution, tried in order until one hits: the name lower-cased; an alias; the name without
a provider prefix (``openai/``, ``models/``, ``anthropic.``); the name without a version or date
suffix (``-2024-08-06``, ``-20241022``, ``@20241022``, ``-v1:0``, ``-0613``, ``-001``,
``-latest``, ``-preview-05-20``, ``-exp``), repeatedly. There is no prefix guessing (``o1-pro``
is not ``o1``): an unknown name is unpriced rather than mispriced. Resolutions are memoised
(bounded at 4,096 names), so a lookup costs a dict hit.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import yaml

from sidecar.pricing.config import DefaultPrice, UsdPerMTok

_PREFIX = re.compile(
    r"^(?:[a-z0-9_.-]+/)+|^(?:anthropic|meta|mistral|cohere|amazon|google|us|eu|apac)\."
)
_SUFFIX = re.compile(
    r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|@latest|-v\d+(?::\d+)?|-\d{4}|-\d{3}|-latest"
    r"|-preview(?:-\d{2}-\d{2})?|-exp(?:-\d{4})?)$"
)
_MEMO_LIMIT = 4096
PER_TOKEN = 1e-6


class PriceTableError(ValueError):
    """The price file is malformed; the message names the file and the entry."""


class ModelPrice(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """USD per 1M tokens. ``cached_input`` None means cached tokens cost the input rate."""

    input: UsdPerMTok
    output: UsdPerMTok
    cached_input: UsdPerMTok | None = None


class _PriceFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    as_of: str | None = None
    models: dict[str, ModelPrice] = msgspec.field(default_factory=dict)
    aliases: dict[str, str] = msgspec.field(default_factory=dict)


# libyaml's loader when built (same safe schema, faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path | None) -> _PriceFile:
    if path is None:
        text = resources.files("sidecar.pricing").joinpath("prices.yaml").read_text("utf-8")
        name = "prices.yaml (shipped)"
    else:
        text = path.read_text("utf-8")
        name = str(path)
    try:
        raw: Any = json.loads(text) if name.endswith(".json") else yaml.load(text, _LOADER)
        return msgspec.convert(raw or {}, _PriceFile)
    except (ValueError, yaml.YAMLError, msgspec.ValidationError) as exc:
        raise PriceTableError(f"{name}: {exc}") from exc


class PriceTable:
    """Model → :class:`ModelPrice`, with alias and suffix resolution and a default price."""

    def __init__(
        self,
        models: dict[str, ModelPrice],
        aliases: dict[str, str] | None = None,
        default: DefaultPrice | None = None,
    ) -> None:
        self._models = {k.lower(): v for k, v in models.items()}
        self._aliases = {k.lower(): v.lower() for k, v in (aliases or {}).items()}
        for alias, target in self._aliases.items():
            if target not in self._models:
                raise PriceTableError(f"alias {alias!r} points at unknown model {target!r}")
        d = default or DefaultPrice()
        self.default = ModelPrice(input=d.input, output=d.output, cached_input=d.cached_input)
        self._memo: dict[str, str | None] = {}

    @classmethod
    def load(
        cls, user_file: str | Path | None = None, default: DefaultPrice | None = None
    ) -> PriceTable:
        """The shipped table, extended and overridden entry by entry by ``user_file``."""
        base = _read(None)
        models, aliases = dict(base.models), dict(base.aliases)
        if user_file is not None:
            extra = _read(Path(user_file))
            models.update(extra.models)
            aliases.update(extra.aliases)
        return cls(models, aliases, default)

    def __len__(self) -> int:
        return len(self._models)

    def resolve(self, model: str) -> str | None:
        """The table's name for ``model``, or None when it is unknown."""
        try:
            return self._memo[model]
        except KeyError:
            pass
        found = self._resolve(model)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[model] = found
        return found

    def _resolve(self, model: str) -> str | None:
        name = model.strip().lower()
        for _ in range(8):
            if name in self._models:
                return name
            if name in self._aliases:
                return self._aliases[name]
            shorter = _PREFIX.sub("", name, count=1)
            if shorter == name:
                shorter = _SUFFIX.sub("", name, count=1)
            if shorter == name or not shorter:
                return None
            name = shorter
        return None

    def price(self, model: str | None) -> tuple[ModelPrice, bool]:
        """The price of ``model`` and whether it came from the table."""
        name = self.resolve(model) if model else None
        if name is None:
            return self.default, False
        return self._models[name], True

    def cost(
        self,
        model: str | None,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int | None = 0,
    ) -> tuple[float, bool]:
        """``(cost_usd, priced)`` of one call; cached tokens are a part of ``input_tokens``."""
        p, priced = self.price(model)
        cached = min(cached_input_tokens or 0, input_tokens)
        cached_rate = p.input if p.cached_input is None else p.cached_input
        usd = (
            (input_tokens - cached) * p.input + cached * cached_rate + output_tokens * p.output
        ) * PER_TOKEN
        return round(usd, 12), priced
