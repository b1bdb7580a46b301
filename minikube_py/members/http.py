"""The API server's member endpoints (minikube-py's own, under /v1-minikube-py/ as k3s keeps
its own under /v1-k3s/): what a joining control-plane member needs, and listing and removing
members. Authorization is RBAC's, on non-resource URLs: the cluster's own join token carries
the group that may fetch the bootstrap bundle and add a member (`SERVER_GROUP`); listing and
removing take an admin."""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from minikube_py.api.errors import ApiError, bad_request, not_found, service_unavailable
from minikube_py.apiserver.http import json_response
from minikube_py.members.client import ApiRefused, request_tls
from minikube_py.members.member import StoreMember
from minikube_py.members.records import (
    MemberRecord,
    MemberRecordError,
    check_member_name,
    new_member_id,
    url_address,
)
from minikube_py.nodebootstrap import JoinRefused
from minikube_py.pki.cluster import PkiLayout
from minikube_py.store.node import (
    LearnerNotReadyError,
    MembershipChangePendingError,
    MembershipError,
    UnknownMemberError,
)
from minikube_py.store.raft import NONE
from minikube_py.store.types import DeleteOp, NotLeaderError

PREFIX = "/v1-minikube-py"
BOOTSTRAP_PATH = f"{PREFIX}/server-bootstrap"
MEMBERS_PATH = f"{PREFIX}/members"
# A leader that handed leadership over learns of the new one from its first heartbeat.
LEADER_KNOWN_WITHIN = 5.0


@dataclass
class MemberEndpoints:
    member: StoreMember
    pki: PkiLayout
    cluster_cidr: str
    service_cidr: str
    admin_tls: ssl.SSLContext  # how this member asks another member's API as the admin
    lb_cidr: str = ""  # the service load balancer's pool ("": none)

    def routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", BOOTSTRAP_PATH, self.bootstrap),
            ("GET", MEMBERS_PATH, self.list_members),
            ("POST", MEMBERS_PATH, self.add_member),
            ("POST", MEMBERS_PATH + "/{id}/promote", self.promote),
            ("DELETE", MEMBERS_PATH + "/{name}", self.remove),
        ]

    # ---- for joining members ---------------------------------------------------------------

    async def bootstrap(self, request: web.Request) -> web.Response:
        """The cluster's keys (CA, service-account key, encryption keys: what every member
        must share, as k3s's server bootstrap data) and its members."""
        files = {}
        for name, path in (("ca.crt", self.pki.ca.cert), ("ca.key", self.pki.ca.key),
                           ("sa.key", self.pki.service_account_key),
                           ("sa.pub", self.pki.service_account_public_key),
                           ("encryption-config.yaml", self.pki.encryption_config)):
            files[name] = path.read_text()
        return json_response({"clusterID": str(self.member.identity.cluster_id),
                              "files": files,
                              "clusterNetwork": {"clusterCIDR": self.cluster_cidr,
                                                 "serviceCIDR": self.service_cidr,
                                                 "loadBalancerCIDR": self.lb_cidr},
                              **self._membership()})

    async def add_member(self, request: web.Request) -> web.Response:
        store = self.member.store
        body = await _json_body(request)
        try:
            name = check_member_name(str(body.get("name", "")))
            record = MemberRecord(new_member_id(), name, str(body.get("peerURL", "")),
                                  str(body.get("apiURL", "")), str(body.get("etcdURL", "")))
            url_address(record.peer_url)
            url_address(record.api_url)
        except MemberRecordError as e:
            raise bad_request(str(e)) from None
        self._must_lead()
        for existing in self.member.records.values():
            if existing.name == name:
                raise ApiError(409, "AlreadyExists",
                               f"a member named {name} exists; remove it first "
                               f"(minikube-py member remove {name}) or pick another "
                               "--node-name", {"name": name, "kind": "members"})
        await self.member.register(record)
        try:
            await store.add_learner(record.id)
        except MembershipChangePendingError as e:
            await store.txn([], [DeleteOp(record.key)], [])
            raise service_unavailable(f"{e}; retry") from None
        except MembershipError as e:
            await store.txn([], [DeleteOp(record.key)], [])
            raise bad_request(str(e)) from None
        return json_response({"id": str(record.id), **self._membership()}, status=201)

    async def promote(self, request: web.Request) -> web.Response:
        try:
            member_id = int(request.match_info["id"])
        except ValueError:
            raise bad_request("a member id is a number") from None
        self._must_lead()
        try:
            await self.member.store.promote(member_id)
        except (LearnerNotReadyError, MembershipChangePendingError) as e:
            raise service_unavailable(f"{e}; retry") from None
        except MembershipError as e:
            raise bad_request(str(e)) from None
        return json_response(self._membership())

    # ---- for admins ---------------------------------------------------------------------

    async def list_members(self, request: web.Request) -> web.Response:
        return json_response(self._membership())

    async def remove(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = [r for r in self.member.records.values() if r.name == name]
        if not found:
            raise not_found("members", name)
        self._must_lead()
        record = found[0]
        if record.id == self.member.identity.member_id and self._other_voters():
            return await self._remove_self(record)
        try:
            await self.member.store.remove_member(record.id)
        except UnknownMemberError:
            pass  # a record left by an add that did not finish: drop the record only
        except MembershipChangePendingError as e:
            raise service_unavailable(f"{e}; retry") from None
        except MembershipError as e:
            raise bad_request(str(e)) from None
        await self.member.store.txn([], [DeleteOp(record.key)], [])
        return json_response(self._membership())

    async def _remove_self(self, record: MemberRecord) -> web.Response:
        """The leader asked to remove itself first hands leadership to the most caught-up
        other voter and has the new leader remove it: removed while leading, it would step
        down only once the change applied, and the others would wait out an election timeout
        before electing a new leader (etcd moves its leader away for the same reason)."""
        store = self.member.store
        try:
            moved = await store.transfer_leadership()
        except NotLeaderError:
            moved = False  # someone else leads already: ask it, below
        if not moved and store.is_leader:
            raise service_unavailable(
                f"member {record.name} leads and could not hand leadership to another voter "
                "(none caught up?); retry")
        leader = await self._next_leader(record.id)
        if leader is None:
            raise service_unavailable(
                f"member {record.name} handed leadership over, but no new leader is known yet; "
                "retry")
        try:
            answer = await request_tls(leader.api_url, "DELETE",
                                       f"{MEMBERS_PATH}/{record.name}", self.admin_tls)
        except ApiRefused as e:
            raise ApiError(e.status, "ServiceUnavailable" if e.status == 503 else "BadRequest",
                           f"the new leader {leader.name} refused: {e}") from None
        except JoinRefused as e:
            raise service_unavailable(f"the new leader {leader.name}: {e}; retry") from None
        return json_response(answer)

    async def _next_leader(self, me: int) -> MemberRecord | None:
        """The leader after a hand-over, once this member hears of it (None: not in time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEADER_KNOWN_WITHIN
        while loop.time() < deadline:
            leader = self.member.store.raft_position().leader
            if leader not in (NONE, me) and leader in self.member.records:
                return self.member.records[leader]
            await asyncio.sleep(0.01)
        return None

    def _other_voters(self) -> bool:
        me = self.member.identity.member_id
        return any(v != me for v in self.member.store.members().voters)

    # ---- helpers -----------------------------------------------------------------------

    def _must_lead(self) -> None:
        store = self.member.store
        if store.is_leader:
            return
        leader = store.raft_position().leader
        record = self.member.records.get(leader)
        if leader == NONE or record is None:
            raise service_unavailable("the cluster has no leader now; retry")
        raise NotLeaderError(f"member changes go to the leader: {record.name} at "
                             f"{record.api_url}")

    def _membership(self) -> dict[str, Any]:
        store = self.member.store
        members = store.members()
        position = store.raft_position()
        records = self.member.records
        rows = []
        for member_id in (*members.voters, *members.learners):
            record = records.get(member_id)
            progress = members.progress.get(member_id)
            rows.append({
                **(record.to_dict() if record else {"id": str(member_id), "name": ""}),
                "role": "leader" if member_id == members.leader else
                        "learner" if member_id in members.learners else "voter",
                "match": progress.match if progress else None,
                "lag": progress.lag if progress else None,
            })
        leader = records.get(members.leader)
        return {"members": rows, "leader": str(members.leader) if members.leader else "",
                "leaderAPI": leader.api_url if leader else "",
                "answeredBy": self.member.identity.name, "term": position.term,
                "commit": position.commit, "applied": position.applied,
                "voters": [str(v) for v in members.voters],
                "learners": [str(v) for v in members.learners]}


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as e:
        raise bad_request(f"the body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise bad_request("the body is a JSON object")
    return body
