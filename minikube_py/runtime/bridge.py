"""The node's pod bridge, created before any pod so the node has a stable address on it, and
the host's routes for the cluster's ranges (what they are: runtime/hostnet.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterable

from minikube_py.runtime.hostnet import (
    ROUTE_PROTOCOL,
    HostState,
    Route,
    parse_alias,
    parse_links,
    parse_routes,
)


async def _ip(*args: str, check: bool = True) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {text}")
    return text


async def read_host_state() -> HostState:
    """Every link with its alias and IPv4 addresses, and every cluster route."""
    links = json.loads(await _ip("-j", "-d", "addr", "show") or "[]")
    return HostState(parse_links(links), await read_routes())


async def read_routes() -> tuple[Route, ...]:
    """Every cluster route (ROUTE_PROTOCOL) of the main table, of every cluster."""
    return parse_routes(json.loads(await _ip("-j", "route", "show", "table", "main", "proto",
                                             str(ROUTE_PROTOCOL)) or "[]"))


async def ensure_bridge(name: str, pod_cidr: str, alias: str = "") -> str:
    """Create (or keep) bridge `name` holding the subnet's first address, marked with
    `alias`; returns that address. The CNI bridge plugin then attaches pods to it and finds
    its gateway there."""
    net = ipaddress.ip_network(pod_cidr)
    gateway = f"{next(net.hosts())}/{net.prefixlen}"
    shown = await _ip("-j", "-d", "link", "show", name, check=False)
    if "does not exist" in shown:
        await _ip("link", "add", name, "type", "bridge")
    elif alias:
        links = parse_links(json.loads(shown))
        found = parse_alias(links[0].alias) if links else None
        ours = parse_alias(alias)
        if found and ours and found[0] != ours[0]:
            # Another cluster took it since serve checked the host: never share a bridge.
            raise RuntimeError(f"bridge {name} was just taken by the minikube-py cluster "
                               f"in {found[1]}")
    if alias:
        await _ip("link", "set", "dev", name, "alias", alias)
    if gateway not in await _ip("-o", "addr", "show", "dev", name):
        await _ip("addr", "add", gateway, "dev", name)
    await _ip("link", "set", name, "up")
    return gateway.split("/")[0]


async def replace_routes(routes: Iterable[Route]) -> None:
    for route in routes:
        await _ip("route", "replace", *route.args())


async def delete_routes(routes: Iterable[Route]) -> list[Route]:
    """Delete each route; returns those that were there."""
    return [route for route in routes if await _ip_ok("route", "del", *route.args())]


async def _ip_ok(*args: str) -> bool:
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return await proc.wait() == 0


async def delete_bridge(name: str) -> None:
    await _ip("link", "del", name, check=False)
