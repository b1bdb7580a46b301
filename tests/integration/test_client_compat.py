"""The official kubernetes client reads every kind we serve into its typed models: read, list
and watch of a minimal fresh object deserialize with the client's validation on, so every
field kube always serializes (the ones the client requires) is there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.http import build_app
from tests.integration.harness import control_plane

kubernetes = pytest.importorskip("kubernetes")
client, watch = kubernetes.client, kubernetes.watch

NS = "default"
Obj = dict[str, Any]
_TEMPLATE = {"metadata": {"labels": {"app": "a"}},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
_SELECTOR = {"matchLabels": {"app": "a"}}


def _meta(name: str) -> Obj:
    return {"name": name}


# (API class, the method suffix, namespaced, a minimal body): create_*, read_*, list_*.
KINDS: list[tuple[str, str, bool, Obj]] = [
    ("CoreV1Api", "config_map", True, {"metadata": _meta("cm"), "data": {"k": "v"}}),
    ("CoreV1Api", "secret", True, {"metadata": _meta("s"), "stringData": {"k": "v"}}),
    ("CoreV1Api", "service_account", True, {"metadata": _meta("sa")}),
    ("CoreV1Api", "service", True, {"metadata": _meta("svc"),
                                    "spec": {"ports": [{"port": 80}],
                                             "selector": {"app": "a"}}}),
    ("CoreV1Api", "endpoints", True, {"metadata": _meta("ep")}),
    ("CoreV1Api", "pod", True, {"metadata": _meta("p"), "spec": _TEMPLATE["spec"]}),
    ("CoreV1Api", "event", True, {"metadata": _meta("ev"),
                                  "involvedObject": {"kind": "Pod", "name": "p"}}),
    ("CoreV1Api", "replication_controller", True,
     {"metadata": _meta("rc"), "spec": {"replicas": 0, "template": _TEMPLATE}}),
    ("CoreV1Api", "namespace", False, {"metadata": _meta("ns1")}),
    ("CoreV1Api", "node", False, {"metadata": _meta("n1")}),
    ("AppsV1Api", "daemon_set", True,
     {"metadata": _meta("ds"), "spec": {"selector": _SELECTOR, "template": _TEMPLATE}}),
    ("AppsV1Api", "deployment", True,
     {"metadata": _meta("dep"), "spec": {"replicas": 0, "selector": _SELECTOR,
                                         "template": _TEMPLATE}}),
    ("AppsV1Api", "replica_set", True,
     {"metadata": _meta("rs"), "spec": {"replicas": 0, "selector": _SELECTOR,
                                        "template": _TEMPLATE}}),
    ("AppsV1Api", "stateful_set", True,
     {"metadata": _meta("sts"), "spec": {"replicas": 0, "serviceName": "svc",
                                         "selector": _SELECTOR, "template": _TEMPLATE}}),
    ("AppsV1Api", "controller_revision", True, {"metadata": _meta("cr"), "revision": 1,
                                                       "data": {}}),
    ("BatchV1Api", "job", True,
     {"metadata": _meta("job"), "spec": {"suspend": True, "template": {
         "spec": {**_TEMPLATE["spec"], "restartPolicy": "Never"}}}}),
    ("BatchV1Api", "cron_job", True,
     {"metadata": _meta("cj"), "spec": {"schedule": "*/5 * * * *", "jobTemplate": {
         "spec": {"template": {"spec": {**_TEMPLATE["spec"], "restartPolicy": "Never"}}}}}}),
    ("CoordinationV1Api", "lease", True, {"metadata": _meta("l")}),
    ("DiscoveryV1Api", "endpoint_slice", True, {"metadata": _meta("es"),
                                               "addressType": "IPv4", "endpoints": []}),
    ("EventsV1Api", "event", True,
     {"metadata": _meta("ev2"), "eventTime": "2026-01-01T00:00:00.000000Z",
      "reportingController": "x/y", "reportingInstance": "i", "action": "A",
      "reason": "R", "type": "Normal", "regarding": {"kind": "Pod", "name": "p"}}),
    ("RbacAuthorizationV1Api", "role", True, {"metadata": _meta("r"), "rules": []}),
    ("RbacAuthorizationV1Api", "role_binding", True,
     {"metadata": _meta("rb"), "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                           "kind": "Role", "name": "r"}}),
    ("RbacAuthorizationV1Api", "cluster_role", False, {"metadata": _meta("cr1"), "rules": []}),
    ("RbacAuthorizationV1Api", "cluster_role_binding", False,
     {"metadata": _meta("crb"), "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                            "kind": "ClusterRole", "name": "cr1"}}),
    ("CoreV1Api", "persistent_volume", False,
     {"metadata": _meta("pv"), "spec": {"capacity": {"storage": "1Gi"},
                                        "accessModes": ["ReadWriteOnce"],
                                        "hostPath": {"path": "/data/pv"}}}),
    ("CoreV1Api", "persistent_volume_claim", True,
     {"metadata": _meta("pvc"), "spec": {"accessModes": ["ReadWriteOnce"],
                                         "resources": {"requests": {"storage": "1Gi"}}}}),
    ("StorageV1Api", "storage_class", False, {"metadata": _meta("sc"),
                                              "provisioner": "example.com/sc"}),
    ("StorageV1Api", "csi_driver", False, {"metadata": _meta("csi.example.com"), "spec": {}}),
    ("StorageV1Api", "csi_node", False, {"metadata": _meta("n1"), "spec": {"drivers": []}}),
    ("StorageV1Api", "volume_attachment", False,
     {"metadata": _meta("va"), "spec": {"attacher": "csi.example.com", "nodeName": "n1",
                                        "source": {"persistentVolumeName": "pv"}}}),
    ("StorageV1Api", "csi_storage_capacity", True, {"metadata": _meta("cap"),
                                                    "storageClassName": "standard"}),
    ("PolicyV1Api", "pod_disruption_budget", True,
     {"metadata": _meta("pdb"), "spec": {"minAvailable": 1, "selector": _SELECTOR}}),
]


def _suffix(suffix: str, namespaced: bool) -> str:
    return f"namespaced_{suffix}" if namespaced else suffix


def _api(cfg: Any, cls: str) -> Any:
    return getattr(client, cls)(client.ApiClient(cfg))


@pytest.fixture
async def config() -> AsyncIterator[Any]:
    async with control_plane(nodes=0, scheduler=False) as plane:
        server = TestServer(build_app(plane.api), host="127.0.0.1")
        await server.start_server()
        cfg = client.Configuration()
        cfg.host = f"http://127.0.0.1:{server.port}"
        try:
            yield cfg
        finally:
            await server.close()


def _call(api: Any, verb: str, suffix: str, namespaced: bool, *args: Any) -> Any:
    method: Callable[..., Any] = getattr(api, f"{verb}_{_suffix(suffix, namespaced)}")
    return method(*args, NS) if namespaced else method(*args)


@pytest.mark.parametrize(("cls", "suffix", "namespaced", "body"), KINDS,
                         ids=[f"{k[0]}.{k[1]}" for k in KINDS])
async def test_the_official_client_reads_and_lists_a_fresh_object_into_its_typed_model(
        config: Any, cls: str, suffix: str, namespaced: bool, body: Obj) -> None:
    name = body["metadata"]["name"]

    def work() -> tuple[str, list[str]]:
        api = _api(config, cls)
        method = getattr(api, f"create_{_suffix(suffix, namespaced)}")
        method(NS, body) if namespaced else method(body)
        read = _call(api, "read", suffix, namespaced, name)
        if namespaced:
            listed = getattr(api, f"list_namespaced_{suffix}")(NS)
        else:
            listed = getattr(api, f"list_{suffix}")()
        return read.metadata.name, [o.metadata.name for o in listed.items]

    read_name, listed = await asyncio.to_thread(work)
    assert read_name == name and name in listed


WATCHED = [k for k in KINDS if k[1] in ("daemon_set", "replication_controller", "service",
                                        "stateful_set", "replica_set", "pod",
                                        "persistent_volume_claim", "csi_storage_capacity")]


@pytest.mark.parametrize(("cls", "suffix", "namespaced", "body"), WATCHED,
                         ids=[f"{k[0]}.{k[1]}" for k in WATCHED])
async def test_the_official_client_watches_a_fresh_object_into_its_typed_model(
        config: Any, cls: str, suffix: str, namespaced: bool, body: Obj) -> None:
    name = body["metadata"]["name"]

    def work() -> list[str]:
        api = _api(config, cls)
        getattr(api, f"create_namespaced_{suffix}")(NS, body)
        w = watch.Watch()
        seen = []
        for ev in w.stream(getattr(api, f"list_namespaced_{suffix}"), NS,
                           field_selector=f"metadata.name={name}", timeout_seconds=5):
            seen.append(f"{ev['type']}:{ev['object'].metadata.name}")
            w.stop()
        return seen

    assert await asyncio.to_thread(work) == [f"ADDED:{name}"]


# The kinds whose status carries fields kube always writes, and how the typed model shows them.
STATUS_WRITTEN = {
    "daemon_set": lambda st: (st.current_number_scheduled, st.number_misscheduled,
                              st.desired_number_scheduled, st.number_ready) == (0, 0, 0, 0),
    "replication_controller": lambda st: st.replicas == 0,
    "replica_set": lambda st: st.replicas == 0,
    "stateful_set": lambda st: st.replicas == 0,
    "service": lambda st: st.load_balancer is not None,
    "pod_disruption_budget": lambda st: (st.disruptions_allowed, st.current_healthy,
                                         st.desired_healthy, st.expected_pods) == (0, 0, 0, 0),
}
STATUS_KINDS = [k for k in KINDS if k[1] in STATUS_WRITTEN]


@pytest.mark.parametrize(("cls", "suffix", "namespaced", "body"), STATUS_KINDS,
                         ids=[f"{k[0]}.{k[1]}" for k in STATUS_KINDS])
async def test_a_status_write_that_leaves_out_the_always_serialized_fields_reads_back_typed(
        config: Any, cls: str, suffix: str, namespaced: bool, body: Obj) -> None:
    name = body["metadata"]["name"]

    def work() -> Any:
        api = _api(config, cls)
        getattr(api, f"create_namespaced_{suffix}")(NS, body)
        # A controller replacing status with only what it knows (no counters at all).
        getattr(api, f"patch_namespaced_{suffix}_status")(
            name, NS, [{"op": "replace", "path": "/status", "value": {"observedGeneration": 1}
                        if suffix != "service" else {}}])
        return getattr(api, f"read_namespaced_{suffix}_status")(name, NS)

    obj = await asyncio.to_thread(work)
    assert obj.metadata.name == name and STATUS_WRITTEN[suffix](obj.status)
