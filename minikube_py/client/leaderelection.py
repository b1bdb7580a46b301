"""Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it for
kube-controller-manager and kube-scheduler: one holder at a time among several processes that
meet only through the API.

The rules (client-go's): a candidate takes the Lease when nobody holds it, or when the
record it observed has not changed for `lease_duration` *by its own clock* (the holder's
timestamps are never compared with ours: clocks differ across machines); the holder renews
every `retry_period`, and gives up leading when it could not renew for `renew_deadline`
(shorter than the lease duration, so it stops before another can take over). Writes carry
the resourceVersion read, so two candidates never both win one round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import LEASES
from minikube_py.api.timefmt import micro_time
from minikube_py.client.interface import ApiClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ElectionTiming:
    lease_duration: float = 15.0  # kube's defaults
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError("leader election needs retry period < renew deadline < lease "
                             "duration")


@dataclass(frozen=True, slots=True)
class Observed:
    """The holder and resourceVersion last read, and when (our clock) the record changed."""

    holder: str
    resource_version: str
    changed_at: float


def may_take(observed: Observed | None, me: str, now: float, lease_duration: float) -> bool:
    """Whether `me` may write itself into the Lease now (pure)."""
    if observed is None or not observed.holder or observed.holder == me:
        return True
    return now - observed.changed_at >= lease_duration


class LeaderElector:
    """`run(lead)` campaigns, runs `lead()` while holding the Lease, and campaigns again when
    leadership is lost (`lead` is cancelled then: kube's components exit instead; here the
    process goes on serving the API). An error of `lead` itself propagates."""

    def __init__(self, client: ApiClient, name: str, identity: str, *,
                 namespace: str = "kube-system", timing: ElectionTiming = ElectionTiming(),
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self._client = client
        self._name = name
        self._namespace = namespace
        self.identity = identity
        self._timing = timing
        self._clock = clock
        self._wall = wall
        self._observed: Observed | None = None
        self.leading = False

    async def run(self, lead: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        while True:
            await self._acquire()
            log.info("%s: %s leads (Lease %s/%s)", self._name, self.identity, self._namespace,
                     self._name)
            self.leading = True
            task = asyncio.ensure_future(lead())
            renew = asyncio.ensure_future(self._keep_renewing())
            try:
                await asyncio.wait([task, renew], return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    task.result()  # lead() failed (or ended: a bug): the owner is told
                    raise RuntimeError(f"{self._name}: the leader's work ended")
            finally:
                self.leading = False
                for t in (task, renew):
                    t.cancel()
                for t in (task, renew):
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
            log.warning("%s: %s lost the Lease (no renewal for %.0f s); campaigning again",
                        self._name, self.identity, self._timing.renew_deadline)

    async def _acquire(self) -> None:
        """Campaign every retry period until the Lease is ours (a timer, not a condition:
        the holder's silence is what is waited for)."""
        while True:
            if await self._try_acquire_or_renew():
                return
            await asyncio.sleep(self._timing.retry_period)

    async def _keep_renewing(self) -> None:
        """Return (leadership lost) once no renewal has succeeded for `renew_deadline`,
        counted from when the last successful attempt began (its write may have committed
        at once, and others count the lease from what they saw): every attempt is cut off
        at that deadline, as client-go's renew loop does."""
        last_renewed = self._clock()
        while True:
            left = last_renewed + self._timing.renew_deadline - self._clock()
            if left <= 0:
                return
            await asyncio.sleep(min(self._timing.retry_period, left))
            began = self._clock()
            left = last_renewed + self._timing.renew_deadline - began
            if left <= 0:
                return
            try:
                renewed = await asyncio.wait_for(self._try_acquire_or_renew(), left)
            except TimeoutError:
                return
            if renewed:
                last_renewed = began

    async def _try_acquire_or_renew(self) -> bool:
        now = self._wall()
        try:
            lease: dict[str, Any] | None = await self._client.get(
                LEASES, self._name, namespace=self._namespace)
        except ApiError as e:
            if e.code != 404:
                log.info("%s: reading the Lease: %s", self._name, e)
                return False
            lease = None
        if lease is None:
            return await self._write(None, self._spec(None, now))
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        rv = str(lease["metadata"].get("resourceVersion", ""))
        if self._observed is None or self._observed.resource_version != rv:
            self._observed = Observed(holder, rv, self._clock())
        if not may_take(self._observed, self.identity, self._clock(),
                        self._timing.lease_duration):
            return False
        return await self._write(lease, self._spec(spec, now))

    def _spec(self, current: dict[str, Any] | None, now: float) -> dict[str, Any]:
        current = current or {}
        ours = current.get("holderIdentity") == self.identity
        transitions = int(current.get("leaseTransitions") or 0)
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self._timing.lease_duration)),
            "acquireTime": current.get("acquireTime") if ours else micro_time(now),
            "renewTime": micro_time(now),
            "leaseTransitions": transitions if ours or not current else transitions + 1,
        }

    async def _write(self, lease: dict[str, Any] | None, spec: dict[str, Any]) -> bool:
        try:
            if lease is None:
                written = await self._client.create(LEASES, {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self._name, "namespace": self._namespace},
                    "spec": spec}, namespace=self._namespace)
            else:
                written = await self._client.update(
                    LEASES, {**lease, "spec": spec}, namespace=self._namespace)
        except ApiError as e:  # another candidate won the round (409), or no store now
            log.debug("%s: writing the Lease: %s", self._name, e)
            return False
        self._observed = Observed(self.identity,
                                  str(written["metadata"].get("resourceVersion", "")),
                                  self._clock())
        return True
