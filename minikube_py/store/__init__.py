"""The embedded datastore (etcd's role): MVCC key-value state on a Raft log with a WAL.

Construct a store and use it through the `KV` protocol in `types.py`:
`MemoryKV()` (from `minikube_py.store.memory`; keyword-only `clock=`, `rng=`) is
ready at once, keeps everything in memory and needs `await kv.close()` at the end.
`RaftStore(data_dir, member_id=1, peers=None, clock=..., rng=...)` (from
`minikube_py.store.node`) is the durable one: `await store.start()` recovers from
`data_dir` and elects itself, after which writes are acknowledged only once
fsynced; `await store.close()` stops it. Both give `range`, `txn`, `compact`,
`lease_grant`, `lease_revoke`, `lease_keepalive` and `watch` (an async iterator
of event batches whose first iteration raises CompactedError if its start
revision is compacted). Revisions start at 1, so the first write is revision 2.
"""
