"""Pod Security admission on a live `serve`, as kubectl shows it: a namespace's enforce label
refuses a pod with kube's 403, its warn label comes back as Warning lines kubectl prints,
tightening enforce warns about the pods already there, and a Deployment whose template would
be refused is created with a warning while its ReplicaSet says why it makes no pods."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD

SLOT = 40
NS = "psa"
PRIVILEGED_POD = f"""
apiVersion: v1
kind: Pod
metadata: {{name: priv, namespace: {NS}}}
spec:
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
    securityContext: {{privileged: true}}
"""
PLAIN_POD = f"""
apiVersion: v1
kind: Pod
metadata: {{name: plain, namespace: {NS}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
"""
PRIVILEGED_DEPLOYMENT = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: privd, namespace: {NS}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: privd}}}}
  template:
    metadata: {{labels: {{app: privd}}}}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sleep", "3600"]
        securityContext: {{privileged: true}}
"""
RESTRICTED_FINDINGS = (
    'allowPrivilegeEscalation != false (container "c" must set '
    "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities "
    '(container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != '
    'true (pod or container "c" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to '
    '"RuntimeDefault" or "Localhost")')


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("psa") / "data", SLOT) as serve:
        serve.kubectl("create", "namespace", NS)
        serve.kubectl("label", "namespace", NS, "pod-security.kubernetes.io/enforce=baseline",
                      "pod-security.kubernetes.io/warn=restricted")
        yield serve


def test_the_enforce_level_refuses_a_privileged_pod_with_kubes_message(
        cluster: ServeProcess) -> None:
    result = cluster.kubectl("apply", "-f", "-", input=PRIVILEGED_POD, check=False)
    assert result.returncode == 1
    assert ('Error from server (Forbidden): error when creating "STDIN": pods "priv" is '
            'forbidden: violates PodSecurity "baseline:latest": privileged (container "c" '
            'must not set securityContext.privileged=true)') in result.stderr
    assert cluster.kubectl("get", "pod", "priv", "-n", NS, check=False).returncode == 1


def test_the_warn_level_comes_back_as_warnings_kubectl_prints(cluster: ServeProcess) -> None:
    result = cluster.kubectl("apply", "-f", "-", input=PLAIN_POD)
    assert "pod/plain created" in result.stdout
    assert (f'Warning: would violate PodSecurity "restricted:latest": {RESTRICTED_FINDINGS}'
            in result.stderr)


def test_tightening_enforce_warns_about_the_pods_already_there(cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=PLAIN_POD)
    result = cluster.kubectl("label", "--overwrite", "namespace", NS,
                             "pod-security.kubernetes.io/enforce=restricted")
    assert (f'Warning: existing pods in namespace "{NS}" violate the new PodSecurity enforce '
            f'level "restricted:latest"') in result.stderr
    assert f"Warning: plain: {RESTRICTED_FINDINGS.split(' (')[0]}" in result.stderr
    # The pod stays: enforce applies to what is created next.
    assert cluster.kubectl("get", "pod", "plain", "-n", NS).returncode == 0
    cluster.kubectl("label", "--overwrite", "namespace", NS,
                    "pod-security.kubernetes.io/enforce=baseline")


def test_a_workload_is_warned_about_and_its_replicaset_says_why_it_has_no_pods(
        cluster: ServeProcess) -> None:
    result = cluster.kubectl("apply", "-f", "-", input=PRIVILEGED_DEPLOYMENT)
    assert "deployment.apps/privd created" in result.stderr + result.stdout
    assert ('Warning: would violate PodSecurity "restricted:latest": privileged (container '
            '"c" must not set securityContext.privileged=true)') in result.stderr

    def refused() -> str | None:
        events = cluster.kubectl_json("get", "events", "-n", NS,
                                      "--field-selector", "reason=FailedCreate")["items"]
        messages = [e["message"] for e in events
                    if e["involvedObject"]["kind"] == "ReplicaSet"]
        return next((m for m in messages if "violates PodSecurity" in m), None)

    message = wait_for(refused, timeout=30, what="the ReplicaSet's FailedCreate event")
    assert ('is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" '
            'must not set securityContext.privileged=true)') in message
    pods = cluster.kubectl_json("get", "pods", "-n", NS, "-l", "app=privd")["items"]
    assert pods == []
