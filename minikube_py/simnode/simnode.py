"""Simulated nodes (kwok-like), for scale tests and benchmarks: they register, renew their
leases and report pods bound to them as Running, without running any container.

They are marked so nobody mistakes them for real nodes: the label
`minikube-py.dev/simulated=true` and the taint `minikube-py.dev/simulated=true:NoSchedule`
(only pods that tolerate it land there). Annotating a node with
`minikube-py.dev/heartbeat=paused` stops its lease renewals, which is how tests make a
node fail.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.nodeutil import SIMULATED_LABEL
from minikube_py.api.podutil import is_terminal
from minikube_py.api.resources import LEASES, NODES, PODS
from minikube_py.api.storage import LOCAL_PATH_DIR_ANNOTATION
from minikube_py.api.timefmt import micro_time, rfc3339
from minikube_py.client.informer import InformerFactory
from minikube_py.client.interface import ApiClient
from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.simnode")

HEARTBEAT_ANNOTATION = "minikube-py.dev/heartbeat"
SIMULATED_TAINT = {"key": SIMULATED_LABEL, "value": "true", "effect": "NoSchedule"}
SIMULATED_TOLERATION = {"key": SIMULATED_LABEL, "operator": "Exists", "effect": "NoSchedule"}

Obj = dict[str, Any]


@functools.lru_cache(maxsize=8)
def _network(address_range: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(address_range)


def _is_ready(node: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


@dataclass(frozen=True)
class SimulatedNodeSpec:
    prefix: str = "sim"
    cpu: str = "32"
    memory: str = "256Gi"
    pods: int = 110
    lease_duration_seconds: int = 40
    lease_renew_interval: float = 10.0
    # Simulated nodes and their pods get addresses from here: never routed anywhere.
    address_range: str = "10.250.0.0/16"
    # Tests where every node is simulated may drop the taint that keeps ordinary pods off.
    taint: bool = True


def node_object(name: str, index: int, spec: SimulatedNodeSpec, now: float) -> Obj:
    net = ipaddress.ip_network(spec.address_range)
    address = str(net.network_address + 1 + index)
    stamp = rfc3339(now)
    conditions = [
        {"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m,
         "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
        for t, r, m in (("MemoryPressure", "SufficientMemory", "simulated"),
                        ("DiskPressure", "NoDiskPressure", "simulated"),
                        ("PIDPressure", "SufficientPID", "simulated"))
    ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady",
          "message": "simulated node is posting ready status",
          "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]
    resources = {"cpu": spec.cpu, "memory": spec.memory, "pods": str(spec.pods),
                 "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", SIMULATED_LABEL: "true", "type": "simulated"},
            # Where a local-path volume of this node would be (its helper pods only
            # pretend to run, as every pod here does).
            "annotations": {LOCAL_PATH_DIR_ANNOTATION: f"/var/lib/minikube-py-sim/{name}"}},
        "spec": {"taints": [dict(SIMULATED_TAINT)] if spec.taint else []},
        "status": {
            "capacity": resources, "allocatable": resources, "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": address},
                          {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.32.0-simulated", "kubeProxyVersion": "",
                         "containerRuntimeVersion": "simulated://0", "osImage": "simulated",
                         "kernelVersion": "", "operatingSystem": "linux",
                         "architecture": "amd64", "machineID": "", "systemUUID": "",
                         "bootID": ""},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        },
    }


def running_status(pod: Obj, pod_ip: str, host_ip: str, now: float) -> Obj:
    stamp = rfc3339(now)
    containers = (pod.get("spec") or {}).get("containers") or []
    return {
        "phase": "Running",
        "conditions": [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
            for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                      "PodScheduled")
        ],
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
        "startTime": stamp, "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort"),
        "containerStatuses": [
            {"name": c["name"], "state": {"running": {"startedAt": stamp}}, "lastState": {},
             "ready": True, "started": True, "restartCount": 0, "image": c.get("image", ""),
             "imageID": f"simulated://{c.get('image', '')}",
             "containerID": f"simulated://{pod['metadata']['uid']}-{c['name']}"}
            for c in containers
        ],
    }


@dataclass
class SimulatedNodes:
    client: ApiClient
    informers: InformerFactory
    count: int
    spec: SimulatedNodeSpec = field(default_factory=SimulatedNodeSpec)
    clock: Callable[[], float] = time.time
    max_in_flight: int = 64
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _names: dict[str, int] = field(default_factory=dict)
    _ips: dict[str, str] = field(default_factory=dict)
    _next_pod_ip: int = 1
    _reported: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._names = {f"{self.spec.prefix}-{i}": i for i in range(self.count)}
        self._slots = asyncio.Semaphore(self.max_in_flight)
        self._tasks = TaskSet("simulated-nodes", logger=log)  # pod status reports, deletions
        self._pods = self.informers.informer(PODS)
        self._nodes = self.informers.informer(NODES, label_selector=f"{SIMULATED_LABEL}=true")
        self._pods.add_handlers(self._pod_changed, lambda _old, new: self._pod_changed(new),
                                lambda pod: self._reported.discard(pod["metadata"]["uid"]))

    async def run(self) -> None:
        await asyncio.gather(*(self._register(name, i) for name, i in self._names.items()))
        self.ready.set()
        log.info("%d simulated nodes registered", self.count)
        try:
            while True:
                await self._renew_leases()
                await asyncio.sleep(self.spec.lease_renew_interval)
        finally:
            await self._tasks.close()

    async def _register(self, name: str, index: int) -> None:
        body = node_object(name, index, self.spec, self.clock())
        self._ips[name] = body["status"]["addresses"][0]["address"]
        async with self._slots:
            try:
                await self.client.create(NODES, body)
            except ApiError as e:
                if e.code != 409:
                    raise
                current = await self.client.get(NODES, name)
                current["status"] = body["status"]
                await self.client.update(NODES, current, subresource="status")

    async def _renew_leases(self) -> None:
        await self._nodes.synced.wait()
        paused = {
            n["metadata"]["name"] for n in self._nodes.list()
            if (n["metadata"].get("annotations") or {}).get(HEARTBEAT_ANNOTATION) == "paused"
        }
        await asyncio.gather(*(self._renew(name) for name in self._names if name not in paused))
        # Like a kubelet's status loop: a node marked Unknown while it was silent reports
        # Ready again once it is heard from.
        await asyncio.gather(*(
            self._report_ready(n) for n in self._nodes.list()
            if n["metadata"]["name"] in self._names and n["metadata"]["name"] not in paused
            and not _is_ready(n)))

    async def _report_ready(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        fresh = node_object(name, self._names[name], self.spec, self.clock())
        async with self._slots:
            try:
                await self.client.patch(NODES, name,
                                        {"status": {"conditions": fresh["status"]["conditions"]}},
                                        subresource="status")
            except ApiError as e:
                log.debug("reporting %s Ready: %s", name, e)

    async def _renew(self, name: str) -> None:
        now = micro_time(self.clock())
        async with self._slots:
            try:
                await self.client.patch(LEASES, name, {"spec": {"renewTime": now}},
                                        namespace="kube-node-lease")
            except ApiError as e:
                if e.code != 404:
                    log.debug("renewing lease of %s: %s", name, e)
                    return
                await self.client.create(LEASES, {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": "kube-node-lease"},
                    "spec": {"holderIdentity": name,
                             "leaseDurationSeconds": self.spec.lease_duration_seconds,
                             "renewTime": now},
                })

    # -- pods bound to simulated nodes ----------------------------------------------

    def _pod_changed(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node not in self._names:
            return
        meta = pod["metadata"]
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        uid = meta["uid"]

        def report_again(_: BaseException) -> None:
            self._reported.discard(uid)  # the next update of the pod tries again

        if meta.get("deletionTimestamp"):
            self._tasks.spawn(f"delete {name}", self._finish_deletion(pod), on_error=report_again)
        elif not is_terminal(pod) and uid not in self._reported:
            self._reported.add(uid)
            self._tasks.spawn(f"report {name} running", self._report_running(pod, node),
                              on_error=report_again)

    async def _report_running(self, pod: Obj, node: str) -> None:
        net = _network(self.spec.address_range)
        pod_ip = str(net.network_address + 2**15 + self._next_pod_ip % 2**15)
        self._next_pod_ip += 1
        status = running_status(pod, pod_ip, self._ips.get(node, ""), self.clock())
        meta = pod["metadata"]
        # The whole status, put: what a merge patch of it would leave (every field a bound
        # pod has is in it), for a third less of the API's time than a patch takes.
        body = {"apiVersion": "v1", "kind": "Pod", "status": status,
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
        async with self._slots:
            try:
                await self.client.update(PODS, body, namespace=meta["namespace"],
                                         subresource="status")
            except ApiError as e:
                self._reported.discard(meta["uid"])
                log.debug("reporting %s Running: %s", meta["name"], e)

    async def _finish_deletion(self, pod: Obj) -> None:
        meta = pod["metadata"]
        async with self._slots:
            try:
                await self.client.delete(PODS, meta["name"], namespace=meta["namespace"],
                                         grace_period_seconds=0,
                                         preconditions={"uid": meta["uid"]})
            except ApiError as e:
                if e.code not in (404, 409):
                    log.debug("deleting %s: %s", meta["name"], e)
        self._reported.discard(meta["uid"])
