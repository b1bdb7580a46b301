"""Objects the API server ensures at start: the system namespaces, the kubernetes Service,
the system PriorityClasses, the default StorageClass and a Local APIService per served
group-version."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    APISERVICES,
    NAMESPACES,
    PRIORITYCLASSES,
    SERVICES,
    STORAGECLASSES,
)
from minikube_py.apiserver.admission import SYSTEM_NAMESPACES
from minikube_py.apiserver.kinds.apiservices import local_apiservices
from minikube_py.apiserver.kinds.priorityclasses import system_classes
from minikube_py.apiserver.kinds.storageclasses import standard_class
from minikube_py.apiserver.kubernetesservice import NAMESPACE, kubernetes_service

if TYPE_CHECKING:
    from minikube_py.apiserver.service import ApiService


async def ensure_builtin_objects(svc: ApiService, kubernetes_target_port: int) -> None:
    for ns in SYSTEM_NAMESPACES:
        with contextlib.suppress(ApiError):  # AlreadyExists on restart
            await svc.create_object(NAMESPACES, {"metadata": {"name": ns}}, None)
    body = kubernetes_service(kubernetes_service_ip(svc), kubernetes_target_port)
    with contextlib.suppress(ApiError):
        await svc.create_object(SERVICES, body, NAMESPACE)
    for pc in system_classes():
        with contextlib.suppress(ApiError):
            await svc.create_object(PRIORITYCLASSES, pc, None)
    with contextlib.suppress(ApiError):
        await svc.create_object(STORAGECLASSES, standard_class(), None)
    for api in local_apiservices(svc.kinds.resources()):
        with contextlib.suppress(ApiError):
            await svc.create_object(APISERVICES, api, None)


def kubernetes_service_ip(svc: ApiService) -> str:
    """The `kubernetes` Service's ClusterIP: the first address of the service range."""
    return str(svc.allocations.ips.network.network_address + 1)
