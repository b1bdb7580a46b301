"""Addresses held under a TTL lease, as kube-apiserver's lease endpoint reconciler keeps them
(pkg/controlplane/reconcilers/lease.go): each server renews a record of its own; the
addresses a Service leads to are those whose record is still live. Pure: the caller gives
the records and the time."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass


class LeaseRecordError(ValueError):
    """A stored lease record that is not one (corrupt, or written by something else)."""


@dataclass(frozen=True, slots=True, order=True)
class ServedAddress:
    """Where one server answers: an IP address and a port."""

    address: str
    port: int


@dataclass(frozen=True, slots=True)
class LeasedAddress:
    """One server's record: who holds it, where it answers, when it was last renewed (epoch
    seconds, the writer's clock) and for how long a renewal keeps it live."""

    holder: str
    served: ServedAddress
    renewed_at: float
    ttl: float

    @property
    def expires_at(self) -> float:
        return self.renewed_at + self.ttl

    def live(self, now: float) -> bool:
        return now < self.expires_at


def encode_record(record: LeasedAddress) -> bytes:
    return json.dumps({"holder": record.holder, "address": record.served.address,
                       "port": record.served.port, "renewedAt": record.renewed_at,
                       "ttlSeconds": record.ttl}, sort_keys=True).encode()


def decode_record(value: bytes) -> LeasedAddress:
    try:
        raw = json.loads(value)
        record = LeasedAddress(str(raw["holder"]),
                               ServedAddress(str(raw["address"]), int(raw["port"])),
                               float(raw["renewedAt"]), float(raw["ttlSeconds"]))
    except (ValueError, TypeError, KeyError) as e:
        raise LeaseRecordError(f"not a lease record: {value[:80]!r}") from e
    if not (0 < record.served.port < 65536) or not math.isfinite(record.expires_at):
        raise LeaseRecordError(f"not a lease record: {value[:80]!r}")
    return record


def live_addresses(records: Iterable[LeasedAddress], now: float) -> list[ServedAddress]:
    """Where the live records lead, sorted and without repeats (two holders may share an
    address and port: one endpoint)."""
    return sorted({r.served for r in records if r.live(now)})


def desired_addresses(records: Iterable[LeasedAddress], now: float,
                      own: ServedAddress | None) -> list[ServedAddress] | None:
    """The addresses to publish, or None to publish nothing this round: a server that just
    renewed its own record and does not find it live reads a store (or a clock) it must not
    trust, and kube's reconciler refuses to rewrite the endpoints from such a listing."""
    live = live_addresses(records, now)
    if own is not None and own not in live:
        return None
    return live


def next_expiry(records: Iterable[LeasedAddress], now: float) -> float | None:
    """When the first live record lapses (None: none is live): the moment the published
    addresses next change unless someone renews."""
    return min((r.expires_at for r in records if r.live(now)), default=None)
