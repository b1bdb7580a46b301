"""`minikube-py members` and `minikube-py member remove`: the store's members, through the
running member's API as DATA/kubeconfig's admin (the leader is asked for what only it knows:
each member's match index and lag, and membership changes)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from minikube_py.members.client import ApiRefused, request_tls
from minikube_py.members.http import MEMBERS_PATH
from minikube_py.nodebootstrap import JoinRefused
from minikube_py.token_commands import TokenCommandFailed, admin_of, admin_tls

COLUMNS = ("NAME", "ID", "ROLE", "PEER URL", "API URL", "MATCH", "LAG")


async def _call(server: str, method: str, path: str, tls: ssl.SSLContext) -> dict[str, Any]:
    try:
        return await request_tls(server, method, path, tls)
    except JoinRefused as e:
        raise TokenCommandFailed(str(e)) from None
    except ApiRefused as e:
        raise TokenCommandFailed(f"{server} refused: {e} ({e.status})") from None


async def list_members(data_dir: Path) -> dict[str, Any]:
    """The members as the leader knows them (as the local member does if none leads)."""
    admin = admin_of(data_dir)
    tls = admin_tls(admin.credentials)
    here = await _call(admin.server, "GET", MEMBERS_PATH, tls)
    leader_api = here.get("leaderAPI", "")
    if leader_api and here.get("members") and not _answered_by_leader(here):
        try:
            return await _call(leader_api, "GET", MEMBERS_PATH, tls)
        except TokenCommandFailed:
            return here
    return here


async def remove_member(data_dir: Path, name: str) -> dict[str, Any]:
    admin = admin_of(data_dir)
    tls = admin_tls(admin.credentials)
    here = await _call(admin.server, "GET", MEMBERS_PATH, tls)
    target = here.get("leaderAPI") or admin.server
    return await _call(target, "DELETE", f"{MEMBERS_PATH}/{name}", tls)


def _answered_by_leader(body: dict[str, Any]) -> bool:
    return any(m.get("role") == "leader" and m.get("name") == body.get("answeredBy")
               for m in body.get("members", []))


def format_members(body: dict[str, Any]) -> str:
    rows = [tuple(str(v) for v in (m.get("name") or "?", m.get("id", ""), m.get("role", ""),
                                   m.get("peerURL", ""), m.get("apiURL", ""),
                                   "-" if m.get("match") is None else m["match"],
                                   "-" if m.get("lag") is None else m["lag"]))
            for m in body.get("members", [])]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(COLUMNS)]
    lines = ["   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (COLUMNS, *rows)]
    leader = next((m.get("name") for m in body.get("members", [])
                   if m.get("role") == "leader"), None)
    lines.append(f"\nleader: {leader or 'none'}, term {body.get('term')}, commit "
                 f"{body.get('commit')}, applied {body.get('applied')} (as member "
                 f"{body.get('answeredBy')} knows)")
    return "\n".join(lines)
