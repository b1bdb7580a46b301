"""ApiService semantics on MemoryKV: CRUD, concurrency, deletion, finalizers, binding."""

from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import DEPLOYMENTS, EVENTS, NAMESPACES, NODES, PODS, SERVICES
from minikube_py.apiserver.service import ApiService

from .conftest import FakeClock, pod_body


async def test_start_creates_system_namespaces_and_kubernetes_service(svc: ApiService) -> None:
    names = [n["metadata"]["name"] for n in (await svc.list(NAMESPACES))["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    kube = await svc.get(SERVICES, "kubernetes", namespace="default")
    assert kube["spec"]["clusterIP"] == "10.96.0.1"


async def test_create_fills_system_fields_and_defaults(svc: ApiService) -> None:
    pod = await svc.create(PODS, pod_body("a"), namespace="default")
    meta = pod["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert int(meta["resourceVersion"]) > 0
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert {t["key"] for t in pod["spec"]["tolerations"]} == {
        "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}


async def test_create_does_not_mutate_caller_body(svc: ApiService) -> None:
    body = pod_body("a")
    await svc.create(PODS, body, namespace="default")
    assert "uid" not in body["metadata"]


async def test_generate_name(svc: ApiService) -> None:
    body = pod_body("")
    body["metadata"] = {"generateName": "web-"}
    pod = await svc.create(PODS, body, namespace="default")
    assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == 9


async def test_duplicate_create_is_already_exists(svc: ApiService) -> None:
    await svc.create(PODS, pod_body("a"), namespace="default")
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, pod_body("a"), namespace="default")
    assert e.value.code == 409 and e.value.reason == "AlreadyExists"


async def test_create_in_missing_namespace_is_not_found(svc: ApiService) -> None:
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, pod_body("a"), namespace="nope")
    assert e.value.code == 404 and e.value.message == 'namespaces "nope" not found'


async def test_namespace_mismatch_is_bad_request(svc: ApiService) -> None:
    body = pod_body("a")
    body["metadata"]["namespace"] = "kube-system"
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, body, namespace="default")
    assert e.value.code == 400


async def test_update_with_stale_resource_version_conflicts(svc: ApiService) -> None:
    pod = await svc.create(PODS, pod_body("a"), namespace="default")
    pod["metadata"]["labels"] = {"v": "1"}
    await svc.update(PODS, pod, namespace="default")
    pod["metadata"]["labels"] = {"v": "2"}
    with pytest.raises(ApiError) as e:
        await svc.update(PODS, pod, namespace="default")
    assert e.value.code == 409
    assert "the object has been modified" in e.value.message


async def test_update_without_resource_version_is_unconditional(svc: ApiService) -> None:
    pod = await svc.create(PODS, pod_body("a"), namespace="default")
    await svc.patch(PODS, "a", {"metadata": {"labels": {"x": "1"}}}, namespace="default")
    del pod["metadata"]["resourceVersion"]
    pod["metadata"]["labels"] = {"v": "2"}
    out = await svc.update(PODS, pod, namespace="default")
    assert out["metadata"]["labels"] == {"v": "2"}


async def test_main_update_ignores_status_and_status_update_ignores_spec(svc: ApiService) -> None:
    pod = await svc.create(PODS, pod_body("a"), namespace="default")
    pod["status"] = {"phase": "Running"}
    out = await svc.update(PODS, pod, namespace="default")
    assert out["status"]["phase"] == "Pending"
    out["status"] = {"phase": "Running"}
    out["metadata"]["labels"] = {"ignored": "yes"}
    out = await svc.update(PODS, out, namespace="default", subresource="status")
    assert out["status"]["phase"] == "Running"
    assert out["metadata"]["labels"] == {"app": "web"}


async def test_generation_bumps_on_spec_change_only(svc: ApiService) -> None:
    dep = await svc.create(DEPLOYMENTS, {
        "metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                         "spec": {"containers": [{"name": "c", "image": "i"}]}}}},
        namespace="default")
    assert dep["metadata"]["generation"] == 1
    dep = await svc.patch(DEPLOYMENTS, "d", {"metadata": {"labels": {"a": "b"}}},
                          namespace="default")
    assert dep["metadata"]["generation"] == 1
    dep = await svc.patch(DEPLOYMENTS, "d", {"spec": {"replicas": 3}}, namespace="default")
    assert dep["metadata"]["generation"] == 2
    scale = await svc.get(DEPLOYMENTS, "d", namespace="default", subresource="scale")
    assert scale["spec"]["replicas"] == 3 and scale["status"]["selector"] == "app=d"


async def test_list_with_selectors_limit_and_continue(svc: ApiService) -> None:
    for i in range(5):
        body = pod_body(f"p{i}")
        body["metadata"]["labels"] = {"i": str(i % 2)}
        await svc.create(PODS, body, namespace="default")
    page = await svc.list(PODS, namespace="default", limit=2)
    assert [p["metadata"]["name"] for p in page["items"]] == ["p0", "p1"]
    assert page["metadata"]["remainingItemCount"] == 3
    rest = await svc.list(PODS, namespace="default", continue_token=page["metadata"]["continue"])
    assert [p["metadata"]["name"] for p in rest["items"]] == ["p2", "p3", "p4"]
    assert rest["metadata"]["resourceVersion"] == page["metadata"]["resourceVersion"]
    odd = await svc.list(PODS, label_selector="i=1", limit=1)
    assert [p["metadata"]["name"] for p in odd["items"]] == ["p1"]
    odd2 = await svc.list(PODS, label_selector="i=1", continue_token=odd["metadata"]["continue"])
    assert [p["metadata"]["name"] for p in odd2["items"]] == ["p3"]


async def test_unbound_pod_is_deleted_immediately(svc: ApiService) -> None:
    await svc.create(PODS, pod_body("a"), namespace="default")
    out = await svc.delete(PODS, "a", namespace="default")
    assert out["metadata"]["name"] == "a"
    with pytest.raises(ApiError):
        await svc.get(PODS, "a", namespace="default")


async def test_bound_pod_deletion_is_graceful(svc: ApiService, clock: FakeClock) -> None:
    await svc.create(PODS, pod_body("a"), namespace="default")
    await svc.create(PODS, {"target": {"kind": "Node", "name": "n1"}}, namespace="default",
                     name="a", subresource="binding")
    out = await svc.delete(PODS, "a", namespace="default")
    assert out["metadata"]["deletionGracePeriodSeconds"] == 30
    assert out["metadata"]["deletionTimestamp"] == "2023-11-14T22:13:50Z"
    still = await svc.get(PODS, "a", namespace="default")
    assert still["metadata"]["deletionTimestamp"]
    await svc.delete(PODS, "a", namespace="default", grace_period_seconds=0)
    with pytest.raises(ApiError) as e:
        await svc.get(PODS, "a", namespace="default")
    assert e.value.code == 404


async def test_binding_twice_conflicts(svc: ApiService) -> None:
    await svc.create(PODS, pod_body("a"), namespace="default")
    binding = {"target": {"kind": "Node", "name": "n1"}}
    await svc.create(PODS, binding, namespace="default", name="a", subresource="binding")
    pod = await svc.get(PODS, "a", namespace="default")
    assert pod["spec"]["nodeName"] == "n1"
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, binding, namespace="default", name="a", subresource="binding")
    assert e.value.code == 409


async def test_finalizers_hold_deletion_until_removed(svc: ApiService) -> None:
    body = {"metadata": {"name": "cm", "finalizers": ["example.com/hold"]}}
    from minikube_py.api.resources import CONFIGMAPS

    await svc.create(CONFIGMAPS, body, namespace="default")
    out = await svc.delete(CONFIGMAPS, "cm", namespace="default")
    assert out["metadata"]["deletionTimestamp"]
    out["metadata"]["finalizers"] = []
    await svc.update(CONFIGMAPS, out, namespace="default")
    with pytest.raises(ApiError) as e:
        await svc.get(CONFIGMAPS, "cm", namespace="default")
    assert e.value.code == 404


async def test_orphan_propagation_adds_finalizer(svc: ApiService) -> None:
    from minikube_py.api.resources import CONFIGMAPS

    await svc.create(CONFIGMAPS, {"metadata": {"name": "cm"}}, namespace="default")
    out = await svc.delete(CONFIGMAPS, "cm", namespace="default", propagation_policy="Orphan")
    assert out["metadata"]["finalizers"] == ["orphan"]


async def test_delete_precondition_uid(svc: ApiService) -> None:
    await svc.create(PODS, pod_body("a"), namespace="default")
    with pytest.raises(ApiError) as e:
        await svc.delete(PODS, "a", namespace="default", preconditions={"uid": "other"})
    assert e.value.code == 409


async def test_terminating_namespace_rejects_new_content(svc: ApiService) -> None:
    await svc.create(NAMESPACES, {"metadata": {"name": "t"}})
    ns = await svc.delete(NAMESPACES, "t")
    assert ns["status"]["phase"] == "Terminating"
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, pod_body("a"), namespace="t")
    assert e.value.code == 403
    ns["spec"]["finalizers"] = []
    await svc.update_object(NAMESPACES, ns, None, "finalize")
    with pytest.raises(ApiError):
        await svc.get(NAMESPACES, "t")


async def test_services_get_cluster_ips(svc: ApiService) -> None:
    s = await svc.create(SERVICES, {"metadata": {"name": "s"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"port": 80}]}}, namespace="default")
    assert s["spec"]["clusterIP"].startswith("10.96.")
    assert s["spec"]["ports"][0]["targetPort"] == 80
    dns = await svc.create(SERVICES, {"metadata": {"name": "kube-dns"}, "spec": {
        "clusterIP": "10.96.0.10", "ports": [{"port": 53, "protocol": "UDP"}]}},
        namespace="kube-system")
    assert dns["spec"]["clusterIP"] == "10.96.0.10"


async def test_events_are_stored_with_a_lease(svc: ApiService) -> None:
    ev = await svc.create(EVENTS, {"metadata": {"name": "e1"}, "involvedObject": {
        "kind": "Pod", "name": "a"}, "reason": "Started", "message": "m"}, namespace="default")
    res = await svc.kv.range(b"/registry/events/default/e1")
    assert res.kvs[0].lease != 0 and ev["reason"] == "Started"


async def test_nodes_are_cluster_scoped(svc: ApiService) -> None:
    node = await svc.create(NODES, {"metadata": {"name": "n1"}, "status": {"capacity": {
        "cpu": "2"}}})
    assert "namespace" not in node["metadata"]
    assert node["status"]["capacity"] == {"cpu": "2"}


async def test_patching_the_scale_subresource_in_process_scales(svc: Any) -> None:
    from minikube_py.api.resources import DEPLOYMENTS

    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    await svc.create(DEPLOYMENTS, body, namespace="default")
    scale = await svc.patch(DEPLOYMENTS, "d", {"spec": {"replicas": 4}}, namespace="default",
                            subresource="scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 4
    assert (await svc.get(DEPLOYMENTS, "d", namespace="default"))["spec"]["replicas"] == 4


async def test_an_update_with_empty_metadata_is_a_name_mismatch(svc: Any) -> None:
    from minikube_py.api.errors import ApiError
    from minikube_py.api.resources import CONFIGMAPS

    await svc.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "cm"}}, namespace="default")
    with pytest.raises(ApiError) as err:
        await svc.update_object(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {}, "data": {}}, "default", None,
                                name="cm")
    assert err.value.code == 400 and "does not match the name on the URL" in err.value.message


async def test_a_load_balancer_made_a_cluster_ip_drops_what_only_a_load_balancer_has(
        svc: ApiService) -> None:
    lb = await svc.create(SERVICES, {
        "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "loadBalancerClass": "example.com/lb",
                 "ports": [{"port": 80}]}}, namespace="default")
    assert lb["spec"]["ports"][0]["nodePort"] and lb["spec"]["externalTrafficPolicy"]
    lb["spec"]["type"] = "ClusterIP"
    now = (await svc.update(SERVICES, lb, namespace="default"))["spec"]
    assert "nodePort" not in now["ports"][0]
    for field in ("loadBalancerClass", "allocateLoadBalancerNodePorts",
                  "externalTrafficPolicy"):
        assert field not in now, field
