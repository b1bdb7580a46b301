"""The OpenAPI documents generated from the schema tables: names, refs, types and extensions."""

import json
from typing import Any

import pytest

from minikube_py.api.resources import Resource
from minikube_py.apiserver.openapi import OpenAPIDocuments, content_hash
from minikube_py.apiserver.openapi_schemas import definition_name
from minikube_py.apiserver.openapi_v2pb import encode_schema
from minikube_py.apiserver.protobuf import iter_fields
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV

Obj = dict[str, Any]
CRONTABS = Resource("stable.example.com", "v1", "crontabs", "CronTab", True,
                    subresources=("status",))
CRONTAB_SCHEMA: Obj = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
    "cronSpec": {"type": "string"}, "replicas": {"type": "integer", "nullable": True}}}}}


@pytest.fixture
def docs() -> OpenAPIDocuments:
    return OpenAPIDocuments(ApiService(MemoryKV()).kinds)


def v3(docs: OpenAPIDocuments, gv: str) -> Obj:
    spec = docs.v3_spec(gv)
    assert spec is not None
    return spec


def schemas(docs: OpenAPIDocuments, gv: str) -> Obj:
    return v3(docs, gv)["components"]["schemas"]


def refs(node: Any, *, in_properties: bool = False) -> list[str]:
    """Every $ref of a document (a property that is named $ref, as JSONSchemaProps has,
    is a field, not a reference)."""
    if isinstance(node, dict):
        out: list[str] = []
        for k, v in node.items():
            if k == "$ref" and not in_properties:
                out.append(v)
            else:
                out += refs(v, in_properties=k == "properties")
        return out
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_definitions_are_named_as_kubes() -> None:
    assert definition_name("apps.Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert definition_name("meta.ObjectMeta") == "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert definition_name("IntOrString") == "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
    assert definition_name("Quantity") == "io.k8s.apimachinery.pkg.api.resource.Quantity"


def test_every_served_kind_and_its_list_has_a_schema_with_its_gvk(docs: OpenAPIDocuments) -> None:
    kinds = ApiService(MemoryKV()).kinds
    for r in kinds.resources():
        gv = f"apis/{r.group}/{r.version}" if r.group else f"api/{r.version}"
        found = schemas(docs, gv)
        gvks = {(g["group"], g["version"], g["kind"])
                for s in found.values() for g in s.get("x-kubernetes-group-version-kind", [])}
        assert (r.group, r.version, r.kind) in gvks, r
        assert (r.group, r.version, r.list_kind) in gvks, r


def test_every_ref_resolves_in_v3_and_v2(docs: OpenAPIDocuments) -> None:
    for gv in docs.v3_root()["paths"]:
        spec = v3(docs, gv)
        names = spec["components"]["schemas"]
        for ref in refs(spec):
            assert ref.removeprefix("#/components/schemas/") in names, (gv, ref)
    v2 = json.loads(docs.v2_document())
    assert v2["swagger"] == "2.0"
    for ref in refs(v2):
        assert ref.removeprefix("#/definitions/") in v2["definitions"], ref


def test_deployment_fields_have_kubes_types(docs: OpenAPIDocuments) -> None:
    found = schemas(docs, "apis/apps/v1")
    spec = found["io.k8s.api.apps.v1.DeploymentSpec"]
    props = spec["properties"]
    assert props["replicas"]["type"] == "integer" and props["replicas"]["format"] == "int32"
    assert props["paused"]["type"] == "boolean"
    assert props["strategy"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}]
    assert "template" in spec["required"]
    rolling = found["io.k8s.api.apps.v1.RollingUpdateDeployment"]["properties"]
    assert rolling["maxSurge"]["allOf"][0]["$ref"].endswith("intstr.IntOrString")
    int_or_string = found["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["x-kubernetes-int-or-string"] and "type" not in int_or_string
    assert found["io.k8s.apimachinery.pkg.apis.meta.v1.Time"] | {"description": ""} == {
        "type": "string", "format": "date-time", "description": ""}
    meta = found["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
    assert meta["labels"]["additionalProperties"] == {"type": "string"}


def test_lists_carry_patch_and_list_strategies_of_the_merge_keys(docs: OpenAPIDocuments) -> None:
    found = schemas(docs, "api/v1")
    containers = found["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert (containers["x-kubernetes-patch-merge-key"], containers["x-kubernetes-list-type"],
            containers["x-kubernetes-list-map-keys"]) == ("name", "map", ["name"])
    ports = found["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "port"
    finalizers = found["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"][
        "finalizers"]
    assert finalizers["x-kubernetes-list-type"] == "set"
    # EndpointSlice addresses are strings: no merge key there.
    slice_ = schemas(docs, "apis/discovery.k8s.io/v1")["io.k8s.api.discovery.v1.Endpoint"]
    assert "x-kubernetes-patch-merge-key" not in slice_["properties"]["addresses"]
    assert "name" in found["io.k8s.api.core.v1.Container"]["required"]
    volumes = found["io.k8s.api.core.v1.PodSpec"]["properties"]["volumes"]
    assert volumes["x-kubernetes-patch-strategy"] == "merge,retainKeys"


def test_paths_serve_every_verb_with_action_gvk_and_query_parameters(
        docs: OpenAPIDocuments) -> None:
    paths = v3(docs, "apis/apps/v1")["paths"]
    one = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert {m: one[m]["x-kubernetes-action"] for m in ("get", "put", "patch", "delete")} == {
        "get": "get", "put": "put", "patch": "patch", "delete": "delete"}
    patch = one["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1",
                                                        "kind": "Deployment"}
    assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= {
        p["name"] for p in patch["parameters"]}
    coll = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]
    assert coll["get"]["x-kubernetes-action"] == "list" and coll["post"]["operationId"] == \
        "createAppsV1NamespacedDeployment"
    assert "labelSelector" in {p["name"] for p in coll["get"]["parameters"]}
    assert "/apis/apps/v1/deployments" in paths
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "version": "v1",
                                                        "kind": "Scale"}
    assert scale["operationId"] == "patchAppsV1NamespacedDeploymentScale"


def test_the_root_names_each_document_by_its_hash(docs: OpenAPIDocuments) -> None:
    url = docs.v3_root()["paths"]["apis/apps/v1"]["serverRelativeURL"]
    body = docs.v3_document("apis/apps/v1")
    assert body is not None
    assert url == f"/openapi/v3/apis/apps/v1?hash={content_hash(body)}"


def test_a_custom_schema_adds_its_kind_and_paths_and_changes_no_other_hash(
        docs: OpenAPIDocuments) -> None:
    before = docs.v3_root()["paths"]
    docs.register_custom_schema(CRONTABS, CRONTAB_SCHEMA)
    after = docs.v3_root()["paths"]
    assert after["apis/apps/v1"] == before["apis/apps/v1"]
    found = schemas(docs, "apis/stable.example.com/v1")
    crontab = found["com.example.stable.v1.CronTab"]
    assert crontab["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "version": "v1", "kind": "CronTab"}]
    assert crontab["properties"]["spec"]["properties"]["cronSpec"] == {"type": "string"}
    assert crontab["properties"]["metadata"]["allOf"][0]["$ref"].endswith("meta.v1.ObjectMeta")
    assert "com.example.stable.v1.CronTabList" in found
    paths = v3(docs, "apis/stable.example.com/v1")["paths"]
    assert "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/status" in paths
    v2 = json.loads(docs.v2_document())
    assert "nullable" not in json.dumps(v2["definitions"]["com.example.stable.v1.CronTab"])
    docs.unregister_custom_schema("stable.example.com", "v1", "CronTab")
    assert "apis/stable.example.com/v1" not in docs.v3_root()["paths"]


def test_registering_a_changed_schema_changes_its_documents_hash(docs: OpenAPIDocuments) -> None:
    docs.register_custom_schema(CRONTABS, CRONTAB_SCHEMA)
    first = docs.v3_root()["paths"]["apis/stable.example.com/v1"]
    docs.register_custom_schema(CRONTABS, {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    assert docs.v3_root()["paths"]["apis/stable.example.com/v1"] != first


CRD: Obj = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Cluster",
                     "names": {"plural": "crontabs", "kind": "CronTab", "singular": "crontab"},
                     "versions": [
                         {"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": CRONTAB_SCHEMA},
                          "subresources": {"scale": {}}},
                         {"name": "v2", "served": True, "storage": False},
                         {"name": "v0", "served": False, "storage": False}]}}


def test_a_crd_is_described_by_each_served_version(docs: OpenAPIDocuments) -> None:
    docs.register_crd(CRD)
    root = docs.v3_root()["paths"]
    assert "apis/stable.example.com/v1" in root and "apis/stable.example.com/v2" in root
    assert "apis/stable.example.com/v0" not in root
    paths = v3(docs, "apis/stable.example.com/v1")["paths"]
    assert "/apis/stable.example.com/v1/crontabs/{name}/scale" in paths  # cluster-scoped
    names = schemas(docs, "apis/stable.example.com/v1")
    assert all(r.removeprefix("#/components/schemas/") in names
               for r in refs(v3(docs, "apis/stable.example.com/v1")))
    v2 = schemas(docs, "apis/stable.example.com/v2")["com.example.stable.v2.CronTab"]
    assert v2["x-kubernetes-preserve-unknown-fields"] is True
    docs.unregister_crd(CRD)
    assert not any(p.startswith("apis/stable.example.com") for p in docs.v3_root()["paths"])


def test_a_custom_schema_for_a_served_kind_takes_its_gvk_alone(docs: OpenAPIDocuments) -> None:
    deployments = Resource("apps", "v1", "deployments", "Deployment", True)
    docs.register_custom_schema(deployments, CRONTAB_SCHEMA)
    found = schemas(docs, "apis/apps/v1")
    owners = [name for name, s in found.items()
              if {"group": "apps", "version": "v1", "kind": "Deployment"}
              in s.get("x-kubernetes-group-version-kind", [])]
    assert owners == ["apps.v1.Deployment"]


def fields(data: bytes) -> list[tuple[int, object]]:
    return [(number, value) for number, _, value in iter_fields(data)]


def test_a_v2_schema_encodes_as_gnostics_schema_message() -> None:
    encoded = encode_schema({"description": "d", "type": "object", "required": ["a"],
                             "properties": {"a": {"type": "integer", "format": "int32"}},
                             "x-kubernetes-list-type": "map"})
    assert fields(encoded) == [
        (4, b"d"), (19, b"a"),
        (22, b"\n\x06object"),  # TypeItem.value
        (25, b"\n\x18\n\x01a\x12\x13\x12\x05int32\xb2\x01\x09\n\x07integer"),  # Properties
        (31, b"\n\x16x-kubernetes-list-type\x12\x07\x12\x05\"map\""),  # NamedAny, YAML
    ]
