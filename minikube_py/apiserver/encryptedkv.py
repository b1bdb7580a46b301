"""The KV the API server is given: Secret values are encrypted on their way into the store
and decrypted on their way out; every other key passes through untouched.

Why a KV wrapper (kube-apiserver transforms values at the same place, in its etcd3
storage layer): every read and write of the API server goes through the one KV it holds,
the watch fan-out's store watch included, so the verbs, the watch cache and the
byte-splicing fast paths (`storage.with_revision`) keep seeing plain JSON, while the store
below, its Raft log, WAL and snapshots, only ever holds ciphertext: a value is encrypted
before it is proposed. The store stays ignorant of what its keys mean.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator

from minikube_py.api.errors import ApiError, internal
from minikube_py.apiserver.encryption import (
    DecryptionError,
    EncryptionConfig,
    ValueTransformer,
    stored_under,
)
from minikube_py.store.types import (
    KV,
    Compare,
    CompareOp,
    CompareTarget,
    DeleteOp,
    DeleteResult,
    Event,
    KeyValue,
    Op,
    OpResult,
    PutOp,
    PutResult,
    RangeOp,
    RangeResult,
    TxnResult,
    WatchStream,
    prefix_end,
)

log = logging.getLogger(__name__)

SECRETS = b"/registry/secrets/"
SECRETS_END = prefix_end(SECRETS)
_PAGE = 500


class StaleKeyValue(KeyValue):
    """A Secret read from plain text or under a key other than the one that writes now.
    The object store rewrites it even when an update changes nothing (kube's `stale`), so
    kube's recipe, `kubectl get secrets -A -o json | kubectl replace -f -`, re-encrypts."""

    __slots__ = ()


def is_stale(kv: KeyValue) -> bool:
    return type(kv) is StaleKeyValue


def touches_secrets(key: bytes, range_end: bytes = b"") -> bool:
    """Whether the key, or the range [key, range_end), reaches into the Secrets."""
    if not range_end:
        return key.startswith(SECRETS)
    return key < SECRETS_END and (range_end == b"\x00" or range_end > SECRETS)


def unreadable(key: bytes, error: DecryptionError) -> ApiError:
    """kube's answer for a value its transformers cannot read: 500, naming the key."""
    return internal(f'Internal error occurred: unable to transform key "{key.decode()}": '
                    f"{error}")


class EncryptingKV:
    """A KV over `inner` that keeps every value under /registry/secrets/ encrypted there."""

    def __init__(self, inner: KV, transformer: ValueTransformer) -> None:
        self.inner = inner
        self.transformer = transformer
        # Watches may deliver events written just before a rotation removed their key (the
        # fan-out reads behind the store): they decrypt with every key this process held.
        self._event_reader = transformer
        # Secret writes in flight, by the generation of the transformer that encrypted them.
        self._generation = 0
        self._writing: collections.Counter[int] = collections.Counter()
        self._write_ended = asyncio.Event()

    def use(self, transformer: ValueTransformer) -> None:
        """Write (and read) with `transformer` from now on."""
        known = {k.name: k for k in self._event_reader.config.keys}
        known.update({k.name: k for k in transformer.config.keys})
        self._event_reader = ValueTransformer(
            EncryptionConfig(tuple(known.values()), read_plain_text=True), _no_nonces)
        self.transformer = transformer
        self._generation += 1

    # --- the KV protocol -----------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self.inner.revision

    @property
    def compact_revision(self) -> int:
        return self.inner.compact_revision

    async def range(self, key: bytes, range_end: bytes = b"", *, revision: int = 0,
                    limit: int = 0, count_only: bool = False) -> RangeResult:
        res = await self.inner.range(key, range_end, revision=revision, limit=limit,
                                     count_only=count_only)
        if not res.kvs or not touches_secrets(key, range_end):
            return res
        return RangeResult(self._read_all(res.kvs), res.count, res.more, res.revision)

    async def txn(self, compares: list[Compare], success: list[Op],
                  failure: list[Op]) -> TxnResult:
        if not any(_op_touches(op) for op in (*success, *failure)):
            return await self.inner.txn(compares, success, failure)
        for c in compares:
            if c.target is CompareTarget.VALUE and c.key.startswith(SECRETS):
                raise ValueError(f"cannot compare the value of {c.key!r}: it is stored "
                                 "encrypted (compare its mod revision)")
        generation = self._generation
        self._writing[generation] += 1
        try:
            res = await self.inner.txn(compares, [self._write(op) for op in success],
                                       [self._write(op) for op in failure])
        finally:
            self._writing[generation] -= 1
            if not self._writing[generation]:
                del self._writing[generation]
                self._write_ended.set()
        return TxnResult(res.succeeded, res.revision, [self._result(r) for r in res.responses])

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)

    async def lease_grant(self, ttl_seconds: int) -> int:
        return await self.inner.lease_grant(ttl_seconds)

    async def lease_revoke(self, lease_id: int) -> None:
        await self.inner.lease_revoke(lease_id)

    def watch(self, key: bytes, range_end: bytes = b"", *, start_revision: int = 0,
              prev_kv: bool = False) -> WatchStream:
        stream = self.inner.watch(key, range_end, start_revision=start_revision,
                                  prev_kv=prev_kv)
        if not touches_secrets(key, range_end):
            return stream
        return _DecryptingWatch(stream, self)

    # --- rotation's part -----------------------------------------------------------------

    async def reencrypt(self) -> int:
        """Rewrite every Secret that is not stored as the current transformer writes; returns
        how many. Writes encrypted before the last `use()` finish first, so the scan sees
        them; a Secret written during the scan is under the current key already, so a
        rewrite that loses its compare-and-swap is left alone."""
        generation = self._generation
        while any(g < generation for g in self._writing):
            self._write_ended.clear()
            await self._write_ended.wait()
        rewritten = 0
        start = SECRETS
        while True:
            res = await self.inner.range(start, SECRETS_END, limit=_PAGE)
            for kv in res.kvs:
                if await self._reencrypt(kv):
                    rewritten += 1
            if not res.more or not res.kvs:
                return rewritten
            start = res.kvs[-1].key + b"\0"

    async def _reencrypt(self, kv: KeyValue) -> bool:
        try:
            value, stale = self.transformer.from_storage(kv.key, kv.value)
        except DecryptionError as e:
            raise unreadable(kv.key, e) from None
        if not stale:
            return False
        put = PutOp(kv.key, self.transformer.to_storage(kv.key, value), lease=kv.lease)
        res = await self.inner.txn(
            [Compare(kv.key, CompareTarget.MOD, CompareOp.EQUAL, kv.mod_revision)], [put], [])
        return res.succeeded

    # --- transforming ----------------------------------------------------------------------

    def _read_all(self, kvs: list[KeyValue]) -> list[KeyValue]:
        """The Secrets among `kvs` decrypted, those to rewrite marked stale; 500 naming
        the key for one that cannot be read."""
        out = []
        for kv in kvs:
            if not kv.key.startswith(SECRETS):
                out.append(kv)
                continue
            try:
                value, stale = self.transformer.from_storage(kv.key, kv.value)
            except DecryptionError as e:
                raise unreadable(kv.key, e) from None
            cls = StaleKeyValue if stale else KeyValue
            out.append(cls(kv.key, value, kv.create_revision, kv.mod_revision, kv.version,
                           kv.lease))
        return out

    def _write(self, op: Op) -> Op:
        if isinstance(op, PutOp) and op.key.startswith(SECRETS):
            return PutOp(op.key, self.transformer.to_storage(op.key, op.value), op.lease,
                         op.prev_kv)
        return op

    def _result(self, res: OpResult) -> OpResult:
        if isinstance(res, RangeResult):
            return RangeResult(self._read_all(res.kvs), res.count, res.more, res.revision)
        if isinstance(res, PutResult):
            if res.prev_kv is None:
                return res
            return PutResult(res.revision, self._read_all([res.prev_kv])[0])
        return DeleteResult(res.revision, res.deleted, self._read_all(res.prev_kvs))

    def event(self, ev: Event) -> Event:
        """An event with its values decrypted (raises DecryptionError)."""
        if not ev.kv.key.startswith(SECRETS):
            return ev
        prev = None if ev.prev_kv is None else self._decrypted(ev.prev_kv)
        return Event(ev.type, self._decrypted(ev.kv), prev)

    def _decrypted(self, kv: KeyValue) -> KeyValue:
        if not kv.value:  # a deletion's
            return kv
        value = self._event_reader.from_storage(kv.key, kv.value).value
        return KeyValue(kv.key, value, kv.create_revision, kv.mod_revision, kv.version,
                        kv.lease)


async def secrets_census(kv: KV) -> dict[str | None, int]:
    """How many Secrets in `kv` (the store itself) each key holds: None counts plain text;
    another provider's values count under its prefix."""
    counts: collections.Counter[str | None] = collections.Counter()
    start = SECRETS
    while True:
        res = await kv.range(start, SECRETS_END, limit=_PAGE)
        for item in res.kvs:
            counts[stored_under(item.value)] += 1
        if not res.more or not res.kvs:
            return dict(counts)
        start = res.kvs[-1].key + b"\0"


def _no_nonces(size: int) -> bytes:
    raise AssertionError("the watches' transformer only decrypts")


def _op_touches(op: Op) -> bool:
    if isinstance(op, PutOp):
        return op.key.startswith(SECRETS)
    if isinstance(op, RangeOp | DeleteOp):
        return touches_secrets(op.key, op.range_end)
    return False


class _DecryptingWatch:
    """A store watch whose Secret events come decrypted. An event that cannot be (a value
    under a key this process never held) is dropped with an error naming it, rather than
    ending the watch: the fan-out behind every API watch must not stop for one Secret."""

    def __init__(self, stream: WatchStream, kv: EncryptingKV) -> None:
        self._stream = stream
        self._batches = stream.__aiter__()
        self._kv = kv

    def __aiter__(self) -> AsyncIterator[list[Event]]:
        return self

    async def __anext__(self) -> list[Event]:
        batch = await self._batches.__anext__()
        out = []
        for ev in batch:
            try:
                out.append(self._kv.event(ev))
            except DecryptionError as e:
                log.error("a watch event of %s (revision %d) was dropped: %s",
                          ev.kv.key.decode(errors="replace"), ev.kv.mod_revision, e)
        return out

    def close(self) -> None:
        self._stream.close()
