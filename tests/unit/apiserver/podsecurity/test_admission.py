"""Pod Security admission in the API server: namespace labels enforce (kube's 403), warn
(Warning headers) and audit (annotations) on pods; workloads' pod templates are warned
about, never refused; namespaces' labels are validated and a stricter enforce level warns
about pods already there; the cluster default and exemptions come from the configuration."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CRONJOBS, DEPLOYMENTS, NAMESPACES, PODS
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.podsecurity.policy import Level, PodSecurityConfig, Policy
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

Obj = dict[str, Any]
ENFORCE = "pod-security.kubernetes.io/enforce"
WARN = "pod-security.kubernetes.io/warn"
AUDIT = "pod-security.kubernetes.io/audit"
PRIVILEGED_HOSTPATH = (
    'pods "evil" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes '
    '(volume "host"), privileged (container "c" must not set securityContext.privileged=true)')
RESTRICTED_DETAILS = (
    'allowPrivilegeEscalation != false (container "c" must set '
    "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "
    '"c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or '
    'container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or '
    'container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
    '"Localhost")')


def namespace(name: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}


def pod(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def privileged_hostpath_pod(name: str = "evil") -> Obj:
    return pod(name, volumes=[{"name": "host", "hostPath": {"path": "/"}}],
               containers=[{"name": "c", "image": "busybox",
                            "volumeMounts": [{"name": "host", "mountPath": "/host"}],
                            "securityContext": {"privileged": True}}])


def deployment(name: str, **template_spec: Any) -> Obj:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": "c", "image": "busybox"}],
                         **template_spec}}}}


@pytest.fixture
async def http(server: TestServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(str(server.make_url(""))) as session:
        yield session


async def post(http: aiohttp.ClientSession, path: str, body: Obj) -> tuple[int, Obj, list[str]]:
    async with http.post(path, json=body) as resp:
        return resp.status, await resp.json(), resp.headers.getall("Warning", [])


def warning(text: str) -> str:
    """A Warning header as kube sends it (kubectl prints the text)."""
    return f"299 - {json.dumps(text)}"


@asynccontextmanager
async def service_with(config: PodSecurityConfig) -> AsyncIterator[ApiService]:
    kv = MemoryKV()
    svc = ApiService(kv, pod_security=config)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()
        await kv.close()


# --- enforce, warn, audit on pods ---------------------------------------------------------

async def test_enforce_refuses_a_privileged_hostpath_pod_with_kubes_403(
        svc: ApiService, http: aiohttp.ClientSession) -> None:
    await svc.create(NAMESPACES, namespace("team", **{ENFORCE: "baseline"}))
    status, body, warnings = await post(http, "/api/v1/namespaces/team/pods",
                                        privileged_hostpath_pod())
    assert status == 403
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": PRIVILEGED_HOSTPATH, "reason": "Forbidden",
                    "details": {"name": "evil", "kind": "pods"}, "code": 403}
    assert warnings == []
    with pytest.raises(ApiError):
        await svc.get(PODS, "evil", namespace="team")


async def test_enforce_admits_a_pod_that_meets_the_level(svc: ApiService) -> None:
    await svc.create(NAMESPACES, namespace("team", **{ENFORCE: "baseline"}))
    created = await svc.create(PODS, pod("ok"), namespace="team")
    assert created["metadata"]["name"] == "ok"


async def test_a_dry_run_is_refused_as_the_write_would_be(svc: ApiService) -> None:
    await svc.create(NAMESPACES, namespace("team", **{ENFORCE: "baseline"}))
    with pytest.raises(ApiError) as e:
        await svc.create_object(PODS, privileged_hostpath_pod(), "team",
                                RequestOptions(dry_run=True))
    assert e.value.code == 403


async def test_an_invalid_pod_is_422_before_pod_security_looks(svc: ApiService) -> None:
    await svc.create(NAMESPACES, namespace("team", **{ENFORCE: "baseline"}))
    body = pod("bad", hostNetwork=True, containers=[{"name": "c"}])  # no image
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, body, namespace="team")
    assert e.value.code == 422


async def test_warn_answers_kubes_warning_and_admits(svc: ApiService,
                                                     http: aiohttp.ClientSession) -> None:
    await svc.create(NAMESPACES, namespace("team", **{WARN: "restricted"}))
    status, _, warnings = await post(http, "/api/v1/namespaces/team/pods", pod("plain"))
    assert status == 201
    assert warnings == [warning(f'would violate PodSecurity "restricted:latest": '
                                f"{RESTRICTED_DETAILS}")]


async def test_warn_follows_a_stricter_enforce_level_for_templates(
        svc: ApiService, http: aiohttp.ClientSession) -> None:
    await svc.create(NAMESPACES, namespace("team", **{ENFORCE: "baseline",
                                                      WARN + "-version": "v1.30"}))
    status, _, warnings = await post(http, "/apis/apps/v1/namespaces/team/deployments",
                                     deployment("web", hostNetwork=True))
    assert status == 201  # a workload is never refused: its pods are
    assert warnings == [warning('would violate PodSecurity "baseline:v1.30": host namespaces '
                                "(hostNetwork=true)")]


async def test_audit_records_annotations_and_one_log_line(
        svc: ApiService, caplog: pytest.LogCaptureFixture) -> None:
    await svc.create(NAMESPACES, namespace("team", **{AUDIT: "baseline"}))
    opts = RequestOptions()
    with caplog.at_level(logging.INFO, "minikube_py.apiserver.audit"):
        await svc.create_object(PODS, pod("h", hostPID=True), "team", opts)
    assert opts.warnings == []
    assert opts.audit_annotations == {
        "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
        "pod-security.kubernetes.io/audit-violations":
            'would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)'}
    assert [r.getMessage() for r in caplog.records] == [
        "create pods team/h by system:apiserver: pod-security.kubernetes.io/audit-violations="
        'would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)']


async def test_the_default_privileged_level_admits_anything(svc: ApiService) -> None:
    opts = RequestOptions()
    await svc.create_object(PODS, privileged_hostpath_pod(), "default", opts)
    assert opts.warnings == []


async def test_a_pod_update_is_checked_only_when_an_image_changes(svc: ApiService) -> None:
    await svc.create(NAMESPACES, namespace("team"))
    await svc.create(PODS, pod("h", hostNetwork=True), namespace="team")
    await svc.patch(NAMESPACES, "team", {"metadata": {"labels": {ENFORCE: "baseline"}}})
    await svc.patch(PODS, "h", {"metadata": {"labels": {"tier": "web"}}}, namespace="team")
    await svc.patch(PODS, "h", {"status": {"phase": "Running"}}, namespace="team",
                    subresource="status")
    with pytest.raises(ApiError) as e:
        await svc.patch(PODS, "h", [{"op": "replace", "path": "/spec/containers/0/image",
                                     "value": "busybox:2"}],
                        patch_type="application/json-patch+json", namespace="team")
    assert e.value.code == 403
    assert e.value.message == ('pods "h" is forbidden: violates PodSecurity "baseline:latest": '
                               "host namespaces (hostNetwork=true)")


async def test_a_cronjob_template_is_checked_where_it_lives(svc: ApiService) -> None:
    await svc.create(NAMESPACES, namespace("team", **{WARN: "baseline"}))
    opts = RequestOptions()
    template = deployment("x", hostIPC=True)["spec"]["template"]
    template["spec"]["restartPolicy"] = "Never"
    await svc.create_object(CRONJOBS, {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}},
        "team", opts)
    assert opts.warnings == ['would violate PodSecurity "baseline:latest": host namespaces '
                             "(hostIPC=true)"]


async def test_a_workload_status_update_is_not_checked(svc: ApiService) -> None:
    await svc.create(NAMESPACES, namespace("team", **{WARN: "baseline"}))
    await svc.create(DEPLOYMENTS, deployment("web", hostNetwork=True), namespace="team")
    opts = RequestOptions()
    await svc.patch_object(DEPLOYMENTS, "web", {"status": {"replicas": 1}},
                           "application/merge-patch+json", "team", "status", opts)
    assert opts.warnings == []


# --- namespaces ---------------------------------------------------------------------------

async def test_a_namespace_label_the_policy_cannot_read_is_422(svc: ApiService) -> None:
    with pytest.raises(ApiError) as e:
        await svc.create(NAMESPACES, namespace("team", **{ENFORCE: "strict"}))
    assert e.value.code == 422
    assert e.value.message == (
        'Namespace "team" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
        'Invalid value: "strict": must be one of privileged, baseline, restricted')


async def test_a_stricter_enforce_label_warns_about_the_pods_already_there(
        svc: ApiService, http: aiohttp.ClientSession) -> None:
    await svc.create(NAMESPACES, namespace("team"))
    for name in ("web-1", "web-0"):
        await svc.create(PODS, pod(name, hostNetwork=True), namespace="team")
    await svc.create(PODS, privileged_hostpath_pod("evil"), namespace="team")
    await svc.create(PODS, pod("fine"), namespace="team")
    async with http.patch("/api/v1/namespaces/team",
                          json={"metadata": {"labels": {ENFORCE: "baseline"}}},
                          headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert resp.status == 200
        warnings = resp.headers.getall("Warning", [])
    assert warnings == [
        warning('existing pods in namespace "team" violate the new PodSecurity enforce level '
                '"baseline:latest"'),
        warning("evil: hostPath volumes, privileged"),
        warning("web-0 (and 1 other pod): host namespaces")]


async def test_relaxing_the_enforce_label_checks_no_pods(svc: ApiService) -> None:
    await svc.create(NAMESPACES, namespace("team", **{ENFORCE: "restricted"}))
    opts = RequestOptions()
    await svc.patch_object(NAMESPACES, "team", {"metadata": {"labels": {ENFORCE: "baseline"}}},
                           "application/merge-patch+json", None, opts=opts)
    assert opts.warnings == []


# --- the cluster's configuration ---------------------------------------------------------

async def test_the_cluster_default_applies_to_namespaces_without_labels() -> None:
    async with service_with(PodSecurityConfig(Policy.at(Level.BASELINE))) as svc:
        with pytest.raises(ApiError) as e:
            await svc.create(PODS, privileged_hostpath_pod(), namespace="default")
        assert e.value.message == PRIVILEGED_HOSTPATH
        await svc.create(NAMESPACES, namespace("lab", **{ENFORCE: "privileged",
                                                         WARN: "privileged"}))
        await svc.create(PODS, privileged_hostpath_pod(), namespace="lab")


async def test_an_exempt_namespace_is_not_checked_and_its_labels_are_said_to_be_ignored(
        ) -> None:
    async with service_with(PodSecurityConfig(Policy.at(Level.RESTRICTED),
                                               exempt_namespaces=frozenset({"kube-system",
                                                                            "ops"}))) as svc:
        await svc.create(PODS, privileged_hostpath_pod(), namespace="kube-system")
        opts = RequestOptions()
        await svc.create_object(NAMESPACES, namespace("ops", **{ENFORCE: "baseline"}), None,
                                opts)
        assert opts.warnings == [
            'namespace "ops" is exempt from Pod Security, and the policy '
            "(enforce=baseline:latest) will be ignored"]
        await svc.create(PODS, privileged_hostpath_pod(), namespace="ops")


async def test_a_restricted_default_leaves_the_built_in_objects_and_workloads_alone() -> None:
    # ensure_builtin_objects (the kubernetes Service, the system namespaces) ran at start.
    async with service_with(PodSecurityConfig(Policy.at(Level.RESTRICTED))) as svc:
        opts = RequestOptions()
        await svc.create_object(DEPLOYMENTS, deployment("web"), "kube-system", opts)
        assert opts.warnings == [f'would violate PodSecurity "restricted:latest": '
                                 f"{RESTRICTED_DETAILS}"]


@needs_kubectl
async def test_kubectl_prints_the_refusal_and_the_warnings(svc: ApiService, kubeconfig: Path,
                                                           tmp_path: Path) -> None:
    await svc.create(NAMESPACES, namespace("team", **{ENFORCE: "baseline",
                                                      WARN: "restricted"}))
    manifest = tmp_path / "evil.json"
    manifest.write_text(json.dumps(privileged_hostpath_pod()))
    rc, _, err = await kubectl(kubeconfig, "-n", "team", "apply", "-f", str(manifest))
    assert rc == 1
    assert f"Error from server (Forbidden): error when creating \"{manifest}\": " \
        f"{PRIVILEGED_HOSTPATH}" in err
    rc, out, err = await kubectl(kubeconfig, "-n", "team", "run", "plain", "--image=busybox")
    assert (rc, out.strip()) == (0, "pod/plain created"), err
    assert err.strip() == (f'Warning: would violate PodSecurity "restricted:latest": '
                           f"{RESTRICTED_DETAILS}").replace('"c"', '"plain"')
