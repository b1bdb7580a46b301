"""One node's route controller, run for real in the network namespace this process is in
(tests start it under `nsenter --net=...`): the Node objects come on stdin (a JSON list)
into an in-memory API; the controller syncs the kernel's routes until it is ready, then
this prints what it reported as JSON: {"warnings": [...]}.

    python -m tests.integration.route_agent NODE_NAME CLUSTER_CIDR METRIC_BASE < nodes.json
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from minikube_py.api.resources import NODES
from minikube_py.apiserver.service import ApiService
from minikube_py.client.informer import InformerFactory
from minikube_py.runtime.noderoute_controller import NodeRouteController
from minikube_py.store.memory import MemoryKV


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def main(node_name: str, cluster_cidr: str, metric_base: int) -> dict[str, object]:
    collected = Collected()
    logging.getLogger("minikube_py").addHandler(collected)
    kv = MemoryKV()
    api = ApiService(kv)
    await api.start()
    try:
        for node in json.load(sys.stdin):
            await api.create(NODES, node)
        factory = InformerFactory(api)
        controller = NodeRouteController(api, factory, node_name, cluster_cidr, metric_base)
        tasks = [asyncio.create_task(factory.run()), asyncio.create_task(controller.run())]
        try:
            await asyncio.wait_for(controller.ready.wait(), 20)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await api.stop()
        await kv.close()
    return {"warnings": collected.messages}


if __name__ == "__main__":
    name, cidr, base = sys.argv[1:4]
    print(json.dumps(asyncio.run(main(name, cidr, int(base)))))
