"""A realistic app from plain YAML, applied with `kubectl apply -f` and no flags, on a live
`serve` with real containers: a ConfigMap, a Secret, a StatefulSet with a claim template
behind a headless Service, a Deployment behind a Service and an Ingress, a
PodDisruptionBudget, a ServiceAccount with a Role and RoleBinding, an autoscaler, and a
CustomResourceDefinition with an instance of it.
The database's data survives its pod being recreated, and every database pod answers by
its own DNS name, which `hostname -f` in the pod also gives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD
SLOT = 28
NS = "shop"

APP_YAML = """
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-config, namespace: shop}
data:
  greeting: hello from the shop
---
apiVersion: v1
kind: Secret
metadata: {name: db-creds, namespace: shop}
stringData:
  password: s3cret
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: shop, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-config, namespace: shop}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: shop-reads-config, namespace: shop}
subjects:
- {kind: ServiceAccount, name: shop, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-config}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports:
  - {name: db, port: 7000}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 2
  podManagementPolicy: Parallel
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: db
        image: busybox
        command: ["sh", "-c", "exec httpd -f -p 7000 -h /data"]
        ports:
        - {name: db, containerPort: 7000}
        env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: db-creds, key: password}
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 32Mi
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db, namespace: shop}
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: db}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      serviceAccountName: shop
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: busybox
        command: ["sh", "-c", "echo $(GREETING) > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {name: shop-config, key: greeting}
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: 8080}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
  - host: shop.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port: {number: 80}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: coupons.shop.example.com}
spec:
  group: shop.example.com
  scope: Namespaced
  names: {plural: coupons, singular: coupon, kind: Coupon}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Discount, type: integer, jsonPath: .spec.discount}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              discount: {type: integer, minimum: 0, maximum: 100}
---
apiVersion: shop.example.com/v1
kind: Coupon
metadata: {name: welcome, namespace: shop}
spec:
  discount: 10
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data_dir = tmp_path_factory.mktemp("app") / "data"
    with running_serve(data_dir, SLOT) as serve:
        # kubectl maps every object of the file before it applies any, so the Coupon,
        # whose CRD this same apply creates, is reported (as with any kube server: "ensure
        # CRDs are installed first"), and everything else is created; the same apply again
        # creates it.
        first = serve.kubectl("apply", "-f", "-", input=APP_YAML, check=False)
        assert first.returncode == 1, first.stderr
        assert "customresourcedefinition.apiextensions.k8s.io/coupons.shop.example.com created" \
            in first.stdout
        assert 'no matches for kind "Coupon"' in first.stderr
        again = serve.kubectl("apply", "-f", "-", input=APP_YAML)
        assert "coupon.shop.example.com/welcome created" in again.stdout
        yield serve


def exec_in(cluster: ServeProcess, target: str, script: str) -> str:
    return cluster.kubectl("exec", "-n", NS, target, "--", "sh", "-c", script).stdout


def ready(cluster: ServeProcess, *pods: str) -> None:
    for pod in pods:
        cluster.kubectl("wait", "-n", NS, "--for=condition=Ready", f"pod/{pod}",
                        "--timeout=90s", timeout=100)


def test_the_app_runs_and_the_web_tier_reads_its_config(cluster: ServeProcess) -> None:
    ready(cluster, "db-0", "db-1")
    cluster.kubectl("rollout", "status", "-n", NS, "deployment/web", "--timeout=90s",
                    timeout=100)
    page = exec_in(cluster, "db-0", "timeout 10 wget -qO- http://web.shop.svc.cluster.local/")
    assert page == "hello from the shop\n"
    claims = cluster.kubectl_json("get", "pvc", "-n", NS)["items"]
    assert sorted((c["metadata"]["name"], c["status"]["phase"]) for c in claims) == [
        ("data-db-0", "Bound"), ("data-db-1", "Bound")]
    wait_for(lambda: cluster.kubectl_json("get", "pdb", "db", "-n", NS)["status"].get(
        "disruptionsAllowed") == 1 or None, timeout=30, what="the budget counts both pods")


def test_the_custom_resource_applied_with_its_definition_is_served(
        cluster: ServeProcess) -> None:
    rows = cluster.kubectl("get", "coupons", "-n", NS).stdout.splitlines()
    assert rows[0].split() == ["NAME", "DISCOUNT"]
    assert rows[1].split() == ["welcome", "10"]


def test_each_database_pod_answers_by_its_own_name(cluster: ServeProcess) -> None:
    ready(cluster, "db-0", "db-1")
    assert exec_in(cluster, "db-0", "hostname -f").strip() == "db-0.db.shop.svc.cluster.local"
    db1 = cluster.kubectl_json("get", "pod", "db-1", "-n", NS)["status"]["podIP"]

    def resolved() -> str | None:
        out = exec_in(cluster, "db-0", "nslookup db-1.db.shop.svc.cluster.local || true")
        return out if db1 in out else None

    assert db1 in wait_for(resolved, timeout=30, what="db-1's own name resolved")


def test_the_database_keeps_its_data_when_its_pod_is_recreated(cluster: ServeProcess) -> None:
    ready(cluster, "db-0")
    exec_in(cluster, "db-0", "echo order-42 > /data/orders")
    before = cluster.kubectl_json("get", "pod", "db-0", "-n", NS)["metadata"]["uid"]
    cluster.kubectl("delete", "pod", "db-0", "-n", NS, "--wait=true", timeout=60)

    def recreated() -> bool:
        out = cluster.kubectl("get", "pod", "db-0", "-n", NS, "--ignore-not-found",
                              "-o", "jsonpath={.metadata.uid}").stdout
        return bool(out) and out != before

    wait_for(recreated, timeout=60, what="db-0 recreated")
    ready(cluster, "db-0")
    assert exec_in(cluster, "db-0", "cat /data/orders") == "order-42\n"
    # Served over its own DNS name from the other pod.
    served = exec_in(cluster, "db-1", "timeout 10 wget -qO- "
                                      "http://db-0.db.shop.svc.cluster.local:7000/orders")
    assert served == "order-42\n"
