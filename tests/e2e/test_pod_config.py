"""What a pod is given, end to end on a live `serve` with kubectl: a two-tier app from plain
YAML reads its ConfigMap, Secret, downward API labels, Service links and ServiceAccount token
inside its containers; an edited ConfigMap reaches the mounted file within the kubelet's sync
period; a pod waiting for a missing ConfigMap shows CreateContainerConfigError and starts once
it is created; a volume the kubelet cannot give is refused by name."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from minikube_py.kubelet.mounts import mounts_under
from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD
SLOT = 31
SYNC_PERIOD = 10.0  # the kubelet's default

APP_YAML = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  greeting: hello from the config
  app.conf: |
    listen=8080
    mode=production
---
apiVersion: v1
kind: Secret
metadata:
  name: db-creds
stringData:
  DB_USER: shop
  DB_PASSWORD: s3cret-pw
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
spec:
  replicas: 1
  selector:
    matchLabels: {app: backend}
  template:
    metadata:
      labels: {app: backend}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: api
        image: busybox
        command: ["sh", "-c", "mkdir -p /www; echo \\"backend says $(GREETING)\\" > /www/index.html; exec httpd -f -p 8080 -h /www"]
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {name: app-config, key: greeting}
---
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  selector: {app: backend}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  replicas: 1
  selector:
    matchLabels: {app: frontend}
  template:
    metadata:
      labels: {app: frontend, tier: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox
        command: ["sh", "-c", "exec sleep 3600"]
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {name: app-config, key: greeting}
        - name: MESSAGE
          value: "$(GREETING), $(DB_USER)!"
        - name: POD_NAME
          valueFrom:
            fieldRef: {fieldPath: metadata.name}
        - name: MEMORY_MI
          valueFrom:
            resourceFieldRef: {resource: limits.memory, divisor: 1Mi}
        envFrom:
        - secretRef: {name: db-creds}
        resources:
          limits: {memory: 64Mi}
        volumeMounts:
        - {name: config, mountPath: /etc/app}
        - {name: creds, mountPath: /etc/creds}
        - {name: podinfo, mountPath: /etc/podinfo}
        - {name: token, mountPath: /var/run/secrets/tokens}
        - {name: config, mountPath: /etc/greeting.txt, subPath: greeting}
      volumes:
      - name: config
        configMap: {name: app-config}
      - name: creds
        secret: {secretName: db-creds, defaultMode: 0400}
      - name: podinfo
        downwardAPI:
          items:
          - path: labels
            fieldRef: {fieldPath: metadata.labels}
      - name: token
        projected:
          sources:
          - serviceAccountToken: {path: token, audience: shop-api, expirationSeconds: 3600}
"""

WAITING_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: waiting
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo $(LEVEL); exec sleep 3600"]
    env:
    - name: LEVEL
      valueFrom:
        configMapKeyRef: {name: late-config, key: level}
"""

REFUSED_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: refused
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts:
    - {name: data, mountPath: /data}
  volumes:
  - name: data
    nfs: {server: nfs.example, path: /exports}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data_dir = tmp_path_factory.mktemp("podconfig") / "data"
    with running_serve(data_dir, SLOT) as serve:
        serve.kubectl("apply", "-f", "-", input=APP_YAML)
        for deployment in ("backend", "frontend"):
            serve.kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=90s",
                          timeout=120)
        yield serve
    # `delete` leaves no tmpfs of a Secret or projected volume behind, and no data dir.
    assert mounts_under(data_dir) == [] and not data_dir.exists()


def exec_in(cluster: ServeProcess, target: str, script: str) -> str:
    return cluster.kubectl("exec", target, "--", "sh", "-c", script).stdout


def test_the_frontend_reads_every_value_it_was_given(cluster: ServeProcess) -> None:
    env = dict(line.split("=", 1) for line in exec_in(cluster, "deploy/frontend", "env")
               .splitlines() if "=" in line)
    assert env["GREETING"] == "hello from the config"
    assert env["MESSAGE"] == "hello from the config, shop!"  # envFrom comes before env
    assert env["DB_USER"] == "shop" and env["DB_PASSWORD"] == "s3cret-pw"
    assert env["POD_NAME"].startswith("frontend-") and env["MEMORY_MI"] == "64"
    assert exec_in(cluster, "deploy/frontend", "cat /etc/app/app.conf") == (
        "listen=8080\nmode=production\n")
    assert exec_in(cluster, "deploy/frontend", "cat /etc/greeting.txt") == "hello from the config"
    assert exec_in(cluster, "deploy/frontend", "cat /etc/creds/DB_PASSWORD") == "s3cret-pw"
    assert exec_in(cluster, "deploy/frontend",
                   "stat -L -c %a /etc/creds/DB_PASSWORD").strip() == "400"
    labels = exec_in(cluster, "deploy/frontend", "cat /etc/podinfo/labels")
    assert 'app="frontend"' in labels and 'tier="web"' in labels


def test_the_frontend_reaches_the_backend_by_its_service_link_variables(
        cluster: ServeProcess) -> None:
    # Bounded by `timeout`, not wget's own -T: Debian's busybox 1.35 wget crashes with -T.
    out = exec_in(cluster, "deploy/frontend",
                  "timeout 10 wget -qO- http://$BACKEND_SERVICE_HOST:$BACKEND_SERVICE_PORT/")
    assert out == "backend says hello from the config\n"


def test_every_container_is_told_where_the_api_server_is(cluster: ServeProcess) -> None:
    service = cluster.kubectl_json("get", "service", "kubernetes", "-n", "default")
    out = exec_in(cluster, "deploy/frontend",
                  "echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT $KUBERNETES_PORT")
    ip, port = service["spec"]["clusterIP"], service["spec"]["ports"][0]["port"]
    assert out.split() == [f"{ip}:{port}", f"tcp://{ip}:{port}"]


def test_the_projected_token_is_bound_to_the_pod_with_its_audience(
        cluster: ServeProcess) -> None:
    token = exec_in(cluster, "deploy/frontend", "cat /var/run/secrets/tokens/token")
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    pod = cluster.kubectl_json("get", "pods", "-l", "app=frontend")["items"][0]
    assert claims["aud"] == ["shop-api"]
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert claims["kubernetes.io"]["pod"] == {"name": pod["metadata"]["name"],
                                              "uid": pod["metadata"]["uid"]}


def test_an_edited_configmap_reaches_the_mounted_file_not_the_sub_path(
        cluster: ServeProcess) -> None:
    cluster.kubectl("patch", "configmap", "app-config", "--type=merge", "-p",
                    json.dumps({"data": {"app.conf": "listen=9090\n", "greeting": "changed"}}))
    wait_for(lambda: exec_in(cluster, "deploy/frontend", "cat /etc/app/app.conf")
             == "listen=9090\n" or None, timeout=SYNC_PERIOD + 15, interval=0.5,
             what="the edited ConfigMap in the mounted file")
    # A subPath mount is a copy of the moment it was made (as kube).
    assert exec_in(cluster, "deploy/frontend", "cat /etc/greeting.txt") == "hello from the config"
    cluster.kubectl("patch", "configmap", "app-config", "--type=merge", "-p",
                    json.dumps({"data": {"greeting": "hello from the config"}}))


def waiting_state(cluster: ServeProcess, pod: str) -> dict[str, Any] | None:
    status = cluster.kubectl_json("get", "pod", pod).get("status") or {}
    statuses = status.get("containerStatuses") or []
    return (statuses[0].get("state") or {}).get("waiting") if statuses else None


def test_a_pod_waits_for_its_configmap_and_starts_once_it_is_created(
        cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=WAITING_YAML)
    waiting = wait_for(lambda: ((w := waiting_state(cluster, "waiting")) and
                       w.get("reason") == "CreateContainerConfigError" and w) or None,
                       timeout=30, what="CreateContainerConfigError")
    assert waiting["message"] == 'configmap "late-config" not found'
    events = cluster.kubectl("get", "events", "--field-selector",
                             "involvedObject.name=waiting").stdout
    assert 'Error: configmap "late-config" not found' in events
    cluster.kubectl("create", "configmap", "late-config", "--from-literal=level=debug")
    cluster.kubectl("wait", "--for=condition=Ready", "pod/waiting", "--timeout=30s",
                    timeout=45)
    assert wait_for(lambda: cluster.kubectl("logs", "waiting").stdout or None, timeout=10,
                    what="the pod's log") == "debug\n"


def test_a_volume_type_the_kubelet_cannot_give_is_refused_by_name(
        cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=REFUSED_YAML)
    waiting = wait_for(lambda: ((w := waiting_state(cluster, "refused")) and
                       w.get("reason") == "CreateContainerConfigError" and w) or None,
                       timeout=30, what="the refusal")
    assert waiting["message"] == 'volume "data": nfs volumes are not supported by this kubelet'


DEADLINE_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: deadline
spec:
  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
"""


def test_a_pod_past_its_active_deadline_fails_and_stops(cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=DEADLINE_YAML)
    status = wait_for(lambda: ((s := cluster.kubectl_json("get", "pod", "deadline")["status"])
                      .get("phase") == "Failed" and s) or None, timeout=30, what="Failed")
    assert status["reason"] == "DeadlineExceeded"
    assert status["message"] == "Pod was active on the node longer than the specified deadline"
    wait_for(lambda: "terminated" in (cluster.kubectl_json("get", "pod", "deadline")["status"]
                                      ["containerStatuses"][0]["state"]) or None,
             timeout=30, what="the container stopped")
