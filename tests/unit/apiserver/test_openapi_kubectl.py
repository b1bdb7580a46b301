"""kubectl explain and kubectl's validation against the served OpenAPI documents."""

import json
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from minikube_py.api.resources import Resource
from minikube_py.apiserver.http import SERVER_KEY
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

DEPLOYMENT_YAML = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  REPLICAS: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: busybox:1.36
        ports: [{containerPort: 80}]
"""


@needs_kubectl
async def test_kubectl_explain_deployment_spec_strategy(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "explain", "deployment.spec.strategy")
    assert rc == 0, err
    assert "GROUP:      apps" in out and "FIELD: strategy <DeploymentStrategy>" in out
    assert "rollingUpdate\t<RollingUpdateDeployment>" in out and "type\t<string>" in out
    assert "How existing pods are replaced" in out


@needs_kubectl
async def test_kubectl_explain_pod_container_ports(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "explain", "pod.spec.containers.ports")
    assert rc == 0, err
    assert "FIELD: ports <[]ContainerPort>" in out
    assert "containerPort\t<integer> -required-" in out and "protocol\t<string>" in out
    rc, out, err = await kubectl(kubeconfig, "explain", "pod.spec.containers.resources")
    assert rc == 0, err
    assert "limits\t<map[string]Quantity>" in out


@needs_kubectl
async def test_kubectl_explain_service_recursive(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "explain", "service", "--recursive")
    assert rc == 0, err
    assert "KIND:       Service" in out and "spec\t<ServiceSpec>" in out
    assert "targetPort\t<IntOrString>" in out and "loadBalancer\t<LoadBalancerStatus>" in out


@needs_kubectl
async def test_kubectl_apply_refuses_a_misspelt_field_and_applies_the_fixed_manifest(
        kubeconfig: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(DEPLOYMENT_YAML.replace("REPLICAS", "replicaz"))
    rc, out, err = await kubectl(kubeconfig, "apply", "--validate=true", "-f", str(manifest))
    assert rc != 0, out
    assert ('error when creating "' + str(manifest) + '": Deployment in version "v1" cannot be '
            'handled as a Deployment: strict decoding error: unknown field "spec.replicaz"'
            ) in err, err
    manifest.write_text(DEPLOYMENT_YAML.replace("REPLICAS", "replicas"))
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", str(manifest))
    assert (rc, out.strip()) == (0, "deployment.apps/web created"), err
    # The second apply's patch follows the documents' merge keys (containers by name).
    manifest.write_text(DEPLOYMENT_YAML.replace("REPLICAS", "replicas").replace("80", "81"))
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", str(manifest))
    assert (rc, out.strip()) == (0, "deployment.apps/web configured"), err
    rc, out, err = await kubectl(kubeconfig, "get", "deploy", "web", "-o",
                                 "jsonpath={.spec.template.spec.containers[*].ports[*].containerPort}")
    assert (rc, out) == (0, "81"), err
    # $retainKeys (the documents ask for it on strategy) clears the defaulted rollingUpdate.
    manifest.write_text(DEPLOYMENT_YAML.replace("REPLICAS", "strategy: {type: Recreate}\n  replicas"))
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", str(manifest))
    assert (rc, out.strip()) == (0, "deployment.apps/web configured"), err
    rc, out, err = await kubectl(kubeconfig, "get", "deploy", "web", "-o",
                                 "jsonpath={.spec.strategy}")
    assert (rc, json.loads(out)) == (0, {"type": "Recreate"}), err
    # On the existing object apply patches, and kube's patch handler names no kind.
    manifest.write_text(DEPLOYMENT_YAML.replace("REPLICAS", "replicaz"))
    rc, out, err = await kubectl(kubeconfig, "apply", "--validate=true", "-f", str(manifest))
    assert rc != 0, out
    assert 'error when patching "' + str(manifest) + '": strict decoding error: unknown field ' \
        '"spec.replicaz"' in err, err


@needs_kubectl
async def test_kubectl_explain_sees_a_custom_schema_registered_later(
        server: TestServer, kubeconfig: Path) -> None:
    rc, _, _ = await kubectl(kubeconfig, "explain", "deployment")  # fills kubectl's cache
    assert rc == 0
    docs = server.app[SERVER_KEY].discovery.openapi
    docs.register_custom_schema(
        Resource("apps", "v1", "deployments", "Deployment", True),
        {"type": "object", "description": "Replaced for the test.",
         "properties": {"spec": {"type": "object", "properties": {
             "flavour": {"type": "string", "description": "A custom field."}}}}})
    rc, out, err = await kubectl(kubeconfig, "explain", "deployment.spec")
    assert rc == 0, err
    assert "flavour\t<string>" in out


async def test_openapi_v2_is_json_or_protobuf_as_asked(server: TestServer) -> None:
    base = f"http://127.0.0.1:{server.port}/openapi/v2"
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as resp:
            assert resp.status == 200
            assert (await resp.json())["swagger"] == "2.0"
            etag = resp.headers["ETag"]
        async with http.get(base, headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
        pb = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        async with http.get(base, headers={"Accept": pb}) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == \
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
            assert (await resp.read()).startswith(b"\n\x032.0")  # swagger = 1: "2.0"
        async with http.get(base, headers={"Accept": f"application/json, {pb}"}) as resp:
            assert resp.headers["Content-Type"] == "application/json"
        async with http.get(base, headers={"Accept": "application/xml"}) as resp:
            assert resp.status == 406


@needs_kubectl
async def test_kubectl_explain_from_the_v2_protobuf_document(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "explain", "pod.spec.containers.ports",
                                 "--output=plaintext-openapiv2")
    assert rc == 0, err
    assert "RESOURCE: ports <[]Object>" in out and "containerPort\t<integer> -required-" in out
    assert "The port number on the pod's IP address" in out


async def test_openapi_v3_stale_hash_redirects_to_the_current_document(
        server: TestServer) -> None:
    base = f"http://127.0.0.1:{server.port}/openapi/v3"
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as resp:
            url = (await resp.json())["paths"]["apis/apps/v1"]["serverRelativeURL"]
        async with http.get(f"http://127.0.0.1:{server.port}{url}") as resp:
            assert resp.status == 200 and resp.headers["Cache-Control"] == "public, immutable"
        async with http.get(f"{base}/apis/apps/v1?hash=0", allow_redirects=False) as resp:
            assert (resp.status, resp.headers["Location"]) == (301, url)


@needs_kubectl
async def test_kubectl_explains_every_served_kind(server: TestServer, kubeconfig: Path) -> None:
    kinds = server.app[SERVER_KEY].service.kinds
    for r in kinds.resources():
        rc, out, err = await kubectl(kubeconfig, "explain", r.plural,
                                     f"--api-version={r.api_version}")
        assert rc == 0, (r, err)
        assert f"KIND:       {r.kind}\n" in out and "metadata\t<ObjectMeta>" in out, (r, out)


SSAR_YAML = """apiVersion: authorization.k8s.io/v1
kind: SelfSubjectAccessReview
spec:
  resourceAttributes: {verb: get, resource: pods, NAMESPACE: default}
"""


@needs_kubectl
async def test_kubectl_create_of_a_create_only_kind_is_validated_by_the_server(
        kubeconfig: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "review.yaml"
    manifest.write_text(SSAR_YAML.replace("NAMESPACE", "namespacee"))
    rc, out, err = await kubectl(kubeconfig, "create", "-f", str(manifest))
    assert rc != 0, out
    assert 'strict decoding error: unknown field "spec.resourceAttributes.namespacee"' in err, err
    manifest.write_text(SSAR_YAML.replace("NAMESPACE", "namespace"))
    rc, out, err = await kubectl(kubeconfig, "create", "-f", str(manifest), "-o",
                                 "jsonpath={.status.allowed}")
    assert (rc, out) == (0, "true"), err


WIDGET_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A widget of the shop.
        properties:
          spec:
            type: object
            properties:
              size:
                type: string
                description: How big the widget is.
                enum: [S, M, L]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: M}
"""


@needs_kubectl
async def test_a_crd_and_its_instance_apply_and_kubectl_explains_it(kubeconfig: Path) -> None:
    """kubectl maps every object of a file before it applies any, so the instance of a CRD
    created by the same apply is reported for the next one (as with any kube server); the
    second apply of the same file creates it, and explain reads the CRD's schema."""
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", "-", stdin=WIDGET_CRD)
    assert rc == 1
    assert "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created" in out
    assert "ensure CRDs are installed first" in err
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", "-", stdin=WIDGET_CRD)
    assert rc == 0, err
    assert "widget.example.com/w1 created" in out
    rc, out, err = await kubectl(kubeconfig, "explain", "widgets.spec.size")
    assert rc == 0, err
    assert "How big the widget is." in out
    assert "KIND:       Widget" in out
