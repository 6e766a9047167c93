"""The tool policy language: rules per tenant and agent, the first matching rule wins.

A policy is ``{"rules": [...]}``; each rule names tools by glob (``fs.*``, ``shell``) and says
``allow``, ``deny`` or ``approval`` (a person decides first). A rule may also validate the
arguments against a JSON Schema, confine file paths (``paths``), refuse shell commands
(``commands``), cap the call rate (``rate``) and tag the tool ``expensive`` (refused by a budget's
degradation ladder near its limit). Policies are kept under ``(tenant, agent)``; either may be
``"*"``. The policy used for a call is the most specific one stored: ``(tenant, agent)``, then
``(tenant, *)``, then ``(*, agent)``, then ``(*, *)`` (policies are not merged). A call no rule
matches gets ``tools.default_action`` (``allow`` unless configured).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import msgspec

from sidecar.tools.globs import name_match

ANY = "*"
Action = Literal["allow", "deny", "approval"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Glob = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Keys = Annotated[list[Name], msgspec.Meta(max_length=64)]
Globs = Annotated[list[Glob], msgspec.Meta(max_length=256)]


def check_name(value: str, what: str) -> None:
    """Names are printable: no U+0000 or other control characters (422 otherwise)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} must not contain control characters")


class PathRules(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Paths in the arguments (values of ``keys``, at any depth) must match an ``allow`` glob
    when any is given and no ``deny`` glob; ``base`` is the absolute work directory relative
    paths are joined to (without it a relative path matches only relative globs)."""

    allow: Globs = msgspec.field(default_factory=list)
    deny: Globs = msgspec.field(default_factory=list)
    keys: Keys | None = None
    base: Glob | None = None

    def __post_init__(self) -> None:
        if self.base is not None and not self.base.startswith("/"):
            raise ValueError("paths.base must be an absolute path")
        for g in (*self.allow, *self.deny):
            check_name(g, "a path glob")


class CommandRules(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Shell commands in the arguments (values of ``keys``) must match no ``deny`` pattern."""

    deny: Annotated[list[Glob], msgspec.Meta(max_length=256)] = msgspec.field(default_factory=list)
    keys: Keys | None = None

    def __post_init__(self) -> None:
        from sidecar.tools.commands import compile_pattern

        for p in self.deny:
            check_name(p, "a command pattern")
            compile_pattern(p)  # raises ValueError for a pattern that cannot be parsed


class RateRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A token bucket per tenant, agent and tool: ``per_s`` calls a second on average, at most
    ``burst`` at once (default: ``per_s`` rounded up, at least 1)."""

    per_s: Annotated[float, msgspec.Meta(gt=0, le=1_000_000)]
    burst: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else max(1, int(-(-self.per_s // 1)))


class ToolRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    tool: Glob
    action: Action
    args_schema: dict[str, Any] | None = None
    paths: PathRules | None = None
    commands: CommandRules | None = None
    rate: RateRule | None = None
    expensive: bool = False

    def __post_init__(self) -> None:
        check_name(self.tool, "tool")
        if self.args_schema is not None:
            import jsonschema  # here: a configuration without schemas never loads it

            cls = jsonschema.validators.validator_for(self.args_schema)
            try:
                cls.check_schema(self.args_schema)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"args_schema is not a valid JSON Schema: {exc.message}") from None

    def matches(self, tool: str) -> bool:
        return name_match(self.tool, tool)


class ToolPolicy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """The body of ``PUT /v1/tool-policies/{tenant}/{agent}``: at most 1,000 rules."""

    rules: Annotated[list[ToolRule], msgspec.Meta(max_length=1000)]

    def first_match(self, tool: str) -> tuple[int, ToolRule] | None:
        for i, rule in enumerate(self.rules):
            if rule.matches(tool):
                return i, rule
        return None


class ToolPolicyEntry(ToolPolicy, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A policy as written in the configuration (``tools.policies``) and as listed."""

    tenant: Name = ANY
    agent: Name = ANY

    def __post_init__(self) -> None:
        check_name(self.tenant, "tenant")
        check_name(self.agent, "agent")


def strip_key(entry: ToolPolicyEntry) -> ToolPolicy:
    return ToolPolicy(rules=list(entry.rules))


class PolicyBook:
    """Policies by ``(tenant, agent)``; :meth:`lookup` finds the most specific one."""

    def __init__(self, entries: Iterable[ToolPolicyEntry] = ()) -> None:
        self._by_key: dict[tuple[str, str], ToolPolicy] = {}
        for e in entries:
            self._by_key[(e.tenant, e.agent)] = strip_key(e)

    def put(self, tenant: str, agent: str, policy: ToolPolicy) -> None:
        self._by_key[(tenant, agent)] = policy

    def delete(self, tenant: str, agent: str) -> bool:
        return self._by_key.pop((tenant, agent), None) is not None

    def get(self, tenant: str, agent: str) -> ToolPolicy | None:
        return self._by_key.get((tenant, agent))

    def lookup(self, tenant: str | None, agent: str | None) -> ToolPolicy | None:
        t, a = tenant or ANY, agent or ANY
        for key in ((t, a), (t, ANY), (ANY, a), (ANY, ANY)):
            found = self._by_key.get(key)
            if found is not None:
                return found
        return None

    def entries(self) -> list[ToolPolicyEntry]:
        return [ToolPolicyEntry(tenant=t, agent=a, rules=list(p.rules))
                for (t, a), p in sorted(self._by_key.items())]  # fmt: skip

    def __len__(self) -> int:
        return len(self._by_key)
