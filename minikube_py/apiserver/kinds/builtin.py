"""The built-in kinds, one line each, in the order discovery lists them."""

from __future__ import annotations

from minikube_py.apiserver.ipalloc import ServiceAllocations
from minikube_py.apiserver.kinds import (
    configmaps,
    controllerrevisions,
    cronjobs,
    daemonsets,
    deployments,
    endpoints,
    endpointslices,
    events,
    jobs,
    leases,
    namespaces,
    nodes,
    pods,
    replicasets,
    replicationcontrollers,
    secrets,
    serviceaccounts,
    services,
    statefulsets,
)
from minikube_py.apiserver.kinds.registry import KindRegistry
from minikube_py.apiserver.satokens import ISSUER, TokenIssuer


def builtin_kinds(allocations: ServiceAllocations, issuer: TokenIssuer,
                  audiences: tuple[str, ...] = (ISSUER,)) -> KindRegistry:
    return KindRegistry([
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
    ])
