"""The official kubernetes client's model for a message of our schema tables."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes.client

from minikube_py.apiserver.protobuf_schema import MESSAGES


def model_name(message: str) -> str | None:
    """"core.Pod" -> "V1Pod"; a group prefix where the client has one ("CoreV1Event",
    "DiscoveryV1EndpointPort"); a version other than v1 in the group's name
    ("autoscalingv2.MetricSpec" -> "V2MetricSpec"); None for inlined Go structs that have
    no model."""
    group, name = message.split(".", 1)
    version = "V1"
    versioned = re.fullmatch(r"([a-z]+?)(v[0-9]+)", group)  # "autoscalingv2": a v2 group
    if versioned:
        group, version = versioned.group(1), versioned.group(2).capitalize()
    for candidate in (f"{group.capitalize()}{version}{name}", f"{version}{name}"):
        if hasattr(kubernetes.client, candidate):
            return candidate
    return None


def modelled_messages() -> list[tuple[str, str]]:
    return [(m, name) for m in sorted(MESSAGES) if (name := model_name(m)) is not None]


class _Response:
    """What ApiClient.deserialize reads from an HTTP response: its text."""

    def __init__(self, data: str) -> None:
        self.data = data


class ClientModels:
    """Deserialize JSON as the official Python client does (client-side validation on)."""

    def __init__(self) -> None:
        self._client = kubernetes.client.ApiClient()

    def deserialize(self, obj: dict[str, Any], message: str) -> Any:
        name = model_name(message)
        assert name is not None, message
        return self._client.deserialize(_Response(json.dumps(obj)), name)

    def close(self) -> None:
        self._client.close()
