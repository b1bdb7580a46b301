"""StatefulSet decisions: ordered and parallel creation, scale down, rolling update."""

from __future__ import annotations

import pytest

from minikube_py.controllers.statefulset import SetPlan, SetPod, parse_ordinal, plan_statefulset


def pods(*specs: str, revision: str = "r1") -> dict[int, SetPod]:
    """"0" ready, "1?" not ready, "2x" terminating, "3!" failed, "4@r0" ready at r0."""
    out = {}
    for s in specs:
        rev = revision
        if "@" in s:
            s, rev = s.split("@")
        ordinal = int(s.rstrip("?x!"))
        out[ordinal] = SetPod(ordinal, f"web-{ordinal}", rev,
                              running_ready=not s.endswith(("?", "x", "!")),
                              terminating=s.endswith("x"), failed=s.endswith("!"))
    return out


def plan(existing: dict[int, SetPod], replicas: int, **kw: object) -> SetPlan:
    args: dict[str, object] = {"current_revision": "r1", "update_revision": "r1"}
    args.update(kw)
    return plan_statefulset(existing, replicas=replicas, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(("existing", "replicas", "parallel", "create", "delete"), [
    (pods(), 3, False, [0], []),  # one at a time
    (pods("0?"), 3, False, [], []),  # wait for web-0 to be Running and Ready
    (pods("0"), 3, False, [1], []),
    (pods("0", "1"), 3, False, [2], []),
    (pods(), 3, True, [0, 1, 2], []),  # Parallel does not wait
    (pods("0?"), 3, True, [1, 2], []),
    (pods("0", "1", "2"), 1, False, [], ["web-2"]),  # highest ordinal first
    (pods("0", "1", "2x"), 1, False, [], []),  # wait for it to go
    (pods("0", "1"), 1, False, [], ["web-1"]),
    (pods("0", "1?", "2"), 1, False, [], []),  # not while another pod is unhealthy
    (pods("0", "1", "2"), 1, True, [], ["web-2", "web-1"]),
    (pods("0", "1!"), 2, False, [], ["web-1"]),  # a failed pod is replaced
    (pods("0", "2"), 3, False, [1], []),  # a hole is filled
])
def test_scaling(existing: dict[int, SetPod], replicas: int, parallel: bool, create: list[int],
                 delete: list[str]) -> None:
    got = plan(existing, replicas, parallel=parallel)
    assert [o for o, _ in got.create] == create
    assert got.delete == delete


@pytest.mark.parametrize(("existing", "partition", "delete"), [
    (pods("0", "1", "2"), 0, ["web-2"]),  # from the highest ordinal
    (pods("0", "1", "2@r2"), 0, ["web-1"]),
    (pods("0", "1?@r2", "2@r2"), 0, []),  # wait for the updated pod to be ready
    (pods("0", "1@r2", "2@r2"), 0, ["web-0"]),
    (pods("0@r2", "1@r2", "2@r2"), 0, []),
    (pods("0", "1", "2@r2"), 2, []),  # the partition keeps 0 and 1 at the old revision
    (pods("0", "1", "2"), 2, ["web-2"]),
])
def test_rolling_update(existing: dict[int, SetPod], partition: int, delete: list[str]) -> None:
    got = plan(existing, 3, partition=partition, update_revision="r2")
    assert got.create == []
    assert got.delete == delete


def test_on_delete_never_deletes_for_an_update() -> None:
    assert plan(pods("0", "1"), 2, rolling_update=False, update_revision="r2").delete == []


def test_ordinals_below_the_partition_are_created_at_the_current_revision() -> None:
    got = plan(pods("0", "1"), 4, partition=3, update_revision="r2", parallel=True)
    assert got.create == [(2, "r1"), (3, "r2")]


def test_ordinals_start_where_asked() -> None:
    assert [o for o, _ in plan(pods(), 2, start=5, parallel=True).create] == [5, 6]


@pytest.mark.parametrize(("pod_name", "ordinal"), [
    ("web-0", 0), ("web-12", 12), ("web-01", None), ("web-", None), ("webx-1", None),
    ("web-a", None), ("other-1", None),
])
def test_parse_ordinal(pod_name: str, ordinal: int | None) -> None:
    assert parse_ordinal("web", pod_name) == ordinal
