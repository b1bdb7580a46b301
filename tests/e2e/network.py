"""The host's network as the e2e scenarios look at it: what a cluster owns (found by its
owner marks), the whole host, and `minikube-py` runs that are expected to fail."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.cluster import ServeProcess


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)


def minikube(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minikube_py", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def remembered(serve: ServeProcess) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((serve.data_dir / "cluster.json").read_text())
    return doc


def owned(serve: ServeProcess) -> dict[str, Any]:
    """What the cluster has on the host, found by its owner marks."""
    host = remembered(serve)["host"]
    link = json.loads(sh("ip", "-j", "-d", "link", "show", serve.bridge).stdout or "[{}]")[0]
    routes = json.loads(sh("ip", "-j", "route", "show", "table", "main", "proto", "167").stdout)
    prefix = host["iptablesPrefix"]
    # The jumps into its chains and the chains every sync writes (the per-service ones
    # follow the endpoints, which settle a while after start-up).
    fixed = {f":{prefix}-{c}" for c in ("SERVICES", "NODEPORTS", "POSTROUTING", "MARK-MASQ",
                                          "EXTERNAL-SERVICES")}
    rules: list[str] = []
    for line in sh("iptables-save").stdout.splitlines():
        declared = line.split()[0] if line.startswith(":") else ""
        jump = (line.startswith("-A ") and not line.startswith(f"-A {prefix}-")
                and f"-j {prefix}-" in line)
        if declared in fixed or jump:
            rules.append(declared or line)
    return {
        "bridge alias": link.get("ifalias"),
        "routes": sorted((r.get("type", "unicast"), r["dst"], r.get("dev", ""))
                         for r in routes if r["metric"] // 4 == host["routeMetric"] // 4),
        "rules": sorted(rules),
    }


def owns_everything(owned: dict[str, Any]) -> bool:
    """A running cluster's bridge mark, its four routes and its six jump rules."""
    jumps = [r for r in owned["rules"] if r.startswith("-A ")]
    return (str(owned["bridge alias"]).startswith("minikube-py owner=")
            and len(owned["routes"]) == 4 and len(jumps) == 6)


def host_network() -> dict[str, Any]:
    """Every link (with its alias and bridge), IPv4 address, IPv4 route and iptables rule
    of the host (packet counters left out)."""
    links = json.loads(sh("ip", "-j", "-d", "link", "show").stdout)
    return {
        "links": sorted((ln["ifname"], ln.get("ifalias", ""), ln.get("master", ""))
                        for ln in links),
        "addresses": sh("ip", "-4", "-o", "addr", "show").stdout,
        "routes": sh("ip", "-4", "route", "show", "table", "all").stdout,
        "rules": re.sub(r"\[\d+:\d+\]", "", "\n".join(
            ln for ln in sh("iptables-save").stdout.splitlines() if not ln.startswith("#"))),
    }


def files(data_dir: Path) -> list[tuple[str, int, int]]:
    return sorted((str(p.relative_to(data_dir)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in data_dir.rglob("*") if p.is_file())


def route_get(address: str) -> subprocess.CompletedProcess[str]:
    return sh("ip", "route", "get", address)


def uplink() -> str:
    fields = sh("ip", "route", "show", "default").stdout.split()
    return fields[fields.index("dev") + 1] if "dev" in fields else "no-uplink"
