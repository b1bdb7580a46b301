"""The embedded store's instruments, in etcd's names: WAL fsync latency, and the Raft
member's state read at scrape time (leader, term, committed and applied index, size)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from minikube_py.metrics import ScrapeCollector

# etcd's buckets: 1 ms doubling to about 8 s.
FSYNC_BUCKETS = tuple(0.001 * 2 ** i for i in range(14))


@dataclass(frozen=True, slots=True)
class MemberState:
    """What a store member shows at a scrape."""

    leader: int  # 0: none known
    is_leader: bool
    is_learner: bool
    term: int
    committed: int
    applied: int
    leader_changes: int
    size_bytes: int  # its files on disk (WAL segments and snapshots)


class StoreMetrics:
    """Made once per control plane on its registry; shown only once a store member uses
    them (`follow`): with an external etcd there is none, and etcd shows its own.
    `observe_fsync` is called from the thread that synced (the histogram locks)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._fsyncs = Histogram(
            "etcd_disk_wal_fsync_duration_seconds", "The latency distributions of fsync "
            "called by WAL.", buckets=FSYNC_BUCKETS, registry=None)
        self._registry = registry
        self._state: Callable[[], MemberState | None] | None = None

    def observe_fsync(self, seconds: float) -> None:
        self._fsyncs.observe(seconds)

    def follow(self, state: Callable[[], MemberState | None]) -> None:
        """From now on, show these metrics and the member's state read from `state()` at
        each scrape (None: it is not running)."""
        if self._state is None:
            self._registry.register(self._fsyncs)
            self._registry.register(ScrapeCollector(self._member_families))
        self._state = state

    def _member_families(self) -> Iterable[Metric]:
        return member_families(self._state() if self._state is not None else None)


def member_families(state: MemberState | None) -> Iterable[Metric]:
    if state is None:
        return []
    gauges = (
        ("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is "
         "not.", int(state.leader != 0)),
        ("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 "
         "otherwise.", int(state.is_leader)),
        ("etcd_server_is_learner", "Whether or not this member is a learner. 1 if is, 0 "
         "otherwise.", int(state.is_learner)),
        # etcd has no metric of the term; this one is ours.
        ("etcd_server_term", "The Raft term this member is in.", state.term),
        # Gauges in etcd despite the suffix: the member's commit and applied index.
        ("etcd_server_proposals_committed_total", "The total number of consensus proposals "
         "committed.", state.committed),
        ("etcd_server_proposals_applied_total", "The total number of consensus proposals "
         "applied.", state.applied),
        ("etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database "
         "physically allocated in bytes.", state.size_bytes),
    )
    families: list[Metric] = [GaugeMetricFamily(name, doc, value=value)
                              for name, doc, value in gauges]
    families.append(CounterMetricFamily(
        "etcd_server_leader_changes_seen", "The number of leader changes seen.",
        value=state.leader_changes))
    size = GaugeMetricFamily(
        "apiserver_storage_db_total_size_in_bytes", "Total size of the storage database "
        "file physically allocated in bytes.", labels=("endpoint",))
    size.add_metric(("embedded",), state.size_bytes)
    families.append(size)
    return families
