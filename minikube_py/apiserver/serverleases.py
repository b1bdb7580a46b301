"""The API servers' own lease records in the store, under /registry/masterleases/ as
kube-apiserver keeps them: one key per server, written with a store lease of the record's
TTL, so a server that dies leaves no record behind once the store's lease lapses."""

from __future__ import annotations

import logging
import math

from minikube_py.api.leasedaddresses import (
    LeasedAddress,
    LeaseRecordError,
    ServedAddress,
    decode_record,
    encode_record,
)
from minikube_py.store.types import KV, LeaseNotFoundError, PutOp, prefix_end

log = logging.getLogger("minikube_py.apiserver")

PREFIX = b"/registry/masterleases/"


class ServerLeases:
    """This server's record (renew, remove) and everyone's (records)."""

    def __init__(self, kv: KV, holder: str, ttl: float) -> None:
        if not holder or "/" in holder:
            raise ValueError(f"a lease holder is a name without '/', not {holder!r}")
        if ttl <= 0:
            raise ValueError(f"a lease TTL is positive, not {ttl}")
        self.kv = kv
        self.holder = holder
        self.ttl = ttl
        self.key = PREFIX + holder.encode()
        self._lease = 0

    async def renew(self, served: ServedAddress, now: float) -> None:
        """Write this server's record afresh, under a new store lease; the previous lease
        (now holding nothing) is revoked, so leases do not pile up."""
        lease = await self.kv.lease_grant(math.ceil(self.ttl))
        record = LeasedAddress(self.holder, served, now, self.ttl)
        await self.kv.txn([], [PutOp(self.key, encode_record(record), lease=lease)], [])
        previous, self._lease = self._lease, lease
        if previous:
            await self._revoke(previous)

    async def remove(self) -> None:
        """Withdraw this server's record (a graceful stop)."""
        lease, self._lease = self._lease, 0
        if lease:
            await self._revoke(lease)  # deletes the key attached to it

    async def records(self) -> list[LeasedAddress]:
        res = await self.kv.range(PREFIX, prefix_end(PREFIX))
        found = []
        for kv in res.kvs:
            try:
                found.append(decode_record(kv.value))
            except LeaseRecordError as e:
                log.warning("ignoring %s: %s", kv.key.decode(errors="replace"), e)
        return found

    async def _revoke(self, lease: int) -> None:
        try:
            await self.kv.lease_revoke(lease)
        except LeaseNotFoundError:
            pass  # lapsed already
