"""etcd's v3 gRPC API (KV, Watch, Lease, Cluster, Maintenance) served from our store.

`EtcdServer(kv, host, port)` lets etcd tools (`etcdctl`, client libraries) read and write
the embedded store: `convert.py` maps between etcd's protobufs (the stubs shipped with the
`aetcd` package) and the store's types, `server.py` holds the servicers and the server.
"""
