"""Leader election on a Lease through the real API service: one leader at a time; another
takes over only once the holder has been silent for a lease duration (by its own clock); a
holder that cannot renew stops leading within its renew deadline."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import LEASES
from minikube_py.apiserver.service import ApiService
from minikube_py.client.leaderelection import (
    ElectionTiming,
    LeaderElector,
    Observed,
    may_take,
)
from tests.conditions import until

FAST = ElectionTiming(lease_duration=0.6, renew_deadline=0.4, retry_period=0.05)


def test_who_may_take_the_lease() -> None:
    assert may_take(None, "me", 0.0, 15)
    assert may_take(Observed("", "1", 0.0), "me", 0.0, 15)  # released
    assert may_take(Observed("me", "1", 0.0), "me", 0.0, 15)  # renewing our own
    assert not may_take(Observed("other", "1", 0.0), "me", 14.9, 15)
    assert may_take(Observed("other", "1", 0.0), "me", 15.0, 15)
    with pytest.raises(ValueError):
        ElectionTiming(lease_duration=10, renew_deadline=10, retry_period=2)


class Candidate:
    def __init__(self, api: Any, name: str) -> None:
        self.elector = LeaderElector(api, "loops", name, timing=FAST)
        self.leading = asyncio.Event()
        self.stopped_leading = asyncio.Event()
        self.task = asyncio.ensure_future(self.elector.run(self._lead))

    async def _lead(self) -> None:
        self.leading.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.leading.clear()
            self.stopped_leading.set()

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class Flaky:
    """The API as a candidate sees it: cut off on demand (every call 503)."""

    def __init__(self, api: ApiService) -> None:
        self.api = api
        self.cut = False

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.api, name)

        async def maybe(*args: Any, **kwargs: Any) -> Any:
            if self.cut:
                raise ApiError(503, "ServiceUnavailable", "cut off")
            return await call(*args, **kwargs)
        return maybe


async def test_one_leader_and_a_takeover_after_the_lease_runs_out(api: ApiService) -> None:
    a = Candidate(api, "a_1")
    await asyncio.wait_for(a.leading.wait(), 5)
    b = Candidate(api, "b_1")
    try:
        lease = await api.get(LEASES, "loops", namespace="kube-system")
        assert lease["spec"]["holderIdentity"] == "a_1"
        assert lease["spec"]["leaseDurationSeconds"] == 1 and lease["spec"]["renewTime"]
        # b waits while a renews: for a few lease durations it never leads
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(b.leading.wait(), 3 * FAST.lease_duration)
        await a.stop()
        await asyncio.wait_for(b.leading.wait(), 5)
        lease = await api.get(LEASES, "loops", namespace="kube-system")
        assert lease["spec"]["holderIdentity"] == "b_1"
        assert lease["spec"]["leaseTransitions"] == 1
    finally:
        await a.stop()
        await b.stop()


async def test_a_holder_that_cannot_renew_stops_leading(api: ApiService) -> None:
    flaky = Flaky(api)
    a = Candidate(flaky, "a_1")
    await asyncio.wait_for(a.leading.wait(), 5)
    b = Candidate(api, "b_1")
    try:
        flaky.cut = True
        await asyncio.wait_for(a.stopped_leading.wait(), 5)
        await asyncio.wait_for(b.leading.wait(), 5)
        # never both: a stopped before b could take the lease (renew deadline < duration)
        await until(lambda: not a.leading.is_set(), "a to have stopped")
        flaky.cut = False
        with pytest.raises(TimeoutError):  # b renews: a never leads again meanwhile
            await asyncio.wait_for(a.leading.wait(), 3 * FAST.lease_duration)
    finally:
        await a.stop()
        await b.stop()
