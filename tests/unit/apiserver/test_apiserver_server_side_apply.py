"""Server-side apply and managedFields against the real kubectl 1.32 and the official client."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.resources import Resource
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest.update import APPLY_PATCH
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.kind_objects import MINIMAL
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox:1.36
"""


async def get_json(kubeconfig: Path, *args: str) -> Any:
    rc, out, err = await kubectl(kubeconfig, "get", *args, "-o", "json",
                                 "--show-managed-fields")
    assert rc == 0, err
    return json.loads(out)


def managers(obj: Any) -> dict[str, Any]:
    return {e["manager"]: e for e in obj["metadata"].get("managedFields") or []}


async def apply_deployment(kubeconfig: Path, tmp_path: Path, replicas: int | None, *args: str
                           ) -> tuple[int, str, str]:
    text = DEPLOYMENT.replace("REPLICAS", str(replicas))
    if replicas is None:
        text = text.replace("  replicas: None\n", "")
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(text)
    return await kubectl(kubeconfig, "apply", "-f", str(manifest), *args)


@needs_kubectl
async def test_create_records_the_creator_as_an_update_manager(kubeconfig: Path) -> None:
    rc, _, err = await kubectl(kubeconfig, "create", "configmap", "c", "--from-literal=k=v")
    assert rc == 0, err
    entry = managers(await get_json(kubeconfig, "configmap", "c"))["kubectl-create"]
    assert entry["operation"] == "Update" and entry["apiVersion"] == "v1"
    assert entry["fieldsType"] == "FieldsV1" and entry["time"].endswith("Z")
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:k": {}}}


@needs_kubectl
async def test_kubectl_hides_managed_fields_unless_asked(kubeconfig: Path) -> None:
    await kubectl(kubeconfig, "create", "configmap", "c", "--from-literal=k=v")
    rc, out, _ = await kubectl(kubeconfig, "get", "configmap", "c", "-o", "yaml")
    assert rc == 0 and "managedFields" not in out
    rc, out, _ = await kubectl(kubeconfig, "get", "configmap", "c", "-o", "yaml",
                               "--show-managed-fields")
    assert rc == 0 and "managedFields" in out and "manager: kubectl-create" in out


@needs_kubectl
async def test_a_second_manager_conflicts_then_forces(kubeconfig: Path, tmp_path: Path) -> None:
    rc, out, err = await apply_deployment(kubeconfig, tmp_path, 2, "--server-side",
                                          "--field-manager=a")
    assert (rc, out.strip()) == (0, "deployment.apps/web serverside-applied"), err
    entry = managers(await get_json(kubeconfig, "deployment", "web"))["a"]
    assert entry["operation"] == "Apply"
    assert "f:replicas" in entry["fieldsV1"]["f:spec"]

    rc, _, err = await apply_deployment(kubeconfig, tmp_path, 3, "--server-side",
                                        "--field-manager=b")
    assert rc != 0
    assert 'Apply failed with 1 conflict: conflict with "a": .spec.replicas' in err

    rc, _, err = await apply_deployment(kubeconfig, tmp_path, 3, "--server-side",
                                        "--field-manager=b", "--force-conflicts")
    assert rc == 0, err
    deploy = await get_json(kubeconfig, "deployment", "web")
    assert deploy["spec"]["replicas"] == 3
    owners = managers(deploy)
    assert "f:replicas" in owners["b"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in owners["a"]["fieldsV1"]["f:spec"]


@needs_kubectl
async def test_a_manager_that_drops_a_field_removes_it(kubeconfig: Path, tmp_path: Path
                                                       ) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: "
                        "{keep: 'y', drop: 'y'}}\ndata: {a: '1', b: '2'}\n")
    rc, _, err = await kubectl(kubeconfig, "apply", "--server-side", "-f", str(manifest))
    assert rc == 0, err
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: "
                        "{keep: 'y'}}\ndata: {a: '1'}\n")
    rc, _, err = await kubectl(kubeconfig, "apply", "--server-side", "-f", str(manifest))
    assert rc == 0, err
    cm = await get_json(kubeconfig, "configmap", "c")
    assert cm["data"] == {"a": "1"} and cm["metadata"]["labels"] == {"keep": "y"}


@needs_kubectl
async def test_a_field_another_manager_owns_survives_a_drop(kubeconfig: Path, tmp_path: Path
                                                            ) -> None:
    rc, _, err = await apply_deployment(kubeconfig, tmp_path, 2, "--server-side",
                                        "--field-manager=a")
    assert rc == 0, err
    rc, _, err = await kubectl(kubeconfig, "scale", "deployment", "web", "--replicas=4")
    assert rc == 0, err
    owners = managers(await get_json(kubeconfig, "deployment", "web"))
    assert owners["kubectl"]["subresource"] == "scale"
    rc, _, err = await apply_deployment(kubeconfig, tmp_path, None, "--server-side",
                                        "--field-manager=a")
    assert rc == 0, err
    assert (await get_json(kubeconfig, "deployment", "web"))["spec"]["replicas"] == 4


@needs_kubectl
async def test_client_side_apply_then_server_side_migrates_without_conflict(
        kubeconfig: Path, tmp_path: Path) -> None:
    rc, _, err = await apply_deployment(kubeconfig, tmp_path, 2)
    assert rc == 0, err
    owners = managers(await get_json(kubeconfig, "deployment", "web"))
    assert owners["kubectl-client-side-apply"]["operation"] == "Update"

    rc, out, err = await apply_deployment(kubeconfig, tmp_path, 5, "--server-side")
    assert (rc, out.strip()) == (0, "deployment.apps/web serverside-applied"), err
    deploy = await get_json(kubeconfig, "deployment", "web")
    assert deploy["spec"]["replicas"] == 5
    owners = managers(deploy)
    assert owners["kubectl"]["operation"] == "Apply"
    assert "kubectl-client-side-apply" not in owners  # kubectl moved its fields over
    last = json.loads(deploy["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 5

    # what client-side apply owned is now the server-side applier's: dropping it removes it
    rc, _, err = await apply_deployment(kubeconfig, tmp_path, None, "--server-side")
    assert rc == 0, err
    assert (await get_json(kubeconfig, "deployment", "web"))["spec"]["replicas"] == 1


@needs_kubectl
async def test_another_manager_conflicts_with_what_client_side_apply_set(
        kubeconfig: Path, tmp_path: Path) -> None:
    rc, _, err = await apply_deployment(kubeconfig, tmp_path, 2)
    assert rc == 0, err
    rc, _, err = await apply_deployment(kubeconfig, tmp_path, 3, "--server-side",
                                        "--field-manager=other")
    assert rc != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
            'apps/v1: .spec.replicas') in err


@needs_kubectl
async def test_apply_to_an_object_without_managed_fields_conflicts_with_before_first_apply(
        kubeconfig: Path, tmp_path: Path) -> None:
    rc, _, err = await apply_deployment(kubeconfig, tmp_path, 2, "--server-side",
                                        "--field-manager=a")
    assert rc == 0, err
    rc, _, err = await kubectl(kubeconfig, "patch", "deployment", "web", "--type=json", "-p",
                               '[{"op": "replace", "path": "/metadata/managedFields", '
                               '"value": [{}]}]')
    assert rc == 0, err
    assert "managedFields" not in (await get_json(kubeconfig, "deployment", "web"))["metadata"]
    rc, _, err = await apply_deployment(kubeconfig, tmp_path, 3, "--server-side",
                                        "--field-manager=b")
    assert rc != 0
    assert 'conflict with "before-first-apply" using apps/v1: .spec.replicas' in err


async def test_the_conflict_is_kubes_status(server: TestServer) -> None:
    import aiohttp
    url = f"http://127.0.0.1:{server.port}/api/v1/namespaces/default/configmaps/c"
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                       "data": {"k": "1"}})
    ctype = {"Content-Type": "application/apply-patch+yaml"}
    async with aiohttp.ClientSession() as http:
        async with http.patch(url + "?fieldManager=a", data=body, headers=ctype) as resp:
            assert resp.status == 201
        async with http.patch(url + "?fieldManager=b", data=body.replace('"1"', '"2"'),
                              headers=ctype) as resp:
            assert resp.status == 409
            status = await resp.json()
        async with http.patch(url + "?fieldManager=b&force=true",
                              data=body.replace('"1"', '"2"'), headers=ctype) as resp:
            assert resp.status == 200
        async with http.patch(url + "?force=true", data='{"data": {"k": "3"}}',
                              headers={"Content-Type": "application/merge-patch+json"}) as resp:
            assert resp.status == 422
    assert status["reason"] == "Conflict" and status["code"] == 409
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "a": .data.k'
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                            "message": 'conflict with "a"',
                                            "field": ".data.k"}]


async def test_an_update_without_field_manager_is_named_by_its_user_agent(
        server: TestServer) -> None:
    import aiohttp
    url = f"http://127.0.0.1:{server.port}/api/v1/namespaces/default/configmaps"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"metadata": {"name": "c"}, "data": {"k": "v"}},
                             headers={"User-Agent": "my-tool/1.0 (linux)"}) as resp:
            assert resp.status == 201
            cm = await resp.json()
    assert [e["manager"] for e in cm["metadata"]["managedFields"]] == ["my-tool"]


async def test_official_client_patch_with_field_manager_applies(server: TestServer) -> None:
    from kubernetes import client

    def work() -> tuple[Any, Any]:
        cfg = client.Configuration()
        cfg.host = f"http://127.0.0.1:{server.port}"
        api_client = client.ApiClient(cfg)
        # the generated patch methods always pick json-patch; a default header wins
        api_client.set_default_header("Content-Type", "application/apply-patch+yaml")
        apps = client.AppsV1Api(api_client)
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "py"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "py"}},
                         "template": {"metadata": {"labels": {"app": "py"}},
                                      "spec": {"containers": [{"name": "c",
                                                               "image": "busybox"}]}}}}
        created = apps.patch_namespaced_deployment(
            "py", "default", body, field_manager="py-tool")
        try:
            apps.patch_namespaced_deployment(
                "py", "default", {**body, "spec": {**body["spec"], "replicas": 4}},
                field_manager="other")
        except client.ApiException as e:
            return created, e
        return created, None

    created, refused = await asyncio.to_thread(work)
    entry = created.metadata.managed_fields[0]
    assert (entry.manager, entry.operation, entry.api_version) == ("py-tool", "Apply",
                                                                   "apps/v1")
    assert created.spec.replicas == 2
    assert refused is not None and refused.status == 409
    assert 'conflict with \\"py-tool\\": .spec.replicas' in refused.body


@pytest.mark.parametrize("resource", list(MINIMAL), ids=str)
async def test_every_kind_is_created_by_apply_and_reapplied(svc: ApiService,
                                                            resource: Resource) -> None:
    config = MINIMAL[resource]()
    config |= {"apiVersion": resource.api_version, "kind": resource.kind}
    config["metadata"].pop("uid", None)  # the server's, not a client's to apply
    config["metadata"]["annotations"] = {"by": "apply"}  # a field even where none else is
    name = config["metadata"]["name"]
    ns = "default" if resource.namespaced else None
    opts = RequestOptions(field_manager="tester")
    first = await svc.patch_object(resource, name, config, APPLY_PATCH, ns, opts=opts)
    assert first.created
    again = await svc.patch_object(resource, name, config, APPLY_PATCH, ns, opts=opts)
    assert again.obj["metadata"]["resourceVersion"] == first.obj["metadata"]["resourceVersion"]
    labelled = copy.deepcopy(config)
    labelled["metadata"].setdefault("labels", {})["applied"] = "yes"
    third = await svc.patch_object(resource, name, labelled, APPLY_PATCH, ns, opts=opts)
    assert third.obj["metadata"]["labels"]["applied"] == "yes"
    entry = third.obj["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"]) == ("tester", "Apply")
    assert entry["fieldsV1"]["f:metadata"]["f:labels"]["f:applied"] == {}


async def _request(server: TestServer, method: str, path: str, body: Any,
                   ctype: str = "application/json") -> tuple[int, Any]:
    import aiohttp
    async with aiohttp.ClientSession() as http, http.request(
            method, f"http://127.0.0.1:{server.port}{path}", data=json.dumps(body),
            headers={"Content-Type": ctype}) as resp:
        return resp.status, await resp.json()


CM = "/api/v1/namespaces/default/configmaps"
MERGE = "application/merge-patch+json"


async def test_a_client_may_set_managed_fields_and_an_empty_list_clears_them(
        server: TestServer) -> None:
    await _request(server, "POST", CM + "?fieldManager=maker",
                   {"metadata": {"name": "c"}, "data": {"k": "v"}})
    given = [{"manager": "someone", "operation": "Apply", "apiVersion": "v1",
              "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
              "fieldsV1": {"f:data": {"f:k": {}}}}]
    code, cm = await _request(server, "PATCH", CM + "/c",
                              {"metadata": {"managedFields": given}}, MERGE)
    assert code == 200 and cm["metadata"]["managedFields"] == given
    code, cm = await _request(server, "PATCH", CM + "/c", {"metadata": {"labels": {"a": "b"}}},
                              MERGE)
    assert cm["metadata"]["managedFields"][0] == given[0]  # a write without them keeps them
    for reset in ([], [{}]):
        code, cm = await _request(server, "PATCH", CM + "/c",
                                  {"metadata": {"managedFields": given}}, MERGE)
        code, cm = await _request(server, "PATCH", CM + "/c",
                                  {"metadata": {"managedFields": reset}}, MERGE)
        assert code == 200 and "managedFields" not in cm["metadata"], reset


async def test_an_apply_may_not_carry_managed_fields(server: TestServer) -> None:
    code, status = await _request(server, "PATCH", CM + "/c?fieldManager=a", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "managedFields": [{"manager": "x"}]}},
        "application/apply-patch+yaml")
    assert (code, status["message"]) == (400, "metadata.managedFields must be nil")


async def test_a_status_write_is_recorded_for_its_subresource(server: TestServer) -> None:
    pods = "/api/v1/namespaces/default/pods"
    await _request(server, "POST", pods + "?fieldManager=maker", {
        "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "b"}]}})
    code, pod = await _request(server, "PATCH", pods + "/p/status?fieldManager=kubelet",
                               {"status": {"message": "hello"}}, MERGE)
    assert code == 200, pod
    entry = {e["manager"]: e for e in pod["metadata"]["managedFields"]}["kubelet"]
    assert entry["subresource"] == "status" and entry["operation"] == "Update"
    assert entry["fieldsV1"] == {"f:status": {"f:message": {}}}


def test_the_default_manager_is_the_user_agent_prefix_or_the_component() -> None:
    from minikube_py.apiserver.authn import KUBE_SCHEDULER, UserInfo
    from minikube_py.apiserver.fieldmanager import manager_name
    assert manager_name(RequestOptions(field_manager="x", user_agent="y/1")) == "x"
    assert manager_name(RequestOptions(user_agent="kubectl/v1.32.0 (linux/amd64)")) == \
        "kubectl"
    assert manager_name(RequestOptions(user=KUBE_SCHEDULER)) == "kube-scheduler"
    assert manager_name(RequestOptions(user=UserInfo("system:node:n1"))) == "kubelet"
    assert manager_name(RequestOptions()) == "kube-apiserver"


async def test_a_status_apply_sets_only_the_status_and_is_recorded_for_it(
        server: TestServer) -> None:
    pods = "/api/v1/namespaces/default/pods"
    await _request(server, "POST", pods + "?fieldManager=maker", {
        "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "b"}]}})
    code, pod = await _request(server, "PATCH", pods + "/p/status?fieldManager=reporter", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "other"}]},
        "status": {"conditions": [{"type": "Custom", "status": "True"}]}},
        "application/apply-patch+yaml")
    assert code == 200, pod
    assert pod["spec"]["containers"][0]["image"] == "b"
    assert {"type": "Custom", "status": "True"} in pod["status"]["conditions"]
    entry = {e["manager"]: e for e in pod["metadata"]["managedFields"]}["reporter"]
    assert (entry["operation"], entry["subresource"]) == ("Apply", "status")
    assert entry["fieldsV1"] == {"f:status": {"f:conditions": {'k:{"type":"Custom"}': {
        ".": {}, "f:status": {}, "f:type": {}}}}}


async def test_an_apply_names_the_version_it_is_for(server: TestServer) -> None:
    code, status = await _request(server, "PATCH", CM + "/c?fieldManager=a", {
        "apiVersion": "v2", "kind": "ConfigMap", "metadata": {"name": "c"}},
        "application/apply-patch+yaml")
    assert (code, status["message"]) == (400, "Incorrect version specified in apply patch. "
                                         "Specified patch version: v2, expected: v1")


@pytest.mark.parametrize(("query", "ctype", "message"), [
    ("", "application/apply-patch+yaml",
     'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for '
     "apply patch"),
    ("?force=true", MERGE, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not '
     "be specified for non-apply patch"),
    ("?fieldManager=" + "m" * 129, MERGE, 'PatchOptions.meta.k8s.io "" is invalid: '
     "fieldManager: Too long: may not be more than 128 bytes"),
    ("?fieldManager=a%07", MERGE, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
     'Invalid value: "a\\u0007": invalid character U+0007 (at position 1)'),
])
async def test_patch_options_kube_refuses(server: TestServer, query: str, ctype: str,
                                          message: str) -> None:
    await _request(server, "POST", CM, {"metadata": {"name": "c"}})
    code, status = await _request(server, "PATCH", CM + "/c" + query, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, ctype)
    assert (code, status["reason"], status["message"]) == (422, "Invalid", message)


async def test_an_apply_of_the_scale_owns_the_replicas_for_the_scale_subresource(
        server: TestServer) -> None:
    deployments = "/apis/apps/v1/namespaces/default/deployments"
    code, _ = await _request(server, "PATCH", deployments + "/web?fieldManager=a", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "b"}]}}}},
        "application/apply-patch+yaml")
    assert code == 201
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"},
             "spec": {"replicas": 5}}
    code, status = await _request(server, "PATCH", deployments + "/web/scale?fieldManager=hpa",
                                  scale, "application/apply-patch+yaml")
    assert (code, status["message"]) == (
        409, 'Apply failed with 1 conflict: conflict with "a": .spec.replicas')
    code, out = await _request(server, "PATCH",
                               deployments + "/web/scale?fieldManager=hpa&force=true", scale,
                               "application/apply-patch+yaml")
    assert (code, out["spec"]["replicas"]) == (200, 5)
    code, deploy = await _request(server, "GET", deployments + "/web", None)
    entry = {e["manager"]: e for e in deploy["metadata"]["managedFields"]}["hpa"]
    assert (entry["operation"], entry["subresource"]) == ("Apply", "scale")
    assert entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


async def test_an_unknown_field_in_an_apply_is_dropped_not_owned(server: TestServer) -> None:
    code, cm = await _request(server, "PATCH", CM + "/c?fieldManager=a", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"k": "v"}, "bogus": {"x": 1}}, "application/apply-patch+yaml")
    assert code == 201 and "bogus" not in cm
    assert cm["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {"f:k": {}}}


CRD_WITH_LIST_MAP = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: routes.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: routes, singular: route, kind: Route}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              weight: {type: integer}
              backends:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    port: {type: integer}
"""


@needs_kubectl
async def test_apply_on_a_custom_resource_merges_its_list_map_and_conflicts(
        kubeconfig: Path, tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text(CRD_WITH_LIST_MAP)
    rc, _, err = await kubectl(kubeconfig, "apply", "-f", str(crd))
    assert rc == 0, err
    rc, _, err = await kubectl(kubeconfig, "wait", "--for=condition=Established",
                               "crd/routes.example.com", "--timeout=20s")
    assert rc == 0, err

    def route(backend: str, port: int, weight: int | None = None) -> Path:
        path = tmp_path / f"route-{backend}.yaml"
        spec = f"  backends:\n  - {{name: {backend}, port: {port}}}\n"
        if weight is not None:
            spec = f"  weight: {weight}\n" + spec
        path.write_text(f"apiVersion: example.com/v1\nkind: Route\nmetadata: {{name: r}}\n"
                        f"spec:\n{spec}")
        return path

    for manager, backend, port in (("a", "blue", 80), ("b", "green", 81)):
        rc, _, err = await kubectl(kubeconfig, "apply", "--server-side",
                                   f"--field-manager={manager}", "-f",
                                   str(route(backend, port, 10 if manager == "a" else None)))
        assert rc == 0, err
    obj = await get_json(kubeconfig, "route", "r")
    # A list map: each manager's item kept, each owned by its applier.
    assert obj["spec"]["backends"] == [{"name": "blue", "port": 80},
                                       {"name": "green", "port": 81}]
    owners = managers(obj)
    assert 'k:{"name":"blue"}' in owners["a"]["fieldsV1"]["f:spec"]["f:backends"]
    assert 'k:{"name":"green"}' in owners["b"]["fieldsV1"]["f:spec"]["f:backends"]
    rc, _, err = await kubectl(kubeconfig, "apply", "--server-side", "--field-manager=b",
                               "-f", str(route("green", 81, 20)))
    assert rc != 0
    assert 'conflict with "a": .spec.weight' in err
