"""A demo agent for the docker-compose stack: simulated agent runs, instrumented with the runtime
SDK, sent to the sidecar at ``SIDECAR_URL`` forever (``DEMO_RUNS_PER_SECOND``, default 5).

Only the model provider is simulated (sidecar.demo_workload); the events, batching, retries and
the sidecar itself are the real thing, so every dashboard has traffic to show.
"""

from __future__ import annotations

import asyncio
import itertools
import os

from runtime import SidecarClient
from sidecar.demo_workload import Workload


async def main() -> None:
    url = os.environ.get("SIDECAR_URL", "http://127.0.0.1:8787")
    per_second = float(os.environ.get("DEMO_RUNS_PER_SECOND", "5"))
    async with SidecarClient(url, token=os.environ.get("SIDECAR_API_TOKEN"),
                             agent="demo-agent") as client:
        workload = Workload(client, users=40, seed=int(os.environ.get("DEMO_SEED", "7")))
        for index in itertools.count():
            await workload.one_run(index)
            await asyncio.sleep(1.0 / per_second)  # pacing: the demo's request rate


if __name__ == "__main__":
    asyncio.run(main())
