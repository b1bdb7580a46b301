"""How a new control-plane member joins (`serve --server URL --token TOKEN`), as k3s's
servers do: trust the server only once its CA matches the token, fetch the cluster's keys
with the token, then ask the leader to add this member to the store as a learner. Promotion
to voter comes later, once the learner has caught up (`promote_when_ready`)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from minikube_py.members.client import ApiRefused, request_tls
from minikube_py.members.http import BOOTSTRAP_PATH, MEMBERS_PATH
from minikube_py.members.records import MemberIdentity, MemberRecord
from minikube_py.nodebootstrap import JoinRefused, check_ca, fetch_ca, parse_token
from minikube_py.pki.cluster import CERT_MODE, KEY_MODE, PkiLayout, write_file_atomically
from minikube_py.pki.tls import MINIMUM_TLS

RETRY_FOR = 60.0  # how long a busy cluster (a change pending, no leader) is asked again


@dataclass(frozen=True, slots=True)
class ClusterKeys:
    """What the first member handed over: its cluster id, and the members as it knew them."""

    cluster_id: int
    cluster_cidr: str
    service_cidr: str
    leader_api: str
    lb_cidr: str = ""


@dataclass(frozen=True, slots=True)
class Admission:
    """This member, as the leader added it."""

    identity: MemberIdentity
    voters: tuple[int, ...]
    learners: tuple[int, ...]
    records: dict[int, MemberRecord]


def _tls(ca_pem: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    context.minimum_version = MINIMUM_TLS
    return context


async def fetch_cluster_keys(server: str, token_text: str, pki: PkiLayout) -> ClusterKeys:
    """Check the server against the token, then write the cluster's CA, service-account key
    and encryption keys into `pki` (JoinRefused, one line, when any step is refused)."""
    token = parse_token(token_text)
    ca_pem = await fetch_ca(server)
    check_ca(token, ca_pem, server)
    body = await _request(server, "GET", BOOTSTRAP_PATH, ca_pem, token=str(token.credentials))
    files = body.get("files", {})
    pki.root.mkdir(parents=True, exist_ok=True)
    for name, path, mode in (("ca.crt", pki.ca.cert, CERT_MODE), ("ca.key", pki.ca.key, KEY_MODE),
                             ("sa.key", pki.service_account_key, KEY_MODE),
                             ("sa.pub", pki.service_account_public_key, CERT_MODE),
                             ("encryption-config.yaml", pki.encryption_config, KEY_MODE)):
        text = files.get(name)
        if not isinstance(text, str):
            raise JoinRefused(f"{server} sent no {name} in its bootstrap data")
        await asyncio.to_thread(write_file_atomically, path, text.encode(), mode)
    network = body.get("clusterNetwork", {})
    return ClusterKeys(int(body["clusterID"]), str(network.get("clusterCIDR", "")),
                       str(network.get("serviceCIDR", "")), str(body.get("leaderAPI") or server),
                       str(network.get("loadBalancerCIDR", "")))


async def add_member(keys: ClusterKeys, server: str, token_text: str, ca_pem: bytes,
                     record: MemberRecord) -> Admission:
    """Ask the leader to add `record` as a learner (its id is the leader's choice)."""
    token = str(parse_token(token_text).credentials)
    body = await _retrying(lambda: _request(
        keys.leader_api or server, "POST", MEMBERS_PATH, ca_pem, token=token,
        body={"name": record.name, "peerURL": record.peer_url, "apiURL": record.api_url,
              "etcdURL": record.etcd_url}))
    member_id = int(body["id"])
    records = {int(r["id"]): MemberRecord(int(r["id"]), r["name"], r["peerURL"], r["apiURL"],
                                          r.get("etcdURL", ""))
               for r in body.get("members", []) if r.get("peerURL")}
    voters = tuple(int(v) for v in body["voters"])
    learners = tuple(int(v) for v in body["learners"])
    return Admission(MemberIdentity(keys.cluster_id, member_id, record.name, voters, learners),
                     voters, learners, records)


async def promote(leader_api: str, member_id: int, tls: ssl.SSLContext) -> None:
    """One promotion request to the leader (ApiRefused when it says not yet)."""
    await request_tls(leader_api, "POST", f"{MEMBERS_PATH}/{member_id}/promote", tls)


async def _request(server: str, method: str, path: str, ca_pem: bytes, *, token: str,
                   body: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        return await request_tls(server, method, path, _tls(ca_pem), token=token, body=body)
    except ApiRefused as e:
        if e.status in (401, 403):
            raise JoinRefused(
                f"{server} refused the token for joining a control-plane member ({e}): only "
                "the cluster's server token (DATA/server-token of its first member) makes "
                "members; DATA/token and tokens from `minikube-py token create` join nodes "
                "only") from None
        raise


async def _retrying(call: Callable[[], Any]) -> dict[str, Any]:
    """Ask again while the cluster says 503 (no leader, a change pending), up to RETRY_FOR."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RETRY_FOR
    while True:
        try:
            result: dict[str, Any] = await call()
            return result
        except ApiRefused as e:
            if e.status != 503 or loop.time() > deadline:
                raise JoinRefused(f"the cluster refused to add this member: {e}") from None
        await asyncio.sleep(0.5)
