"""The built-in kinds, one line each, in the order discovery lists them."""

from __future__ import annotations

from minikube_py.apiserver.ipalloc import ServiceAllocations
from minikube_py.apiserver.kinds import (
    certificatesigningrequests,
    clusterrolebindings,
    clusterroles,
    configmaps,
    controllerrevisions,
    cronjobs,
    csi,
    daemonsets,
    deployments,
    endpoints,
    endpointslices,
    events,
    ingresses,
    jobs,
    leases,
    localsubjectaccessreviews,
    namespaces,
    networkpolicies,
    nodes,
    persistentvolumeclaims,
    persistentvolumes,
    poddisruptionbudgets,
    pods,
    priorityclasses,
    replicasets,
    replicationcontrollers,
    rolebindings,
    roles,
    runtimeclasses,
    secrets,
    selfsubjectaccessreviews,
    selfsubjectreviews,
    selfsubjectrulesreviews,
    serviceaccounts,
    services,
    statefulsets,
    storageclasses,
    subjectaccessreviews,
    tokenreviews,
)
from minikube_py.apiserver.kinds.accessreviews import Reviewer
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.kinds.registry import KindRegistry
from minikube_py.apiserver.satokens import ISSUER, TokenIssuer


def builtin_kinds(allocations: ServiceAllocations, issuer: TokenIssuer,
                  audiences: tuple[str, ...] = (ISSUER,),
                  reviewer: Reviewer | None = None) -> KindRegistry:
    """Every stored kind; the review APIs too when there are authorizers to ask."""
    stored: list[Strategy] = [
        namespaces.STRATEGY,
        nodes.STRATEGY,
        pods.STRATEGY,
        events.STRATEGY,
        services.strategy(allocations),
        endpoints.STRATEGY,
        configmaps.STRATEGY,
        secrets.STRATEGY,
        serviceaccounts.strategy(issuer, audiences),
        replicationcontrollers.STRATEGY,
        leases.STRATEGY,
        deployments.STRATEGY,
        replicasets.STRATEGY,
        daemonsets.STRATEGY,
        statefulsets.STRATEGY,
        controllerrevisions.STRATEGY,
        jobs.STRATEGY,
        cronjobs.STRATEGY,
        endpointslices.STRATEGY,
        events.EVENTS_V1_STRATEGY,
        clusterroles.STRATEGY,
        clusterrolebindings.STRATEGY,
        roles.STRATEGY,
        rolebindings.STRATEGY,
        certificatesigningrequests.STRATEGY,
        ingresses.INGRESS_STRATEGY,
        ingresses.INGRESSCLASS_STRATEGY,
        networkpolicies.STRATEGY,
        priorityclasses.STRATEGY,
        runtimeclasses.STRATEGY,
        persistentvolumes.STRATEGY,
        persistentvolumeclaims.STRATEGY,
        storageclasses.STRATEGY,
        csi.CSIDRIVER_STRATEGY,
        csi.CSINODE_STRATEGY,
        csi.VOLUMEATTACHMENT_STRATEGY,
        csi.CSISTORAGECAPACITY_STRATEGY,
        poddisruptionbudgets.STRATEGY,
    ]
    if reviewer is None:
        return KindRegistry(stored)
    return KindRegistry([
        *stored,
        selfsubjectreviews.strategy(reviewer),
        subjectaccessreviews.strategy(reviewer),
        selfsubjectaccessreviews.strategy(reviewer),
        localsubjectaccessreviews.strategy(reviewer),
        selfsubjectrulesreviews.strategy(reviewer),
        tokenreviews.strategy(reviewer),
    ])
