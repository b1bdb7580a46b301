"""Publishing and reading the cluster's network (minikube_py/api/clusternetwork.py) through
the API: `serve` writes it, `join` reads it."""

from __future__ import annotations

from minikube_py.api.clusternetwork import CONFIG_MAP, NAMESPACE, ClusterConfigError, ClusterNetwork
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS
from minikube_py.client.interface import ApiClient


async def publish(client: ApiClient, network: ClusterNetwork) -> None:
    """Create the ConfigMap, or bring it back to what this cluster is."""
    body = network.to_config_map()
    try:
        await client.create(CONFIGMAPS, body, namespace=NAMESPACE)
        return
    except ApiError as e:
        if e.code != 409:
            raise
    current = await client.get(CONFIGMAPS, CONFIG_MAP, namespace=NAMESPACE)
    if current.get("data") != body["data"]:
        await client.update(CONFIGMAPS, {**current, "data": body["data"]}, namespace=NAMESPACE)


async def read(client: ApiClient) -> ClusterNetwork:
    try:
        cm = await client.get(CONFIGMAPS, CONFIG_MAP, namespace=NAMESPACE)
    except ApiError as e:
        hint = "" if e.code == 503 else ": is the server a minikube-py serve of this version?"
        raise ClusterConfigError(
            f"cannot read {NAMESPACE}/{CONFIG_MAP} ({e.code} {e.reason}: {e.message}){hint}"
        ) from None
    return ClusterNetwork.from_config_map(cm)
