"""An HPA on a real `serve` (slot 75) with short windows given as flags: a CPU-burning
Deployment (busybox busy loop, 100m request) scales up to maxReplicas from the real resource
metrics API, and once it is patched to an idle command it scales back down after the
downscale stabilization window; `kubectl get hpa` shows the targets throughout."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD

SLOT = 75
FLAGS = ("--horizontal-pod-autoscaler-sync-period", "3s",
         "--horizontal-pod-autoscaler-downscale-stabilization", "10s")
# Busy for at most 150 s per pod (a bounded load), then idle.
BURN = ("end=$(( $(date +%s) + 150 )); while [ $(date +%s) -lt $end ]; do i=0; "
        "while [ $i -lt 20000 ]; do i=$((i+1)); done; done; exec sleep 3600")
DEPLOYMENT_YAML = f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: burn
spec:
  replicas: 1
  selector:
    matchLabels: {{app: burn}}
  template:
    metadata:
      labels: {{app: burn}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: busybox
        command: ["sh", "-c", "{BURN}"]
        resources:
          requests: {{cpu: 100m}}
"""
HPA_YAML = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: burn
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
"""
IDLE = ('{"spec": {"template": {"spec": {"containers": '
        '[{"name": "burn", "command": ["sleep", "3600"]}]}}}}')


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("hpa") / "data", SLOT, *FLAGS) as serve:
        yield serve


def hpa_row(cluster: ServeProcess) -> list[str]:
    out = cluster.kubectl("get", "hpa", "burn").stdout.splitlines()
    assert out[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                              "REPLICAS", "AGE"]
    return re.split(r"\s{2,}", out[1].strip())


def scale_replicas(cluster: ServeProcess) -> int:
    return int(cluster.kubectl_json("get", "deployment", "burn")["spec"]["replicas"])


def hpa_status(cluster: ServeProcess) -> dict[str, Any]:
    return dict(cluster.kubectl_json("get", "hpa", "burn").get("status") or {})


def test_a_cpu_burning_deployment_scales_up_and_back_down(cluster: ServeProcess) -> None:
    started = time.monotonic()
    # The HPA first: before it has a reading, TARGETS is <unknown>.
    cluster.kubectl("apply", "-f", "-", input=HPA_YAML)
    row = hpa_row(cluster)
    assert row[:5] == ["burn", "Deployment/burn", "cpu: <unknown>/50%", "1", "3"], row
    cluster.kubectl("apply", "-f", "-", input=DEPLOYMENT_YAML)

    def scaled_to(want: int) -> dict[str, Any] | None:
        """The HPA's status once the Deployment is at `want`; the status seen last is in the
        failure (its conditions say why it does not scale)."""
        status = hpa_status(cluster)
        assert status.get("desiredReplicas", 0) <= 3
        return status if scale_replicas(cluster) == want else None

    try:
        wait_for(lambda: scaled_to(3), timeout=90, what="the busy Deployment at 3 replicas")
    except AssertionError as e:
        raise AssertionError(f"{e}; the HPA: {hpa_status(cluster)}") from None
    up_after = time.monotonic() - started
    row = wait_for(lambda: (r if re.fullmatch(r"cpu: \d+%/50%", (r := hpa_row(cluster))[2])
                            else None), timeout=30, what="a CPU reading in TARGETS")
    assert int(row[2].split()[1].split("%")[0]) > 50, row
    status = hpa_status(cluster)
    assert status["currentMetrics"][0]["resource"]["name"] == "cpu"
    events = cluster.kubectl("get", "events", "--field-selector",
                             "involvedObject.kind=HorizontalPodAutoscaler,"
                             "reason=SuccessfulRescale").stdout
    assert "New size: 3; reason: cpu resource utilization (percentage of request) above " \
           "target" in events

    described = cluster.kubectl("describe", "hpa", "burn").stdout
    assert re.search(r"ScalingActive\s+True\s+ValidMetricFound", described), described
    assert "SuccessfulRescale" in described, described

    cluster.kubectl("patch", "deployment", "burn", "-p", IDLE)
    idle_at = time.monotonic()
    try:
        wait_for(lambda: scaled_to(1), timeout=120, what="the idle Deployment back at 1 replica")
    except AssertionError as e:
        raise AssertionError(f"{e}; the HPA: {hpa_status(cluster)}") from None
    down_after = time.monotonic() - idle_at
    assert down_after >= 10  # the downscale stabilization window (the flag)
    events = cluster.kubectl("get", "events", "--field-selector",
                             "involvedObject.kind=HorizontalPodAutoscaler,"
                             "reason=SuccessfulRescale").stdout
    assert "New size: 1; reason: All metrics below target" in events
    row = hpa_row(cluster)
    assert re.fullmatch(r"cpu: \d+%/50%", row[2]), row
    print(f"\nscaled up to 3 in {up_after:.1f}s; back to 1 in {down_after:.1f}s after the "
          f"load stopped")
    cluster.kubectl("delete", "hpa", "burn")
    cluster.kubectl("delete", "deployment", "burn")
