"""CustomResourceDefinitions (apiextensions.k8s.io/v1) and the custom resources they define:
validated, Established, served at /apis/GROUP/VERSION/..., pruned, defaulted and validated
along their schema, printed with their columns, and removed with their CRD; through the real
kubectl and the official client too."""

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CUSTOMRESOURCEDEFINITIONS as CRDS
from minikube_py.api.resources import Resource
from minikube_py.apiserver.customresources.strategy import strategies_of
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.service import ApiService
from tests.conditions import until
from tests.unit.apiserver.conftest import official_client
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

Obj = dict[str, Any]
SCHEMA: Obj = {"type": "object", "properties": {
    "spec": {"type": "object", "required": ["size"], "properties": {
        "size": {"type": "string", "enum": ["S", "M", "L"]},
        "replicas": {"type": "integer", "minimum": 0, "default": 1},
        "selector": {"type": "string"}}},
    "status": {"type": "object", "properties": {
        "replicas": {"type": "integer"}, "phase": {"type": "string"},
        "conditions": {"type": "array", "items": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}}


def widget_crd(**version: Any) -> Obj:
    v: Obj = {"name": "v1", "served": True, "storage": True,
              "schema": {"openAPIV3Schema": SCHEMA},
              "subresources": {"status": {}, "scale": {
                  "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                  "labelSelectorPath": ".spec.selector"}},
              "additionalPrinterColumns": [
                  {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
                  {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                  {"name": "Ready", "type": "string",
                   "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                  {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
              **version}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"],
                               "categories": ["all"]},
                     "versions": [v]}}


def widget(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": "S", **spec}}


async def established(svc: ApiService, crd: Obj) -> Resource:
    await svc.create_object(CRDS, copy.deepcopy(crd), None)
    spec = crd["spec"]
    version = spec["versions"][0]["name"]
    await until(lambda: svc.kinds.find(spec["group"], version, spec["names"]["plural"])
                is not None, "the CRD's resource to be served")
    found = svc.kinds.find(spec["group"], version, spec["names"]["plural"])
    assert found is not None
    return found.resource


async def _first(events: Any, n: int) -> Any:
    """The first n pairs of a watch, leaving it open."""
    for _ in range(n):
        yield await events.__anext__()


async def names_refused(svc: ApiService, name: str) -> None:
    async def refused() -> bool:
        crd = await svc.get_object(CRDS, name, None)
        return any(c["type"] == "NamesAccepted" and c["status"] == "False"
                   for c in (crd.get("status") or {}).get("conditions") or [])

    await until(refused, f"NamesAccepted False on {name}")


async def invalid_causes(svc: ApiService, crd: Obj) -> list[tuple[str, str]]:
    with pytest.raises(ApiError) as e:
        await svc.create_object(CRDS, crd, None)
    assert e.value.code == 422, e.value
    return [(c.field, c.message) for c in e.value.causes]


# --- the CRD itself ------------------------------------------------------------------------

def _with(spec: Obj) -> Obj:
    crd = widget_crd()
    crd["spec"].update(spec)
    return crd


@pytest.mark.parametrize("crd, cause", [
    ({**widget_crd(), "metadata": {"name": "gadgets.example.com"}},
     ("metadata.name", 'Invalid value: "gadgets.example.com": must be '
                       'spec.names.plural+"."+spec.group')),
    ({**_with({"group": "example"}), "metadata": {"name": "widgets.example"}},
     ("spec.group", 'Invalid value: "example": should be a domain with at least one dot')),
    (_with({"scope": "Global"}),
     ("spec.scope", 'Unsupported value: "Global": supported values: "Cluster", "Namespaced"')),
    (_with({"versions": []}), ("spec.versions", "Required value: must have at least one "
                                                "version")),
    (_with({"versions": [{"name": "v1", "served": True, "storage": False,
                          "schema": {"openAPIV3Schema": {"type": "object"}}}]}),
     ("spec.versions", 'Invalid value: ["v1"]: must have exactly one version marked as '
                       'storage version')),
    (_with({"versions": [{"name": "v1", "served": True, "storage": True}]}),
     ("spec.versions[0].schema.openAPIV3Schema", "Required value: schemas are required")),
    (_with({"versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": {"type": "string"}}}]}),
     ("spec.versions[0].schema.openAPIV3Schema.type",
      'Invalid value: "string": must be object at the root')),
    (_with({"conversion": {"strategy": "Webhook"}}),
     ("spec.conversion.strategy", "Forbidden: conversion webhooks are not supported by this "
                                  "server (no webhooks are called here); use None")),
    (_with({"names": {"plural": "widgets", "kind": "Widget", "shortNames": ["W_1"]}}),
     ("spec.names.shortNames[0]", 'Invalid value: "W_1": a DNS-1035 label must consist of '
                                  "lower case alphanumeric characters or '-', start with an "
                                  "alphabetic character, and end with an alphanumeric "
                                  "character (e.g. 'my-name',  or 'abc-123', regex used for "
                                  "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")),
    (_with({"names": {"plural": "widgets", "kind": "Widget", "listKind": "Widget"}}),
     ("spec.names.listKind", 'Invalid value: "Widget": kind and listKind may not be the same')),
])
async def test_crd_validation_causes(svc: ApiService, crd: Obj, cause: tuple[str, str]) -> None:
    assert cause in await invalid_causes(svc, crd)


async def test_crd_duplicate_version_names_are_refused(svc: ApiService) -> None:
    crd = widget_crd()
    crd["spec"]["versions"].append({**crd["spec"]["versions"][0], "storage": False})
    assert ("spec.versions", 'Invalid value: ["v1","v1"]: must contain unique version names') \
        in await invalid_causes(svc, crd)


async def test_crd_is_established_with_kubes_conditions(svc: ApiService) -> None:
    await established(svc, widget_crd())
    crd = await svc.get_object(CRDS, "widgets.example.com", None)
    conditions = {c["type"]: (c["status"], c["reason"], c["message"])
                  for c in crd["status"]["conditions"]}
    assert conditions == {
        "NamesAccepted": ("True", "NoConflicts", "no conflicts found"),
        "Established": ("True", "InitialNamesAccepted", "the initial names have been accepted")}
    assert crd["status"]["acceptedNames"] == {
        "plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
        "shortNames": ["wd"], "categories": ["all"]}
    assert crd["status"]["storedVersions"] == ["v1"]


async def test_a_crd_whose_names_another_holds_is_not_accepted(svc: ApiService) -> None:
    await established(svc, widget_crd())
    other = widget_crd()
    other["metadata"]["name"] = "gizmos.example.com"
    other["spec"]["names"] = {"plural": "gizmos", "kind": "Widget"}
    await svc.create_object(CRDS, other, None)
    await names_refused(svc, "gizmos.example.com")
    crd = await svc.get_object(CRDS, "gizmos.example.com", None)
    conditions = {c["type"]: (c["status"], c["reason"], c["message"])
                  for c in crd["status"]["conditions"]}
    assert conditions["NamesAccepted"] == ("False", "NameConflict", '"widget" is already in use')
    assert conditions["Established"] == ("False", "NotAccepted", "not all names are accepted")
    assert svc.kinds.find("example.com", "v1", "gizmos") is None


async def test_a_crd_may_not_take_a_builtin_resource(svc: ApiService) -> None:
    crd = widget_crd()
    crd["metadata"]["name"] = "ingresses.networking.k8s.io"
    crd["spec"].update(group="networking.k8s.io",
                       names={"plural": "ingresses", "kind": "Ingress2"})
    await svc.create_object(CRDS, crd, None)
    await names_refused(svc, "ingresses.networking.k8s.io")


# --- custom resources ----------------------------------------------------------------------

async def test_custom_resource_is_defaulted_pruned_and_validated(svc: ApiService) -> None:
    widgets = await established(svc, widget_crd())
    opts = RequestOptions(field_validation="Warn")
    written = await svc.create_object(widgets, widget("a", extra=1), "default", opts)
    assert written.obj["spec"] == {"size": "S", "replicas": 1}
    assert opts.warnings == ['unknown field "spec.extra"']
    assert written.obj["metadata"]["generation"] == 1
    with pytest.raises(ApiError) as e:
        await svc.create_object(widgets, widget("b", size="XL", replicas="many"), "default")
    assert e.value.code == 422
    assert e.value.message == (
        'Widget.example.com "b" is invalid: [spec.size: Unsupported value: "XL": supported '
        'values: "S", "M", "L", spec.replicas: Invalid value: "many": spec.replicas in body '
        'must be of type integer: "string"]')
    with pytest.raises(ApiError) as e:
        await svc.create_object(widgets, {**widget("c"), "spec": {}}, "default")
    assert [(c.field, c.message) for c in e.value.causes] == [("spec.size", "Required value")]


async def test_status_subresource_splits_spec_and_status(svc: ApiService) -> None:
    widgets = await established(svc, widget_crd())
    created = (await svc.create_object(widgets, {**widget("a"), "status": {"phase": "x"}},
                                       "default")).obj
    assert "status" not in created
    on_status = {**created, "spec": {"size": "L"}, "status": {"phase": "Ready"}}
    after = (await svc.update_object(widgets, on_status, "default", "status", name="a")).obj
    assert after["spec"]["size"] == "S" and after["status"] == {"phase": "Ready"}
    assert after["metadata"]["generation"] == 1
    main = {**after, "spec": {"size": "M"}, "status": {"phase": "Forged"}}
    after = (await svc.update_object(widgets, main, "default", name="a")).obj
    assert after["spec"]["size"] == "M" and after["status"] == {"phase": "Ready"}
    assert after["metadata"]["generation"] == 2


async def test_scale_subresource_follows_the_crds_paths(svc: ApiService) -> None:
    widgets = await established(svc, widget_crd())
    await svc.create_object(widgets, widget("a", replicas=2, selector="app=a"), "default")
    scale = await svc.get_subresource(widgets, "a", "scale", "default")
    assert (scale["spec"], scale["status"]) == ({"replicas": 2},
                                                {"replicas": 0, "selector": "app=a"})
    await svc.patch_object(widgets, "a", {"spec": {"replicas": 5}},
                           "application/merge-patch+json", "default", "scale")
    assert (await svc.get_object(widgets, "a", "default"))["spec"]["replicas"] == 5


async def test_scale_over_http_answers_an_autoscaling_v1_scale(svc: ApiService,
                                                                server: TestServer) -> None:
    widgets = await established(svc, widget_crd())
    await svc.create_object(widgets, widget("a", replicas=2), "default")
    url = f"http://127.0.0.1:{server.port}/apis/example.com/v1/namespaces/default/widgets/a"
    async with aiohttp.ClientSession() as http:
        async with http.patch(f"{url}/scale", json={"spec": {"replicas": 4}}, headers={
                "Content-Type": "application/merge-patch+json"}) as resp:
            scale = await resp.json()
        async with http.get(f"{url}/scale") as resp:
            read = await resp.json()
    assert (scale["apiVersion"], scale["kind"], scale["spec"]) == ("autoscaling/v1", "Scale",
                                                                   {"replicas": 4})
    assert read["apiVersion"] == "autoscaling/v1"


async def test_strategic_merge_patch_of_a_custom_resource_is_415(svc: ApiService) -> None:
    widgets = await established(svc, widget_crd())
    await svc.create_object(widgets, widget("a"), "default")
    with pytest.raises(ApiError) as e:
        await svc.patch_object(widgets, "a", {"spec": {"size": "M"}},
                               "application/strategic-merge-patch+json", "default")
    assert e.value.code == 415
    patched = await svc.patch_object(widgets, "a", [{"op": "replace", "path": "/spec/size",
                                                     "value": "L"}],
                                     "application/json-patch+json", "default")
    assert patched.obj["spec"]["size"] == "L"


async def test_deleting_a_crd_deletes_its_instances_first(svc: ApiService) -> None:
    widgets = await established(svc, widget_crd())
    held = widget("a")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await svc.create_object(widgets, held, "default")
    await svc.create_object(widgets, widget("b"), "default")
    await svc.create_object(widgets, {**widget("c"), "metadata": {"name": "c",
                                                                 "namespace": "kube-system"}},
                            "kube-system")
    watch = svc.watch_events(widgets, None, svc.filter(widgets))
    watched = [pair async for pair in _first(watch, 3)]
    assert [kind for kind, _ in watched] == ["ADDED", "ADDED", "ADDED"]
    await svc.delete_object(CRDS, "widgets.example.com", None)

    async def in_progress() -> bool:
        crd = await svc.get_object(CRDS, "widgets.example.com", None)
        return any(c["type"] == "Terminating" and c["reason"] == "InstanceDeletionInProgress"
                   for c in crd["status"]["conditions"])

    await until(in_progress, "instance deletion in progress (one instance is held)")
    with pytest.raises(ApiError) as e:
        await svc.create_object(widgets, widget("late"), "default")
    assert (e.value.code, e.value.message) == (
        405, "create not allowed while custom resource definition is terminating")
    a = await svc.get_object(widgets, "a", "default")
    a["metadata"]["finalizers"] = []
    await svc.update_object(widgets, a, "default", name="a")

    async def gone() -> bool:
        # The definition leaves the store first; its kinds stop being served when the
        # controller sees it go (asynchronously, as kube's discovery does).
        return (await svc.read_stored(CRDS, None, "widgets.example.com") is None
                and svc.kinds.find("example.com", "v1", "widgets") is None)

    await until(gone, "the CRD to go and its kind with it")
    # The watch of the widgets ended with them (it saw them go first).
    rest = [kind async for kind, _ in watch]
    assert rest.count("DELETED") == 3
    left = await svc.kv.range(b"/registry/example.com/widgets/", b"/registry/example.com/widgets0")
    assert list(left.kvs) == []
    with pytest.raises(ApiError) as e:
        await svc.get_object(widgets, "a", "default")
    assert e.value.code == 404


async def test_crds_stored_before_a_restart_are_served_at_start(svc: ApiService) -> None:
    widgets = await established(svc, widget_crd())
    await svc.create_object(widgets, widget("a"), "default")
    again = ApiService(svc.kv, clock=svc.clock)
    await again.start()
    try:
        found = again.kinds.find("example.com", "v1", "widgets")
        assert found is not None
        assert (await again.get_object(found.resource, "a", "default"))["spec"]["size"] == "S"
    finally:
        await again.stop()


# --- over HTTP ------------------------------------------------------------------------------

async def test_http_discovery_lists_and_warns(svc: ApiService, server: TestServer) -> None:
    await established(svc, widget_crd())
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/apis/example.com/v1") as resp:
            doc = await resp.json()
        entry = next(r for r in doc["resources"] if r["name"] == "widgets")
        assert (entry["kind"], entry["namespaced"], entry["shortNames"], entry["categories"]) \
            == ("Widget", True, ["wd"], ["all"])
        assert {r["name"] for r in doc["resources"]} == {"widgets", "widgets/status",
                                                        "widgets/scale"}
        accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        async with http.get(f"{base}/apis", headers={"Accept": accept}) as resp:
            groups = {g["metadata"]["name"]: g for g in (await resp.json())["items"]}
        assert groups["example.com"]["versions"][0]["resources"][0]["resource"] == "widgets"
        url = f"{base}/apis/example.com/v1/namespaces/default/widgets"
        async with http.post(url, json=widget("a", bogus=True)) as resp:
            assert resp.status == 201
            assert resp.headers.getall("Warning") == ['299 - "unknown field \\"spec.bogus\\""']
        async with http.get(url + "?labelSelector=x%3Dy") as resp:
            assert (await resp.json())["items"] == []
        async with http.get(url + "?fieldSelector=metadata.name%3Da") as resp:
            listed = await resp.json()
        assert (listed["kind"], [i["metadata"]["name"] for i in listed["items"]]) == (
            "WidgetList", ["a"])


async def test_http_table_has_the_printer_columns(svc: ApiService, server: TestServer) -> None:
    widgets = await established(svc, widget_crd())
    await svc.create_object(widgets, widget("a", replicas=3), "default")
    status = {**(await svc.get_object(widgets, "a", "default")),
              "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    await svc.update_object(widgets, status, "default", "status", name="a")
    url = f"http://127.0.0.1:{server.port}/apis/example.com/v1/namespaces/default/widgets"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Accept": "application/json;as=Table;v=v1;"
                                                    "g=meta.k8s.io"}) as resp:
            table = await resp.json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Replicas",
                                                               "Ready", "Age"]
    assert table["rows"][0]["cells"][:4] == ["a", "S", 3, "True"]


async def test_a_deprecated_version_warns(svc: ApiService, server: TestServer) -> None:
    await established(svc, widget_crd(deprecated=True, deprecationWarning="use v2"))
    url = f"http://127.0.0.1:{server.port}/apis/example.com/v1/namespaces/default/widgets"
    async with aiohttp.ClientSession() as http:
        for query in ("", "?watch=true&timeoutSeconds=1"):
            async with http.get(url + query) as resp:
                assert resp.headers.getall("Warning") == ['299 - "use v2"']


# --- kubectl and the official client --------------------------------------------------------

CRD_YAML = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    additionalPrinterColumns:
    - name: Size
      type: string
      jsonPath: .spec.size
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string}
              replicas: {type: integer, default: 1}
"""
WIDGET_YAML = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  size: M
"""


@needs_kubectl
async def test_kubectl_crd_lifecycle(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", "-", stdin=CRD_YAML)
    assert rc == 0, err
    assert "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created" in out
    rc, out, err = await kubectl(kubeconfig, "wait", "--for=condition=Established",
                                 "crd/widgets.example.com", "--timeout=20s")
    assert rc == 0, err
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", "-", stdin=WIDGET_YAML)
    assert rc == 0, err
    assert "widget.example.com/w1 created" in out
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", "-", stdin=WIDGET_YAML)
    assert rc == 0, err
    assert "widget.example.com/w1 unchanged" in out
    rc, out, err = await kubectl(kubeconfig, "get", "wd")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "REPLICAS", "AGE"]
    assert lines[1].split()[:3] == ["w1", "M", "1"]
    rc, out, err = await kubectl(kubeconfig, "scale", "wd", "w1", "--replicas=3")
    assert rc == 0, err
    assert "widget.example.com/w1 scaled" in out
    rc, out, err = await kubectl(kubeconfig, "get", "all")
    assert rc == 0, err
    assert "widget.example.com/w1" in out
    rc, out, err = await kubectl(kubeconfig, "get", "widget", "w1", "-o",
                                 "jsonpath={.spec.replicas}")
    assert (rc, out) == (0, "3"), err
    rc, out, err = await kubectl(kubeconfig, "get", "crd")
    assert rc == 0, err
    assert out.splitlines()[0].split() == ["NAME", "CREATED", "AT"]
    rc, out, err = await kubectl(kubeconfig, "patch", "widget", "w1", "--type=merge", "-p",
                                 '{"spec":{"replicas":"x"}}')
    assert rc != 0
    assert 'spec.replicas: Invalid value: "x": spec.replicas in body must be of type ' \
           'integer: "string"' in err
    rc, out, err = await kubectl(kubeconfig, "delete", "crd", "widgets.example.com")
    assert rc == 0, err
    rc, out, err = await kubectl(kubeconfig, "get", "crd")
    assert "widgets.example.com" not in out
    rc, out, err = await kubectl(kubeconfig, "get", "widgets")
    assert rc != 0, out


async def test_python_client_crd_and_custom_objects(svc: ApiService,
                                                     server: TestServer) -> None:
    from kubernetes import client, watch

    def create_crd() -> Any:
        api = client.ApiextensionsV1Api(official_client(server))
        return api.create_custom_resource_definition(widget_crd())

    created = await asyncio.to_thread(create_crd)
    assert isinstance(created, client.V1CustomResourceDefinition)
    assert created.spec.versions[0].schema.open_apiv3_schema.properties["spec"].required == \
        ["size"]
    await until(lambda: svc.kinds.find("example.com", "v1", "widgets") is not None,
                "the widgets to be served")

    def custom_objects() -> tuple[Any, Any, Any, Any]:
        api = client.CustomObjectsApi(official_client(server))
        made = api.create_namespaced_custom_object("example.com", "v1", "default", "widgets",
                                                   widget("a"))
        listed = api.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
        status = api.patch_namespaced_custom_object_status(
            "example.com", "v1", "default", "widgets", "a", {"status": {"phase": "Ready"}})
        w = watch.Watch()
        first = next(iter(w.stream(api.list_namespaced_custom_object, "example.com", "v1",
                                   "default", "widgets", timeout_seconds=5)))
        w.stop()
        return made, listed, status, first

    made, listed, status, first = await asyncio.to_thread(custom_objects)
    assert made["spec"] == {"size": "S", "replicas": 1}
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a"]
    assert status["status"] == {"phase": "Ready"}
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "a")
    read = await asyncio.to_thread(lambda: client.ApiextensionsV1Api(
        official_client(server)).read_custom_resource_definition("widgets.example.com"))
    assert [c.type for c in read.status.conditions] == ["NamesAccepted", "Established"]
    assert json.dumps(read.status.stored_versions) == '["v1"]'


async def test_versions_share_storage_and_show_their_own_api_version(
        svc: ApiService, server: TestServer) -> None:
    crd = widget_crd()
    v1 = crd["spec"]["versions"][0]
    crd["spec"]["versions"] = [v1, {**v1, "name": "v2", "storage": False}]
    widgets_v1 = await established(svc, crd)
    await until(lambda: svc.kinds.find("example.com", "v2", "widgets") is not None, "v2")
    base = f"http://127.0.0.1:{server.port}/apis/example.com"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/v2/namespaces/default/widgets",
                             json={**widget("a"), "apiVersion": "example.com/v2"}) as resp:
            assert resp.status == 201, await resp.text()
            assert (await resp.json())["apiVersion"] == "example.com/v2"
        stored = await svc.get_object(widgets_v1, "a", "default")
        assert stored["apiVersion"] == "example.com/v1"  # the storage version
        for version in ("v1", "v2"):
            async with http.get(f"{base}/{version}/namespaces/default/widgets/a") as resp:
                assert (await resp.json())["apiVersion"] == f"example.com/{version}"
            async with http.get(f"{base}/{version}/namespaces/default/widgets") as resp:
                listed = await resp.json()
            assert [i["apiVersion"] for i in listed["items"]] == [f"example.com/{version}"]
        async with http.get(base) as resp:
            assert (await resp.json())["preferredVersion"]["version"] == "v2"
        async with http.patch(f"{base}/v2/namespaces/default/widgets/a",
                              json={"spec": {"size": "M"}},
                              headers={"Content-Type": "application/merge-patch+json"}) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["apiVersion"] == "example.com/v2"
        async with http.get(f"{base}/v2/namespaces/default/widgets?watch=true&"
                            "timeoutSeconds=1") as resp:
            first = json.loads(await resp.content.readline())
    assert (first["type"], first["object"]["apiVersion"]) == ("ADDED", "example.com/v2")


async def test_a_default_the_schema_gains_shows_on_read(svc: ApiService,
                                                        server: TestServer) -> None:
    widgets = await established(svc, widget_crd())
    await svc.create_object(widgets, widget("a"), "default")
    crd = await svc.get_object(CRDS, "widgets.example.com", None)
    spec_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec_schema["properties"]["color"] = {"type": "string", "default": "blue"}
    await svc.update_object(CRDS, crd, None, name="widgets.example.com")
    await until(lambda: "color" in json.dumps(svc.kinds.strategy(widgets).openapi),
                "the new schema to be served")
    url = f"http://127.0.0.1:{server.port}/apis/example.com/v1/namespaces/default/widgets"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/a") as resp:
            assert (await resp.json())["spec"] == {"size": "S", "replicas": 1, "color": "blue"}
        async with http.get(url) as resp:
            assert (await resp.json())["items"][0]["spec"]["color"] == "blue"


async def test_a_controller_gen_style_crd_keeps_metadata_and_known_fields(
        svc: ApiService) -> None:
    meta_props = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                  "metadata": {"type": "object"}}
    ref = {"type": "object", "x-kubernetes-map-type": "atomic",
           "properties": {"name": {"type": "string"}, "uid": {"type": "string"}}}
    schema = {"type": "object", "properties": {
        **meta_props,
        "spec": {"type": "object", "required": ["pod"], "properties": {
            "pod": ref,
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "uploader": {"type": "string", "enum": ["kopia", ""]}}},
        "status": {"type": "object", "properties": {
            "started": {"type": "string", "format": "date-time", "nullable": True}}}}}
    crd = widget_crd()
    crd["spec"]["versions"][0].update(schema={"openAPIV3Schema": schema}, subresources={})
    widgets = await established(svc, crd)
    body = {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "a", "labels": {"app": "x"}, "annotations": {"n": "1"}},
            "spec": {"pod": {"name": "p", "uid": "u", "extra": 1}, "tags": {"k": "v"},
                     "uploader": ""},
            "status": {"started": None}}
    written = (await svc.create_object(widgets, body, "default")).obj
    assert written["metadata"]["labels"] == {"app": "x"}
    assert written["metadata"]["annotations"] == {"n": "1"}
    assert written["spec"] == {"pod": {"name": "p", "uid": "u"}, "tags": {"k": "v"},
                               "uploader": ""}
    assert written["status"] == {"started": None}


async def test_a_crd_with_cel_rules_is_stored_with_a_warning(svc: ApiService) -> None:
    crd = widget_crd()
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["x-kubernetes-validations"] = [
        {"rule": "self.replicas <= 10", "message": "at most 10"}]
    opts = RequestOptions(field_validation="Strict")
    written = await svc.create_object(CRDS, crd, None, opts)
    assert written.obj["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"]["x-kubernetes-validations"] == [{"rule": "self.replicas <= 10",
                                                 "message": "at most 10"}]
    assert opts.warnings == [
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations: "
        "validation rules (CEL) are not enforced by this server"]


@pytest.mark.parametrize("versions, warning", [
    ([("v1beta1", True), ("v1", False)],
     "example.com/v1beta1 Widget is deprecated; use example.com/v1 Widget"),
    ([("v1beta1", True), ("v1alpha1", False)], "example.com/v1beta1 Widget is deprecated"),
])
def test_default_deprecation_warning_recommends_a_stable_enough_version(
        versions: list[tuple[str, bool]], warning: str) -> None:
    crd = widget_crd()
    base = crd["spec"]["versions"][0]
    crd["spec"]["versions"] = [{**base, "name": name, "deprecated": deprecated,
                                "storage": i == 0} for i, (name, deprecated) in
                               enumerate(versions)]
    crd["status"] = {"acceptedNames": crd["spec"]["names"]}
    assert strategies_of(crd)[0].deprecation == warning


async def test_a_crd_create_answers_once_its_kinds_are_served(
        svc: ApiService, monkeypatch: pytest.MonkeyPatch) -> None:
    """No waiting for Established: a client that creates a definition and then an instance
    (kubectl apply -f crd.yaml && kubectl apply -f widget.yaml) never races the server,
    however slow the definition's sync (made slow here)."""
    serving = svc.custom_resources
    sync = serving.sync
    entered, release = asyncio.Event(), asyncio.Event()

    async def held_sync(name: str) -> None:
        entered.set()
        await release.wait()
        await sync(name)

    monkeypatch.setattr(serving, "sync", held_sync)
    create = asyncio.create_task(svc.create(CRDS, widget_crd()))
    await until(entered.is_set, "the definition's sync to start")
    assert not create.done()  # held by the sync it waits for
    release.set()
    await create
    assert svc.kinds.find("example.com", "v1", "widgets") is not None
    crd = await svc.get(CRDS, "widgets.example.com")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
