"""VolumeBinding: where a pod's claims let it go."""

from __future__ import annotations

from typing import Any

from minikube_py.api.storage import LOCAL_PATH_PROVISIONER, SELECTED_NODE_ANNOTATION
from minikube_py.scheduler.framework import Code, CycleState, NodeInfo
from minikube_py.scheduler.plugins import build_framework
from minikube_py.scheduler.plugins.volume_binding import (
    NO_VOLUME,
    NODE_CONFLICT,
    UNBOUND_IMMEDIATE,
    VolumeBinding,
    VolumeCatalog,
    all_bound,
    claims_to_select,
)
from tests.unit.scheduler.helpers import make_node, make_pod

Obj = dict[str, Any]


def pod_with(*claims: str) -> Obj:
    pod = make_pod("app")
    pod["spec"]["volumes"] = [{"name": c, "persistentVolumeClaim": {"claimName": c}}
                              for c in claims]
    return pod


def claim(name: str, *, cls: str = "standard", volume: str = "", bound: bool = False,
          annotations: dict[str, str] | None = None) -> Obj:
    spec: Obj = {"storageClassName": cls, "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}
    if volume:
        spec["volumeName"] = volume
    return {"metadata": {"name": name, "namespace": "default", "uid": f"u-{name}",
                         "annotations": dict(annotations or {})},
            "spec": spec, "status": {"phase": "Bound" if bound else "Pending"}}


def pinned_volume(name: str, node: str, *, cls: str = "standard") -> Obj:
    return {"metadata": {"name": name},
            "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": cls, "hostPath": {"path": "/x"},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In",
                          "values": [node]}]}]}}},
            "status": {"phase": "Available"}}


def catalog(*, claims: list[Obj] = (), volumes: list[Obj] = (),  # type: ignore[assignment]
            classes: list[Obj] = ()) -> VolumeCatalog:  # type: ignore[assignment]
    cat = VolumeCatalog()
    for c in claims:
        cat.claims[f"default/{c['metadata']['name']}"] = c
    for v in volumes:
        cat.volumes[v["metadata"]["name"]] = v
    for k in classes:
        cat.classes[k["metadata"]["name"]] = k
    return cat


WFFC = {"metadata": {"name": "standard"}, "provisioner": LOCAL_PATH_PROVISIONER,
        "volumeBindingMode": "WaitForFirstConsumer"}
STATIC_ONLY = {"metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner",
               "volumeBindingMode": "WaitForFirstConsumer"}
IMMEDIATE = {"metadata": {"name": "fast"}, "provisioner": "x.io/y",
             "volumeBindingMode": "Immediate"}


def verdicts(cat: VolumeCatalog, pod: Obj, *names: str) -> dict[str, tuple[Code, tuple[str, ...]]]:
    plugin = VolumeBinding(cat)
    infos = [NodeInfo.of(make_node(n)) for n in names]
    state = CycleState()
    pre = plugin.pre_filter(state, pod, infos)
    if pre.code is not Code.SUCCESS:
        return {n: (pre.code, pre.reasons) for n in names}
    out = {}
    for info in infos:
        status = plugin.filter(state, pod, info)
        out[info.name] = (status.code, status.reasons)
    return out


OK = (Code.SUCCESS, ())


def test_a_pod_without_claims_is_not_looked_at() -> None:
    assert VolumeBinding().pre_filter(CycleState(), make_pod("p"), []).code is Code.SKIP


def test_a_bound_volumes_node_affinity_decides() -> None:
    cat = catalog(claims=[claim("data", volume="pv1", bound=True)],
                  volumes=[pinned_volume("pv1", "n2")], classes=[WFFC])
    assert verdicts(cat, pod_with("data"), "n1", "n2") == {
        "n1": (Code.UNRESOLVABLE, (NODE_CONFLICT,)), "n2": OK}


def test_a_claim_waiting_for_a_consumer_needs_a_volume_there_or_a_provisioner() -> None:
    static = catalog(claims=[claim("data", cls="local")],
                     volumes=[pinned_volume("pv1", "n2", cls="local")], classes=[STATIC_ONLY])
    assert verdicts(static, pod_with("data"), "n1", "n2") == {
        "n1": (Code.UNRESOLVABLE, (NO_VOLUME,)), "n2": OK}
    dynamic = catalog(claims=[claim("data")], classes=[WFFC])
    assert verdicts(dynamic, pod_with("data"), "n1", "n2") == {"n1": OK, "n2": OK}
    topology = {**WFFC, "allowedTopologies": [{"matchLabelExpressions": [
        {"key": "kubernetes.io/hostname", "values": ["n1"]}]}]}
    limited = catalog(claims=[claim("data")], classes=[topology])
    assert verdicts(limited, pod_with("data"), "n1", "n2")["n2"] == (Code.UNRESOLVABLE,
                                                                     (NO_VOLUME,))


def test_missing_deleted_or_immediate_unbound_claims_hold_the_pod_everywhere() -> None:
    assert verdicts(catalog(), pod_with("gone"), "n1") == {
        "n1": (Code.UNRESOLVABLE, ('persistentvolumeclaim "gone" not found',))}
    going = claim("data")
    going["metadata"]["deletionTimestamp"] = "2026-12-04T00:00:00Z"
    assert verdicts(catalog(claims=[going], classes=[WFFC]), pod_with("data"), "n1")["n1"][1] == (
        'persistentvolumeclaim "data" is being deleted',)
    immediate = catalog(claims=[claim("data", cls="fast")], classes=[IMMEDIATE])
    assert verdicts(immediate, pod_with("data"), "n1") == {
        "n1": (Code.UNRESOLVABLE, (UNBOUND_IMMEDIATE,))}


def test_the_bind_step_selects_the_node_on_waiting_claims_and_waits_for_all_bound() -> None:
    cat = catalog(claims=[claim("a"), claim("b", annotations={SELECTED_NODE_ANNOTATION: "n1"}),
                          claim("c", volume="pv", bound=True)], classes=[WFFC])
    pod = pod_with("a", "b", "c")
    assert [c["metadata"]["name"] for c in claims_to_select(pod, cat, "n1")] == ["a"]
    assert [c["metadata"]["name"] for c in claims_to_select(pod, cat, "n2")] == ["a", "b"]
    assert not all_bound(pod, cat)
    for name in ("a", "b"):
        cat.claims[f"default/{name}"] = claim(name, volume=f"pv-{name}", bound=True)
    assert all_bound(pod, cat)


def test_the_default_framework_runs_volume_binding_on_the_catalog_it_is_given() -> None:
    cat = catalog(claims=[claim("data", volume="pv1", bound=True)],
                  volumes=[pinned_volume("pv1", "n2")], classes=[WFFC])
    framework = build_framework(volumes=cat)
    nodes = [NodeInfo.of(make_node(n)) for n in ("n1", "n2", "n3")]
    result = framework.schedule(pod_with("data"), nodes)
    assert result.node == "n2"
    cat.volumes["pv1"] = pinned_volume("pv1", "elsewhere")
    result = framework.schedule(pod_with("data"), nodes)
    assert result.node is None
    assert result.failure_message(3) == (
        "0/3 nodes are available: 3 node(s) had volume node affinity conflict.")
