"""The node's pod bridge, created before any pod so the node has a stable address on it."""

from __future__ import annotations

import asyncio
import ipaddress


async def _ip(*args: str, check: bool = True) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {text}")
    return text


async def ensure_bridge(name: str, pod_cidr: str) -> str:
    """Create (or keep) bridge `name` holding the subnet's first address; returns that
    address. The CNI bridge plugin then attaches pods to it and finds its gateway there."""
    net = ipaddress.ip_network(pod_cidr)
    gateway = f"{next(net.hosts())}/{net.prefixlen}"
    if "does not exist" in await _ip("link", "show", name, check=False):
        await _ip("link", "add", name, "type", "bridge")
    if gateway not in await _ip("-o", "addr", "show", "dev", name):
        await _ip("addr", "add", gateway, "dev", name)
    await _ip("link", "set", name, "up")
    return gateway.split("/")[0]


async def delete_bridge(name: str) -> None:
    await _ip("link", "del", name, check=False)
