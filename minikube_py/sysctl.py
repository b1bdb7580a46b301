"""Kernel settings under /proc/sys that node components need (forwarding, bridge netfilter).
Those under /proc/sys/net belong to the network namespace of the process that writes them."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("minikube_py.sysctl")


def ensure_sysctl(path: str, value: str = "1") -> bool:
    """Set a sysctl only if it is not already `value`; False when it cannot be (e.g. the
    br_netfilter module is not loaded, so the bridge sysctls do not exist)."""
    p = Path(path)
    try:
        if p.read_text().strip() != value:
            p.write_text(value)
        return True
    except OSError as e:
        log.warning("cannot set %s=%s: %s", path, value, e)
        return False
