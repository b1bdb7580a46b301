"""A store that is one member of a cluster: the RaftStore, its peer transport, and the
registry that tells the transport where the other members are (async shell)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from minikube_py.members.records import (
    REGISTRY_PREFIX,
    MemberIdentity,
    MemberRecord,
    MemberRecordError,
    peer_addresses,
    registry_range_end,
)
from minikube_py.metrics.store import StoreMetrics
from minikube_py.store.node import RaftStore
from minikube_py.store.raft import NONE, ConfState
from minikube_py.store.transport import PeerTransport
from minikube_py.store.types import Event, EventType, PutOp, StoreError
from minikube_py.supervisor import FatalError
from minikube_py.tasks import ChildTaskFailed, TaskSet

log = logging.getLogger(__name__)

# A member every peer refuses as unknown, for this long without a leader, was removed.
REMOVED_AFTER = 5.0


class MemberRemovedError(StoreError):
    """This data dir belongs to a member the cluster removed."""


@dataclass(frozen=True, slots=True)
class MemberTiming:
    """Raft's clock, as etcd's flags: a heartbeat every `heartbeat_ms`, an election after
    `election_ms` without one (etcd: --heartbeat-interval 100, --election-timeout 1000)."""

    heartbeat_ms: int = 100
    election_ms: int = 1000

    def __post_init__(self) -> None:
        if self.heartbeat_ms <= 0 or self.election_ms < 5 * self.heartbeat_ms:
            raise ValueError(
                f"--election-timeout ({self.election_ms} ms) must be at least 5 heartbeat "
                f"intervals ({self.heartbeat_ms} ms)")

    @property
    def tick_interval(self) -> float:
        return self.heartbeat_ms / 1000

    @property
    def election_tick(self) -> int:
        return self.election_ms // self.heartbeat_ms


class StoreMember:
    """Start with `start()`, supervise `run()`, stop with `close()`.

    `voters`/`learners` are the membership a brand-new member starts from (a first member:
    itself; a joining one: the cluster's voters, itself a learner); `known` are the records
    it was given (a joining member learns them from the member that added it). From then on
    the store's own registry and membership decide."""

    def __init__(self, identity: MemberIdentity, store_dir: Path, *, peer_host: str,
                 peer_port: int, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext,
                 voters: tuple[int, ...], learners: tuple[int, ...] = (),
                 known: Mapping[int, MemberRecord] | None = None,
                 timing: MemberTiming = MemberTiming(),
                 metrics: StoreMetrics | None = None) -> None:
        self.identity = identity
        self._records: dict[int, MemberRecord] = dict(known or {})
        self._members: set[int] = {*voters, *learners}
        self.transport = PeerTransport(
            identity.member_id, identity.cluster_id, peer_host, peer_port, server_ssl,
            client_ssl, self._addresses(), self._on_message,
            on_snapshot_status=self._on_snapshot_status, members_loaded=bool(known))
        self.store = RaftStore(
            store_dir, member_id=identity.member_id, peers=voters, learners=learners,
            transport=self.transport, on_membership=self._on_membership,
            tick_interval=timing.tick_interval, election_tick=timing.election_tick,
            metrics=metrics)
        self._tasks = TaskSet(f"member-{identity.name}", logger=log)
        self.removed = False  # every peer refuses this member: it was removed
        # An applied membership held this member: a later one without it means removed.
        self._was_member = False
        self._removal_applied = asyncio.Event()

    def _on_message(self, message: object) -> None:
        self.store.receive(message)  # type: ignore[arg-type]

    def _on_snapshot_status(self, member: int, ok: bool) -> None:
        # without it, a leader whose snapshot to `member` was cut off would never resend it
        self.store.report_snapshot(member, ok)

    def _addresses(self) -> dict[int, tuple[str, int]]:
        return peer_addresses(self._records, self._members, self.identity.member_id)

    def _on_membership(self, conf: ConfState) -> None:
        self._members = {*conf.voters, *conf.learners}
        self.transport.update_peers(self._addresses())
        if self.identity.member_id in self._members:
            # not the membership a new member starts from (nothing applied yet): a log
            # replayed from its start may then hold memberships from before this one joined
            if self.store.raft_position().applied > 0:
                self._was_member = True
        elif self._was_member:
            # It applied its own removal: the others stop talking to it, and as a follower
            # that still knows its leader it would never find out from their refusals.
            self._removal_applied.set()

    @property
    def records(self) -> dict[int, MemberRecord]:
        return dict(self._records)

    async def start(self) -> None:
        await self.transport.start()
        try:
            await self.store.start()
            revision = await self._load_registry()
        except BaseException:
            await self.transport.close()
            raise
        self._tasks.spawn("registry", self._follow_registry(revision), critical=True)
        self._tasks.spawn("removal", self._watch_for_removal(), critical=True)

    async def until_caught_up(self, timeout: float) -> None:
        """Return once this member hears a leader and has applied what the cluster had
        committed (a linearizable read succeeds); StoreError naming why after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.removed:
                raise MemberRemovedError(removed_message(self.identity.name))
            try:
                await self.store.range(REGISTRY_PREFIX, registry_range_end(), count_only=True)
                return
            except StoreError as e:
                if loop.time() >= deadline:
                    raise StoreError(f"no answer from the cluster's leader within {timeout:.0f} "
                                     f"s ({e}); are a majority of its members running and "
                                     "reachable at their peer ports?") from None
            await asyncio.sleep(0.05)

    def promote_when_caught_up(self, request: Callable[[int], Awaitable[None]],
                               on_done: Callable[[], None]) -> None:
        """While this member is a learner, ask the leader (through `request(leader_id)`)
        to promote it; the leader refuses until it has caught up, so ask again."""
        async def promote() -> None:
            me = self.identity.member_id
            while me not in self.store.members().voters:
                leader = self.store.raft_position().leader
                if leader != NONE and leader != me:
                    try:
                        await request(leader)
                    except Exception as e:  # refused for now (not caught up, no leader)
                        log.info("member %s: not promoted yet: %s", self.identity.name, e)
                await asyncio.sleep(0.5)
            on_done()
        self._tasks.spawn("promotion", promote())

    async def register(self, record: MemberRecord) -> None:
        """Write (or rewrite: a member restarted with new addresses) a member's record."""
        await self.store.txn([], [PutOp(record.key, record.encode())], [])

    async def _load_registry(self) -> int:
        result = await self.store.range(REGISTRY_PREFIX, registry_range_end(),
                                        serializable=True)
        for kv in result.kvs:
            self._take(kv.key, kv.value)
        self.transport.update_peers(self._addresses())
        self.transport.members_loaded = True
        return result.revision

    def _take(self, key: bytes, value: bytes) -> None:
        try:
            record = MemberRecord.decode(value)
        except MemberRecordError as e:
            log.warning("ignoring the member record %r: %s", key, e)
            return
        self._records[record.id] = record

    async def _follow_registry(self, revision: int) -> None:
        watcher = self.store.watch(REGISTRY_PREFIX, registry_range_end(),
                                   start_revision=revision + 1)
        try:
            async for events in watcher:
                for event in events:
                    self._take_event(event)
                self.transport.update_peers(self._addresses())
        finally:
            watcher.close()

    def _take_event(self, event: Event) -> None:
        if event.type is EventType.PUT:
            self._take(event.kv.key, event.kv.value)
            return
        for member_id, record in list(self._records.items()):
            if record.key == event.kv.key:
                del self._records[member_id]

    async def _watch_for_removal(self) -> None:
        """A removed member hears nothing from the others any more (they refuse it), so it
        learns it was removed from their refusals (etcd: "the member has been permanently
        removed from the cluster")."""
        refused_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._removal_applied.wait(), 0.5)
            if self._removal_applied.is_set():
                self.removed = True
                raise MemberRemovedError(removed_message(self.identity.name))
            stats = self.transport.stats()
            raft_lead = self.store.raft_position().leader
            everyone_refuses = bool(stats) and all(
                s.last_error is not None and "is not a known member" in s.last_error
                for s in stats.values())
            if raft_lead != NONE or not everyone_refuses:
                refused_since = None
                continue
            if refused_since is None:
                refused_since = loop.time()
            elif loop.time() - refused_since >= REMOVED_AFTER:
                self.removed = True
                raise MemberRemovedError(removed_message(self.identity.name))

    async def run(self) -> NoReturn:
        """Raise once the store or one of the member's loops cannot go on (FatalError)."""
        store = asyncio.ensure_future(self.store.run())
        own = asyncio.ensure_future(self._tasks.wait_failure())
        try:
            await asyncio.wait([store, own], return_when=asyncio.FIRST_COMPLETED)
            if store.done():
                store.result()
            try:
                own.result()
            except ChildTaskFailed as e:
                if isinstance(e.cause, MemberRemovedError):
                    raise FatalError(str(e.cause)) from None
                raise
        finally:
            store.cancel()
            own.cancel()
        raise AssertionError("a member's loops ended without an error")

    async def close(self) -> None:
        await self._tasks.close()
        await self.store.close()
        await self.transport.close()


def removed_message(name: str) -> str:
    return (f"member {name} was removed from the cluster (`minikube-py member remove`): its "
            "peers refuse it. To make this machine a member again, start it on a new data "
            "dir with --server and --token")
