"""The kubeconfig that points kubectl (and client libraries) at this cluster."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from minikube_py.config import CONTEXT_NAME


def render_kubeconfig(server_url: str, *, context: str = CONTEXT_NAME) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server_url}}],
        "users": [{"name": context, "user": {}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                   "namespace": "default"}}],
        "current-context": context,
        "preferences": {},
    }
    return str(yaml.safe_dump(doc, sort_keys=False))


def write_kubeconfig(path: Path, server_url: str) -> None:
    """Atomically, so a kubectl reading it never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render_kubeconfig(server_url))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
