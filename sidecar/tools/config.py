"""Configuration of the ``tools`` section: tool policies, approvals and rates.

.. code-block:: yaml

    tools:
      default_action: allow          # for a call no rule matches
      approval_ttl_s: 900            # an undecided approval expires after this
      policies:
        - tenant: "*"
          agent: "*"
          rules:
            - {tool: "shell", action: allow, commands: {deny: ["rm -rf", "git push --force"]}}
            - {tool: "fs.*", action: allow,
               paths: {allow: ["/work/**"], deny: ["**/.env", "**/.git/**"]}}
            - {tool: "payments.*", action: approval}
            - {tool: "*", action: allow}
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from sidecar.tools.policy import Action, ToolPolicyEntry


class ToolsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    default_action: Action = "allow"
    policies: list[ToolPolicyEntry] = msgspec.field(default_factory=list)
    approval_ttl_s: Annotated[float, msgspec.Meta(gt=0, le=7 * 86_400)] = 900.0
    # The longest GET /v1/approvals/{id}?wait= honoured (also kept under request_timeout_s).
    approval_wait_max_s: Annotated[float, msgspec.Meta(ge=0, le=300)] = 60.0
    max_rate_buckets: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 100_000

    def __post_init__(self) -> None:
        keys = [(p.tenant, p.agent) for p in self.policies]
        if len(set(keys)) != len(keys):
            raise ValueError("tools.policies: the same tenant and agent are listed twice")
