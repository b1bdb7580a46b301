"""HTTP API against the real kubectl and the official Python client."""

import asyncio
import json
import os
import shutil
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.service import ApiService

pytestmark = pytest.mark.both_stores  # each test runs on the in-memory store and on etcd

KUBECTL = shutil.which("kubectl")
POD_YAML = """apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: LABEL}
spec:
  containers:
  - name: c
    image: busybox:1.36
    ports: [{containerPort: 80}]
"""



async def kubectl(kubeconfig: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    assert KUBECTL
    env = {**os.environ, "KUBECONFIG": str(kubeconfig),
           "KUBECACHEDIR": str(kubeconfig.parent / "cache")}
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, *args, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()


needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@needs_kubectl
async def test_kubectl_version_and_api_resources(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "version", "-o", "json")
    assert rc == 0, err
    assert json.loads(out)["serverVersion"]["gitVersion"] == "v1.32.0"
    rc, out, err = await kubectl(kubeconfig, "api-resources")
    assert rc == 0, err
    assert "deployments" in out and "deploy" in out and "coordination.k8s.io/v1" in out


@needs_kubectl
async def test_kubectl_apply_twice_get_and_delete(kubeconfig: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD_YAML.replace("LABEL", "one"))
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", str(manifest))
    assert (rc, out.strip()) == (0, "pod/web created"), err
    manifest.write_text(POD_YAML.replace("LABEL", "two"))
    rc, out, err = await kubectl(kubeconfig, "apply", "-f", str(manifest))
    assert (rc, out.strip()) == (0, "pod/web configured"), err

    rc, out, err = await kubectl(kubeconfig, "get", "pods", "-o", "wide")
    assert rc == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                              "NOMINATED", "NODE", "READINESS", "GATES"]
    assert row.split()[:4] == ["web", "0/1", "Pending", "0"]

    rc, out, err = await kubectl(kubeconfig, "get", "pod", "web", "-o", "json")
    assert rc == 0, err
    pod = json.loads(out)
    assert pod["metadata"]["labels"] == {"app": "two"}
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"

    rc, out, err = await kubectl(kubeconfig, "get", "pod", "web", "-o", "yaml")
    assert rc == 0 and "name: web" in out, err

    rc, out, err = await kubectl(kubeconfig, "delete", "pod", "web", "--wait=false")
    assert (rc, out.strip()) == (0, 'pod "web" deleted'), err
    rc, out, err = await kubectl(kubeconfig, "get", "pods")
    assert "No resources found" in err


@needs_kubectl
async def test_kubectl_strict_validation_rejects_unknown_fields(kubeconfig: Path,
                                                               tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(POD_YAML.replace("LABEL", "x").replace("image:", "imagee:"))
    rc, _, err = await kubectl(kubeconfig, "apply", "-f", str(manifest))
    assert rc != 0
    assert 'unknown field "spec.containers[0].imagee"' in err


@needs_kubectl
async def test_kubectl_get_namespaces(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "get", "ns")
    assert rc == 0, err
    lines = [line.split()[:2] for line in out.splitlines()]
    assert lines[0] == ["NAME", "STATUS"]
    assert ["default", "Active"] in lines and ["kube-system", "Active"] in lines


async def test_errors_are_status_objects(server: TestServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/v1/namespaces/default/pods/nope") as r:
            body = await r.json()
            assert (r.status, body["kind"], body["reason"]) == (404, "Status", "NotFound")
        async with s.post(f"{base}/api/v1/namespaces/default/pods", data=b"{nope",
                          headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400 and (await r.json())["reason"] == "BadRequest"
        async with s.post(f"{base}/api/v1/namespaces/default/configmaps",
                          data=b"x" * (3 * 1024 * 1024 + 1),
                          headers={"Content-Type": "application/json"}) as r:
            assert r.status == 413
        async with s.get(f"{base}/no/such/path") as r:
            assert r.status == 404 and (await r.json())["kind"] == "Status"
        async with s.get(f"{base}/api/v1/pods?fieldSelector=spec.bogus=1") as r:
            assert (await r.json())["message"] == "field label not supported: spec.bogus"


async def test_http_watch_streams_json_lines(server: TestServer, svc: ApiService) -> None:
    base = f"http://127.0.0.1:{server.port}"
    rv = str(svc.kv.revision)
    async with aiohttp.ClientSession() as s, s.get(
            f"{base}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
            "&timeoutSeconds=5") as r:
        assert r.status == 200
        from minikube_py.api.resources import CONFIGMAPS

        await svc.create(CONFIGMAPS, {"metadata": {"name": "c1"}}, namespace="default")
        line = await asyncio.wait_for(r.content.readline(), 5)
        ev = json.loads(line)
        assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "c1"


async def test_python_client_list_create_read_watch(server: TestServer) -> None:
    from kubernetes import client, watch

    def work() -> list[str]:
        cfg = client.Configuration()
        cfg.host = f"http://127.0.0.1:{server.port}"
        api = client.CoreV1Api(client.ApiClient(cfg))
        api.create_namespaced_pod("default", client.V1Pod(
            metadata=client.V1ObjectMeta(name="py"),
            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")])))
        api.create_node(client.V1Node(metadata=client.V1ObjectMeta(name="n1")))
        names = [p.metadata.name for p in api.list_namespaced_pod("default").items]
        names += [n.metadata.name for n in api.list_node().items]
        names.append(api.read_namespaced_pod("py", "default").status.phase)
        w = watch.Watch()
        for ev in w.stream(api.list_namespaced_pod, "default", timeout_seconds=2):
            names.append(f"{ev['type']}:{ev['object'].metadata.name}")
            w.stop()
        return names

    names = await asyncio.to_thread(work)
    assert names == ["py", "n1", "Pending", "ADDED:py"]
