"""When the kubelet writes its Node's status before the report interval: only on a change."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.kubelet.node_status import node_status_changed


def status(ready: str = "True", heartbeat: str = "2024-01-01T00:00:00Z",
           address: str = "10.0.0.1") -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat,
                            "lastTransitionTime": "2024-01-01T00:00:00Z"}],
            "addresses": [{"type": "InternalIP", "address": address}]}


@pytest.mark.parametrize(("new", "changed"), [
    (status(), False),
    (status(heartbeat="2024-01-01T00:01:00Z"), False),
    (status(ready="False"), True),
    (status(address="10.0.0.2"), True),
], ids=["same", "only the heartbeat moved", "a condition flipped", "an address changed"])
def test_node_status_changed_ignores_heartbeats(new: dict[str, Any], changed: bool) -> None:
    assert node_status_changed(status(), new) is changed
