"""The controller manager: builds every controller from one context and one settings
object. The composition root runs each as its own supervised task."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from minikube_py.controllers.base import ControllerContext
from minikube_py.controllers.clusterroleaggregation import ClusterRoleAggregationController
from minikube_py.controllers.cronjob import CronJobController
from minikube_py.controllers.csrapproving import CsrApprovingController
from minikube_py.controllers.csrsigning import CsrSigningController
from minikube_py.controllers.daemonset import DaemonSetController
from minikube_py.controllers.deployment import DeploymentController
from minikube_py.controllers.disruption import DisruptionController
from minikube_py.controllers.endpoints import EndpointsController
from minikube_py.controllers.endpointslice import EndpointSliceController
from minikube_py.controllers.garbagecollector import GarbageCollector
from minikube_py.controllers.horizontalpodautoscaler import HorizontalPodAutoscalerController
from minikube_py.controllers.hpa_plan import AutoscalerSettings
from minikube_py.controllers.job import JobController
from minikube_py.controllers.localpath import LocalPathProvisioner
from minikube_py.controllers.namespace import NamespaceController
from minikube_py.controllers.nodeipam import NodeIpamController
from minikube_py.controllers.nodelifecycle import NodeLifecycleController, TaintEvictionController
from minikube_py.controllers.persistentvolume import PersistentVolumeController
from minikube_py.controllers.podgc import PodGarbageCollector
from minikube_py.controllers.replicaset import (
    ReplicaSetController,
    ReplicationControllerController,
)
from minikube_py.controllers.resourcequota import ResourceQuotaController
from minikube_py.controllers.rootcacertpublisher import RootCaCertPublisher
from minikube_py.controllers.serviceaccount import ServiceAccountController
from minikube_py.controllers.servicelb import ServiceLbController
from minikube_py.controllers.statefulset import StatefulSetController
from minikube_py.controllers.tokencleaner import TokenCleaner
from minikube_py.controllers.volumeprotection import VolumeProtectionController
from minikube_py.pki.csr import SigningCa


@dataclass(frozen=True)
class ControllerSettings:
    """Tunables, with kube-controller-manager's defaults (flags shorten them for tests)."""

    # node lifecycle: a node whose lease is older than this is NotReady/Unknown
    node_monitor_grace_period: float = 40.0
    node_monitor_period: float = 5.0
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    # the service load balancer's pool (serve --lb-cidr; "": none, the nodes' addresses),
    # and the ports it never gives on the nodes' addresses (the node's own: cluster DNS,
    # the kubelet, the API)
    lb_cidr: str = ""
    node_reserved_ports: tuple[tuple[str, int], ...] = (("UDP", 53), ("TCP", 53))
    # pod GC: terminated pods kept before the oldest are deleted
    terminated_pod_gc_threshold: int = 12500
    pod_gc_period: float = 20.0
    # force-delete pods stuck terminating this long on a NotReady node (None: never, as kube)
    pod_gc_terminating_on_unready_after: float | None = None
    namespace_recheck_interval: float = 2.0
    # job: delay before replacing a failed pod, doubling per failure (kube: 10 s, 6 min)
    job_backoff_base: float = 10.0
    job_backoff_cap: float = 360.0
    # cronjob: longest sleep between checks of one CronJob (notices clock jumps)
    cronjob_max_requeue: float = 60.0
    # resource quota: recount every quota this often besides on changes (kube: 5 min)
    resource_quota_sync_period: float = 30.0
    # the HPA controller's --horizontal-pod-autoscaler-* settings (kube's defaults)
    autoscaler: AutoscalerSettings = field(default_factory=AutoscalerSettings)
    workers: int = 2


Runner = Callable[[], Coroutine[Any, Any, None]]


def build_controllers(ctx: ControllerContext, settings: ControllerSettings, *,
                      root_ca: str | None = None,
                      signing_ca: SigningCa | None = None) -> list[tuple[str, Runner]]:
    """(task name, run) for every controller. Each controller module adds its line here;
    each controller gets a context of its own, so that it waits only for its informers.
    `root_ca` (the cluster CA, PEM) is what the root CA publisher puts in every namespace;
    without it there is no publisher (as kube's, which needs a root CA to run).
    `signing_ca` (the cluster CA's certificate and key) is what the CSR signer signs with;
    without it CSRs are approved but never signed."""
    own = ctx.for_controller
    controllers: list[tuple[str, Runner]] = []
    w = settings.workers
    controllers.append(("node-lifecycle-controller", NodeLifecycleController(
        own(), grace_period=settings.node_monitor_grace_period,
        monitor_period=settings.node_monitor_period, workers=w).run))
    controllers.append(("taint-eviction-controller",
                        TaintEvictionController(own(), workers=w).run))
    controllers.append(("node-ipam-controller", NodeIpamController(
        own(), cluster_cidr=settings.cluster_cidr,
        node_mask_size=settings.node_cidr_mask_size).run))
    controllers.append(("endpoints-controller", EndpointsController(own(), workers=w).run))
    controllers.append(("endpointslice-controller",
                        EndpointSliceController(own(), workers=w).run))
    controllers.append(("service-lb-controller", ServiceLbController(
        own(), lb_cidr=settings.lb_cidr, reserved=settings.node_reserved_ports,
        workers=w).run))
    controllers.append(("namespace-controller", NamespaceController(
        own(), recheck_interval=settings.namespace_recheck_interval, workers=w).run))
    controllers.append(("garbage-collector-controller", GarbageCollector(own()).run))
    controllers.append(("serviceaccount-controller", ServiceAccountController(own()).run))
    controllers.append(("clusterrole-aggregation-controller",
                        ClusterRoleAggregationController(own()).run))
    if root_ca is not None:
        controllers.append(("root-ca-cert-publisher",
                            RootCaCertPublisher(own(), root_ca=root_ca).run))
    controllers.append(("csrapproving-controller", CsrApprovingController(own()).run))
    controllers.append(("token-cleaner", TokenCleaner(own()).run))
    if signing_ca is not None:
        controllers.append(("csrsigning-controller", CsrSigningController(
            own(), ca=signing_ca, serial=x509.random_serial_number).run))
    controllers.append(("pod-garbage-collector", PodGarbageCollector(
        own(), terminated_threshold=settings.terminated_pod_gc_threshold,
        period=settings.pod_gc_period,
        terminating_on_unready_after=settings.pod_gc_terminating_on_unready_after).run))
    controllers.append(("daemonset-controller", DaemonSetController(own(), workers=w).run))
    controllers.append(("job-controller", JobController(
        own(), workers=w, backoff_base=settings.job_backoff_base,
        backoff_cap=settings.job_backoff_cap).run))
    controllers.append(("cronjob-controller", CronJobController(
        own(), max_requeue=settings.cronjob_max_requeue).run))
    controllers.append(("statefulset-controller", StatefulSetController(own(), workers=w).run))
    controllers.append(("replicaset-controller", ReplicaSetController(own(), workers=w).run))
    controllers.append(("replication-controller", ReplicationControllerController(
        own(), workers=w).run))
    controllers.append(("deployment-controller", DeploymentController(own(), workers=w).run))
    controllers.append(("persistentvolume-binder-controller",
                        PersistentVolumeController(own()).run))
    controllers.append(("persistentvolume-protection-controller",
                        VolumeProtectionController(own()).run))
    controllers.append(("local-path-provisioner", LocalPathProvisioner(own(), workers=w).run))
    controllers.append(("disruption-controller", DisruptionController(own(), workers=w).run))
    controllers.append(("resourcequota-controller", ResourceQuotaController(
        own(), resync_period=settings.resource_quota_sync_period, workers=w).run))
    controllers.append(("horizontal-pod-autoscaler", HorizontalPodAutoscalerController(
        own(), settings=settings.autoscaler, workers=w).run))
    return controllers
