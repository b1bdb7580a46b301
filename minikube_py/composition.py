"""The composition root: builds every component of `serve`, wires them together, and runs
them under one supervisor with a readiness chain (store -> API server -> runtime -> node)."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import os
import secrets
import signal
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from minikube_py import __version__
from minikube_py.api.errors import ApiError
from minikube_py.apiserver.authn import (
    KUBE_CONTROLLER_MANAGER,
    KUBE_DNS,
    KUBE_PROXY,
    KUBE_SCHEDULER,
    UserInfo,
    node_user,
    standard_authenticators,
)
from minikube_py.apiserver.authz import AlwaysAllow
from minikube_py.apiserver.encryption import EncryptionConfigError
from minikube_py.apiserver.encryptionkeys import open_encryption
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.protocolerrors import ProtocolErrorLog
from minikube_py.apiserver.satokens import TokenIssuer
from minikube_py.apiserver.service import ApiService
from minikube_py.client.events import EventRecorder
from minikube_py.client.informer import InformerFactory
from minikube_py.client.interface import ApiClient
from minikube_py.client.leaderelection import LeaderElector
from minikube_py.clusterconfig import publish as publish_cluster_network
from minikube_py.clustersettings import (
    DEFAULT_DATA_DIR,
    EXTERNAL_DATASTORE_FILE,
    WILDCARD_HOSTS,
    RememberedDatastore,
    read_remembered_datastore,
    save_remembered,
    write_remembered_datastore,
)
from minikube_py.config import ServeConfig
from minikube_py.control import ControlServer, control_socket
from minikube_py.controllers.base import ControllerContext
from minikube_py.controllers.manager import build_controllers
from minikube_py.dns.server import ClusterDns
from minikube_py.encryption_commands import EXPECTED_ERRORS, control_commands
from minikube_py.gcsettings import settle_garbage_collector
from minikube_py.hostclaim import ClaimRefused
from minikube_py.hostnetwork import (
    NodeAddressMissing,
    claim_host_network,
    find_node_network,
    pod_routes,
    proxy_settings,
    set_up_host_network,
)
from minikube_py.joinagent import register_for_pod_cidr
from minikube_py.kubeconfig import KubeconfigCredentials, write_kubeconfig
from minikube_py.kubeconfigmerge import MergeRecord
from minikube_py.kubelet.auth import SubjectAccessReviews, TokenReviews
from minikube_py.kubelet.config import KubeletConfig
from minikube_py.kubelet.cri import CriClient
from minikube_py.kubelet.kubelet import Kubelet
from minikube_py.members.http import MemberEndpoints
from minikube_py.members.joining import ClusterKeys, add_member, fetch_cluster_keys, promote
from minikube_py.members.member import MemberTiming, StoreMember, removed_message
from minikube_py.members.records import (
    MemberIdentity,
    MemberRecord,
    MemberRecordError,
    https_url,
    new_member_id,
    read_identity,
    write_identity,
)
from minikube_py.metrics import new_registry
from minikube_py.metrics.controlplane import ControlPlaneMetrics
from minikube_py.metrics.kubelet import KubeletMetrics
from minikube_py.metrics.store import StoreMetrics
from minikube_py.nodebootstrap import JoinRefused
from minikube_py.pki.certs import CertSpec
from minikube_py.pki.cluster import (
    ADMIN,
    KUBELET_CLIENT,
    KeyPair,
    PkiLayout,
    api_server_spec,
    ensure_cluster_pki,
    kubelet_serving_spec,
    load_service_account_key,
    load_signing_ca,
    peer_spec,
)
from minikube_py.pki.jointoken import SERVER_TOKEN_GROUP
from minikube_py.pki.tls import client_context, grpc_server_context, server_context
from minikube_py.proxy.proxier import KubeProxy
from minikube_py.runtime.containerd import (
    ContainerdConfig,
    ContainerdProcess,
)
from minikube_py.runtime.images import ensure_builtin_images
from minikube_py.runtime.noderoute_controller import NodeRouteController
from minikube_py.scheduler.scheduler import Scheduler
from minikube_py.serve_reports import merge_user_kubeconfig, status_command
from minikube_py.simnode.simnode import SimulatedNodes, SimulatedNodeSpec
from minikube_py.startup import (
    Progress,
    StartupError,
    animate,
    lock_data_dir,
    ready_summary,
    start_unless_stopped,
    starting,
    until_ready,
)
from minikube_py.status_commands import STATUS
from minikube_py.store.node import RaftStore
from minikube_py.store.peer_identity import member_uri
from minikube_py.store.types import StoreError
from minikube_py.store.wal import WalCorruptError
from minikube_py.supervisor import Supervisor, TaskFailed
from minikube_py.tasks import TaskSet
from minikube_py.token_commands import ensure_join_token

if TYPE_CHECKING:
    # etcd's API, served or used only when asked for (--etcd-port, members,
    # --datastore-endpoint): imported there, since its protobufs are 2.5 MB of every serve.
    from minikube_py.etcdapi.etcdkv import EtcdKV
    from minikube_py.etcdapi.server import EtcdMember

log = logging.getLogger("minikube_py")

# How long serve waits for an external etcd's first answer before giving up.
DATASTORE_CONNECT_TIMEOUT = 5.0


@dataclass
class Cluster:
    """Handles to the running parts, for the CLI and for tests."""

    config: ServeConfig
    store: RaftStore | EtcdKV
    api: ApiService
    supervisor: Supervisor
    kubelet: Kubelet | None = None
    ready_seconds: float = 0.0
    join_token: str = ""
    member: StoreMember | None = None


async def start_cluster(config: ServeConfig, progress: Progress) -> Cluster:
    """Start everything, in readiness order; on failure, stop what already started."""
    sup = Supervisor()
    try:
        return await _start(config, progress, sup)
    except BaseException:
        await sup.shutdown()
        raise


async def _start(config: ServeConfig, progress: Progress, sup: Supervisor) -> Cluster:
    if config.containerd_socket is None and os.geteuid() != 0:
        raise StartupError("serve needs root: it starts containerd and sets up the pod "
                           "network (run it with sudo)")
    lock_data_dir(sup, config.data_dir)
    # A cluster shapes the host network unless it uses a foreign containerd (whose pod network
    # is not ours); without a node (--no-node) it keeps only routes, no bridge.
    own_network = config.containerd_socket is None and config.run_node
    try:
        async with starting("the pod bridge"):
            claim = await claim_host_network(config.cluster, config.data_dir,
                                             own_network=own_network)
    except ClaimRefused as e:
        raise StartupError(str(e)) from e
    progress.step(f"minikube-py {__version__}: starting a cluster in {config.data_dir}")

    pki = config.pki
    store_dir = config.data_dir / "store"
    try:
        identity = read_identity(store_dir)
    except MemberRecordError as e:
        raise StartupError(str(e)) from e
    joining: ClusterKeys | None = None
    if identity is None and (config.cluster_init or config.server_url) and \
            (external := read_remembered_datastore(config.data_dir)) is not None:
        raise StartupError(
            f"{config.data_dir} holds a cluster kept in etcd at {external.endpoints}: "
            "--cluster-init and --server make members of the embedded store (start without "
            "them, or use another --data-dir)")
    if identity is None and config.server_url and store_dir.is_dir() \
            and any(store_dir.iterdir()):
        raise StartupError(
            f"{config.data_dir} holds a store of its own cluster: a member joins on a new data "
            "dir (--data-dir), or `minikube-py delete` this one first")
    if identity is None and config.server_url:
        async with starting(f"fetching the cluster's keys from {config.server_url}"):
            try:
                joining = await fetch_cluster_keys(config.server_url, config.join_token, pki)
            except JoinRefused as e:
                raise StartupError(str(e)) from e
        # The cluster's ranges are the cluster's, not this member's flags.
        config = dataclasses.replace(
            config, service_cidr=joining.service_cidr or config.service_cidr,
            controllers=dataclasses.replace(
                config.controllers,
                cluster_cidr=joining.cluster_cidr or config.controllers.cluster_cidr,
                lb_cidr=joining.lb_cidr or config.controllers.lb_cidr))
        progress.step(f"fetched the keys of cluster {joining.cluster_id:#x}")
    elif identity is None and config.cluster_init:
        identity = _first_member(config, store_dir)
    async with starting("the cluster's certificates", progress):
        made = await asyncio.to_thread(
            ensure_cluster_pki, pki,
            cluster_certificates(config),
            datetime.now(UTC))
    _report_certificates(progress, pki, made)

    member: StoreMember | None = None
    store: RaftStore | EtcdKV
    purge: Callable[[], Awaitable[None]] | None
    # What the API server's /metrics shows: the store's (if embedded), its own, the
    # scheduler's and the controllers' work queues, the process's.
    metrics = ControlPlaneMetrics()
    if joining is None and identity is None:
        store, purge = await open_datastore(config, sup, progress, store_metrics=metrics.store)
    else:
        member = await _start_member(config, progress, sup, identity, joining, metrics)
        store, purge = member.store, member.store.purge_history

    # The API server reads and writes through the encryption: the store holds Secrets
    # encrypted (apiserver/encryptedkv.py says why there).
    try:
        encryption, notes = await open_encryption(config.data_dir, store, purge=purge)
    except EncryptionConfigError as e:
        raise StartupError(f"encryption of Secrets: {e}") from e
    for note in notes:
        progress.step(note)
    sa_key = await asyncio.to_thread(load_service_account_key, pki)
    api = ApiService(encryption.kv, service_cidr=config.service_cidr,
                     token_issuer=TokenIssuer(sa_key.private_key, clock=time.time),
                     kubelet_tls=client_context(pki.ca.cert, pki.kubelet_client),
                     pod_security=config.pod_security,
                     authorizers=[AlwaysAllow()] if config.authorization_mode == "AlwaysAllow"
                     else None,
                     kubernetes_service_target_port=config.api_port,
                     service_account_admission=True,
                     metrics_resolution=config.housekeeping_interval)
    await api.start()
    sup.on_stop("apiserver", api.stop)
    sup.start("apiserver", api.run())
    ca_pem = await asyncio.to_thread(pki.ca.cert.read_bytes)
    routes = [] if member is None else MemberEndpoints(
        member, pki, config.controllers.cluster_cidr, config.service_cidr,
        client_context(pki.ca.cert, pki.admin), lb_cidr=config.controllers.lb_cidr).routes()
    app = build_app(api, authenticators=standard_authenticators(api.token_authenticators()),
                    ca_pem=ca_pem, extra_routes=routes, metrics=metrics.api)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0,
                           logger=ProtocolErrorLog(logging.getLogger("minikube_py.apiserver")))
    await runner.setup()
    sup.on_stop("apiserver-http", runner.cleanup)
    tls = server_context(pki.api_server, pki.ca.cert)
    await _listen(runner, config.api_host, config.api_port, tls)
    write_kubeconfig(config.kubeconfig_path, config.api_url,
                     KubeconfigCredentials.read(pki.ca.cert, pki.admin))
    # Only now, with the data dir locked, the API port bound and the host network free, does
    # this cluster own its settings: a serve that failed before leaves nothing to `delete`.
    save_remembered(config.data_dir, config.cluster, claim)
    if config.api_host in WILDCARD_HOSTS:
        progress.step(f"API server listening on every address, port {config.api_port} "
                      f"({config.api_url} from this machine)")
    else:
        progress.step(f"API server listening on {config.api_url}")
    # A member that joined serves the API and the store, and runs the scheduler and the
    # controllers while it holds their Lease; the first member also runs cluster DNS and
    # the host-network parts.
    founder = member is None or member.identity.founder
    join_token = ""
    if founder:
        try:
            progress.step(await ensure_join_token(api, config.token_path, ca_pem,
                                                  now=time.time(), randbelow=secrets.randbelow))
            join_token = (await asyncio.to_thread(config.token_path.read_text)).strip()
            if member is not None:
                progress.step(await ensure_join_token(
                    api, config.server_token_path, ca_pem, now=time.time(),
                    randbelow=secrets.randbelow, extra_groups=(SERVER_TOKEN_GROUP,),
                    what="server token"))
        except (ApiError, OSError) as e:
            raise StartupError(f"the join tokens ({config.token_path}): {e}") from e
    if config.etcd_port and isinstance(store, RaftStore):
        from minikube_py.etcdapi.server import EtcdServer
        open_to_all = etcd_api_is_plain(config)
        etcd = EtcdServer(store, config.etcd_host, config.etcd_port, name=config.node,
                          data_dir=config.data_dir / "store",
                          member_id=member.identity.member_id if member else 1,
                          members=etcd_members(member) if member else None,
                          tls=None if open_to_all else grpc_server_context(
                              pki.api_server, pki.ca.cert),
                          # the node's address goes on its bridge later in the start
                          freebind=config.etcd_host == config.node_ip)
        try:
            await etcd.start()
        except (OSError, RuntimeError) as e:
            raise StartupError(f"cannot serve etcd's API on {config.etcd_host}:"
                               f"{config.etcd_port}: {e} (pick another port with "
                               "--etcd-port)") from e
        sup.on_stop("etcd-api", etcd.stop)
        if open_to_all:
            progress.step(f"etcd v3 API on {etcd.url} (loopback only; etcdctl --endpoints "
                          f"{etcd.url})")
        else:
            progress.step(f"etcd v3 API on {etcd.url}, TLS, for the cluster's admins only "
                          f"(etcdctl --endpoints {etcd.url} --cacert {pki.ca.cert} --cert "
                          f"{pki.admin.cert} --key {pki.admin.key})")
    commands = {**control_commands(encryption),
                STATUS: status_command(config, store, member, started_at=time.time() - (
                    progress.clock() - progress.started))}
    control = ControlServer(control_socket(config.data_dir), commands, EXPECTED_ERRORS)
    try:
        await control.start()
    except OSError as e:  # serve works without it; `encryption rotate-key` then needs it stopped
        progress.step(f"warning: no control socket at {control.path}: {e}")
    else:
        sup.on_stop("control-socket", control.stop)
    if not founder and config.run_node:
        assert member is not None
        start_elected_control_loops(sup, api, config, member, metrics)
        progress.step("control-plane member with a node: the scheduler and the controllers "
                      "run on the member holding the Lease "
                      f"kube-system/{CONTROL_LOOPS_LEASE}")
        config = await member_pod_range(api, config, progress)
        save_remembered(config.data_dir, config.cluster, claim)
    elif not founder:
        assert member is not None
        pod_address = member_pod_address(config)
        if pod_address is None:
            progress.step(f"pods cannot reach this member's API at {config.api_host} "
                          "(loopback or every address): it is not among the `kubernetes` "
                          "Service's endpoints (give --node-ip, or an --api-host of the "
                          "pods' network)")
        elif config.api_host not in (*WILDCARD_HOSTS, pod_address):
            await _listen(runner, pod_address, config.api_port, tls)
            progress.step(f"API server also listening on https://{pod_address}:"
                          f"{config.api_port} for pods")
        start_kubernetes_service(sup, api, config, pod_address)
        start_elected_control_loops(sup, api, config, member, metrics)
        progress.step("control-plane member: serving the API and the store; the scheduler "
                      "and the controllers run on the member holding the Lease "
                      f"kube-system/{CONTROL_LOOPS_LEASE}")
        if pod_address is not None:
            await start_member_pod_services(sup, api, config, claim.route_metric, pod_address)
            progress.step(f"cluster DNS on {pod_address}")
        return Cluster(config, store, api, sup, None, progress.clock() - progress.started,
                       member=member)

    node_network = ""
    if config.node_address:
        async with starting("reading this machine's addresses"):
            try:
                node_network = await find_node_network(config.node_address)
            except NodeAddressMissing as e:
                raise StartupError(str(e)) from e
    socket_path = config.containerd_socket
    node_ip = config.node_ip
    if not config.run_node:
        progress.step("no local node (--no-node): nodes join with `minikube-py join`")
    elif socket_path is None:
        containerd = ContainerdProcess(ContainerdConfig(
            data_dir=config.data_dir, bridge_name=config.bridge_name, pod_subnet=config.pod_cidr,
            pod_routes=pod_routes(config.controllers.cluster_cidr, config.service_cidr,
                                  node_network, config.controllers.lb_cidr),
        ))
        async with starting("the pod bridge"):
            await set_up_host_network(config.cluster, claim, config.data_dir)
        async with starting("containerd", progress):
            await containerd.start()
        sup.on_stop("containerd", containerd.stop)
        sup.start("containerd", containerd.wait_exit())
        socket_path = containerd.socket
        progress.step(f"containerd {containerd.version} ready (socket {socket_path})")
    else:
        progress.step(f"using containerd at {socket_path}")
    # Pods reach the API at the node's address (the `kubernetes` Service leads there); with
    # a foreign containerd they cannot reach this node at all, so the Service leads nowhere.
    pods_reach_us = config.containerd_socket is None
    api_address = node_ip if pods_reach_us else None
    if api_address is not None and config.api_host not in (*WILDCARD_HOSTS, api_address):
        await _listen(runner, api_address, config.api_port, tls)
        progress.step(f"API server also listening on https://{api_address}:{config.api_port} "
                      f"for pods")
    start_kubernetes_service(sup, api, config, api_address)
    if founder:
        try:
            await publish_cluster_network(api, config.cluster_network)
        except ApiError as e:
            raise StartupError(f"publishing the cluster's network for joining machines: "
                               f"{e}") from e
    if socket_path is not None:
        async with starting("the built-in images", progress):
            imported = await ensure_builtin_images(socket_path)
        if imported:
            progress.step(f"imported built-in images: {', '.join(imported)}")

    # Renew leases well within the grace period the node controller allows (kube: 10s / 40s).
    renew_every = config.cluster_network.lease_renew_interval
    # Each component acts as its own identity, with informers of its own (as separate
    # processes of kube would): what it may do is what the authorizers allow that identity.
    factories: list[tuple[str, InformerFactory]] = []

    def acting_as(user: UserInfo, name: str) -> tuple[ApiClient, InformerFactory]:
        client = api.as_user(user)
        factory = InformerFactory(client)
        factories.append((name, factory))
        return client, factory

    if member is None:
        for name, run in await control_loops(api, config, metrics):
            sup.start(name, run())
    elif founder:
        start_elected_control_loops(sup, api, config, member, metrics)
    # Pods reach DNS through kube-proxy's DNAT of the DNS service IP to the node; with a
    # foreign containerd the node is 127.0.0.1, which pods cannot reach, so no DNS then.
    dns = ClusterDns(*acting_as(KUBE_DNS, "cluster-dns"), listen_host=node_ip, port=53,
                     node_name=config.node if config.run_node else "", holder=config.node,
                     service_ip=config.cluster_dns, register=pods_reach_us)
    start_cluster_dns(sup, dns)
    if pods_reach_us:
        # This machine routes to every other node's pods (host-gw), node or not: pods of
        # other nodes reach the API and DNS here.
        routes_client, routes_informers = acting_as(KUBE_PROXY, "node-routes")
        node_routes = NodeRouteController(routes_client, routes_informers,
                                          node_name=config.node if config.run_node else "",
                                          cluster_cidr=config.controllers.cluster_cidr,
                                          metric_base=claim.route_metric)
        sup.start("node-routes", node_routes.run())
    kubelet: Kubelet | None = None
    if socket_path is not None:
        # The kubelet's /metrics is its own, as a kubelet's is.
        kubelet_metrics = KubeletMetrics(new_registry(), config.node)
        cri = CriClient(socket_path, observe=kubelet_metrics.runtime_operation)
        sup.on_stop("cri", cri.close)
        serving = pki.kubelet(config.node)
        node_client = api.as_user(node_user(config.node))
        kubelet = Kubelet(node_client, cri, KubeletConfig(
            node_name=config.node, data_dir=config.data_dir, node_ip=node_ip,
            tls_cert_file=serving.cert, tls_private_key_file=serving.key,
            client_ca_file=pki.ca.cert, pod_cidr=config.pod_cidr, server_host=node_ip,
            server_port=config.kubelet_port,
            cluster_dns=(config.cluster_dns,) if pods_reach_us else (),
            lease_renew_interval=renew_every,
            housekeeping_interval=config.housekeeping_interval,
        ), authorizer=SubjectAccessReviews(node_client), tokens=TokenReviews(node_client),
            metrics=kubelet_metrics)
        proxy_client, proxy_informers = acting_as(KUBE_PROXY, "kube-proxy")
        proxy = KubeProxy(proxy_client, proxy_informers, node_name=config.node,
                          node_ips=(node_ip,), pod_bridge=config.bridge_name,
                          settings=proxy_settings(config.cluster, claim))
        sup.start("kube-proxy", proxy.run())
        sup.start("kubelet", kubelet.run())
    if config.simulated_nodes:
        # A scale-test tool standing in for many kubelets at once: the loopback identity.
        sim_informers = InformerFactory(api)
        factories.append(("simulated-nodes", sim_informers))
        simulated = SimulatedNodes(api, sim_informers, config.simulated_nodes,
                                   spec=SimulatedNodeSpec(lease_renew_interval=renew_every))
        sup.start("simulated-nodes", simulated.run())
    for name, factory in factories:
        sup.start(f"informers:{name}", factory.run())
    if config.simulated_nodes:
        await until_ready(sup, simulated.ready, "the simulated nodes")
        progress.step(f"{config.simulated_nodes} simulated nodes registered")
    if kubelet is not None:
        await until_ready(sup, kubelet.ready, "the node", progress)
    await until_ready(sup, dns.ready, "cluster DNS", progress)
    ready = progress.clock() - progress.started
    if kubelet is not None:
        progress.step(f"node {config.node} is Ready ({node_ip})")
    else:
        progress.step(f"control plane ready (cluster DNS on {node_ip})")
    return Cluster(config, store, api, sup, kubelet, ready, join_token, member)


async def open_datastore(config: ServeConfig, sup: Supervisor, progress: Progress, *,
                         store_metrics: StoreMetrics | None = None,
                         ) -> tuple[RaftStore | EtcdKV, Callable[[], Awaitable[None]] | None]:
    """The store the API server keeps the cluster in, started and stopped with `sup`: the
    embedded Raft store in DATA/store, or the external etcd of --datastore-endpoint (or the
    one the data dir remembers). Also returns how to purge compacted history from disk
    (None: the store cannot). The embedded store is counted in `store_metrics`; an external
    etcd shows its own."""
    try:
        external, note = choose_datastore(config)
    except DatastoreRefused as e:
        raise StartupError(str(e)) from e
    if note:
        progress.step(note)
    if external is not None:
        from minikube_py.etcdapi.etcdkv import EndpointError, EtcdKV, EtcdTLS
        try:
            etcd = EtcdKV(external.endpoints, tls=EtcdTLS(
                external.cafile, external.certfile, external.keyfile))
        except EndpointError as e:
            raise StartupError(f"the datastore: {e}") from e
        sup.on_stop("datastore", etcd.close)
        try:
            await etcd.connect(timeout=DATASTORE_CONNECT_TIMEOUT)
        except StoreError as e:
            raise StartupError(f"the datastore: {e}") from e
        progress.step(f"datastore: etcd at {etcd.endpoint}, revision {etcd.revision}")
        await asyncio.to_thread(write_remembered_datastore, config.data_dir, external)
        return etcd, None
    store = RaftStore(config.data_dir / "store", metrics=store_metrics)
    try:
        await store.start()
    except (StoreError, WalCorruptError) as e:
        raise StartupError(f"the store failed to start: {e}") from e
    sup.on_stop("store", store.close)
    sup.start("store", store.run())
    progress.step(f"store ready at revision {store.revision}")
    return store, store.purge_history


class DatastoreRefused(Exception):
    """The datastore asked for is not where this data dir's cluster is."""


def choose_datastore(config: ServeConfig) -> tuple[RememberedDatastore | None, str]:
    """The external etcd to keep the cluster in (None: the embedded store), and what to say
    about the choice ("" for nothing). The cluster is either in the embedded store or in
    one external etcd (the data dir remembers which), and a start on another would bring
    up an empty cluster with this one's PKI: DatastoreRefused, saying so."""
    data_dir = config.data_dir
    asked = config.datastore_endpoint
    remembered = read_remembered_datastore(data_dir)
    note = data_dir / EXTERNAL_DATASTORE_FILE
    if asked and (data_dir / "store").exists():
        raise DatastoreRefused(
            f"{data_dir} holds a cluster in the embedded store: it does not move to an "
            "external etcd (start without --datastore-endpoint, or use another --data-dir)")
    if not asked:
        if remembered is None:
            if config.datastore_cafile or config.datastore_certfile:
                raise DatastoreRefused(
                    "--datastore-cafile/-certfile/-keyfile are for an etcd: give its "
                    "--datastore-endpoint")
            return None, ""
        chosen = RememberedDatastore(remembered.endpoints,
                                     config.datastore_cafile or remembered.cafile,
                                     config.datastore_certfile or remembered.certfile,
                                     config.datastore_keyfile or remembered.keyfile)
        return chosen, (f"datastore: etcd at {remembered.endpoints}, as {note} remembers "
                        "(no --datastore-endpoint given)")
    chosen = RememberedDatastore(asked, config.datastore_cafile, config.datastore_certfile,
                                 config.datastore_keyfile)
    if remembered is not None and remembered.endpoint_set != chosen.endpoint_set:
        raise DatastoreRefused(
            f"{data_dir} holds a cluster kept in etcd at {remembered.endpoints}, not "
            f"{asked}: another etcd would be another, empty, cluster under this one's "
            f"certificates. Start without --datastore-endpoint (or with "
            f"--datastore-endpoint {remembered.endpoints}); if the same etcd cluster is "
            f"now reached at {asked}, delete {note} first")
    if remembered is not None and not config.datastore_cafile and not config.datastore_certfile:
        chosen = RememberedDatastore(asked, remembered.cafile, remembered.certfile,
                                     remembered.keyfile)
    return chosen, ""


async def _listen(runner: web.AppRunner, host: str, port: int, tls: ssl.SSLContext) -> None:
    try:
        await web.TCPSite(runner, host, port, ssl_context=tls, reuse_address=True).start()
    except OSError as e:
        raise StartupError(
            f"cannot listen on {host}:{port}: {e.strerror} "
            f"(is another cluster running? pick another port with --api-port)") from e


CONTROL_LOOPS_LEASE = "kube-controller-manager"


async def start_member_pod_services(sup: Supervisor, api: ApiService, config: ServeConfig,
                                    route_metric: int, address: str) -> None:
    """What a member without a node serves the nodes' pods at `address`: cluster DNS, and
    the routes to each node's pods (host-gw) its answers and the API's go back on, as the
    first member's do."""
    dns_client = api.as_user(KUBE_DNS)
    dns_informers = InformerFactory(dns_client)
    dns = ClusterDns(dns_client, dns_informers, listen_host=address, port=53,
                     holder=config.node, service_ip=config.cluster_dns)
    start_cluster_dns(sup, dns)
    sup.start("informers:cluster-dns", dns_informers.run())
    routes_client = api.as_user(KUBE_PROXY)
    routes_informers = InformerFactory(routes_client)
    sup.start("node-routes", NodeRouteController(
        routes_client, routes_informers, node_name="",
        cluster_cidr=config.controllers.cluster_cidr, metric_base=route_metric).run())
    sup.start("informers:node-routes", routes_informers.run())
    await until_ready(sup, dns.ready, "cluster DNS")


def start_cluster_dns(sup: Supervisor, dns: ClusterDns) -> None:
    """Cluster DNS among kube-dns's endpoints for as long as it runs, withdrawn when it
    stops (each member runs one, so pods keep DNS when any member goes)."""
    sup.start("cluster-dns", dns.run())
    sup.before_stop("cluster-dns", dns.withdraw)


async def member_pod_range(api: ApiService, config: ServeConfig,
                           progress: Progress) -> ServeConfig:
    """A joined member's node gets its pod range as a joined machine's does: its Node
    registered, the node IPAM controller (on whichever member leads) gives it a /24; the
    config from here on holds that range."""
    async with starting(f"a pod range for node {config.node}"):
        try:
            pod_cidr = await register_for_pod_cidr(api.as_user(node_user(config.node)),
                                                   config.node, {}, config.node_ip)
        except JoinRefused as e:
            raise StartupError(str(e)) from e
    if pod_cidr != config.pod_cidr:
        progress.step(f"node {config.node} registered: pod range {pod_cidr}")
    return dataclasses.replace(config, pod_cidr=pod_cidr)


def member_pod_address(config: ServeConfig) -> str | None:
    """Where pods reach a joined member without a node: its --node-ip, else its API host
    unless that is loopback or every address (None: pods cannot reach it)."""
    if config.node_address:
        return config.node_address
    try:
        host = ipaddress.ip_address(config.api_host)
    except ValueError:
        return None  # a name: the `kubernetes` endpoints hold addresses
    return None if host.is_loopback or host.is_unspecified else str(host)


def start_kubernetes_service(sup: Supervisor, api: ApiService, config: ServeConfig,
                             address: str | None) -> None:
    """This API server among the `kubernetes` Service's endpoints (at `address`, None: not
    reachable by pods) for as long as it runs, withdrawn when it stops."""
    reconciler = api.kubernetes_service_reconciler(config.node, address, config.api_port)
    sup.start("kubernetes-service", reconciler.run())
    sup.before_stop("kubernetes-service", reconciler.withdraw)


def etcd_members(member: StoreMember) -> Callable[[], list[EtcdMember]]:
    """The store's members as etcd's MemberList shows them (`etcdctl member list`)."""
    from minikube_py.etcdapi.server import EtcdMember
    def listed() -> list[EtcdMember]:
        known = member.store.members()
        records = member.records
        rows = []
        for member_id in (*known.voters, *known.learners):
            record = records.get(member_id)
            rows.append(EtcdMember(
                member_id, record.name if record else "",
                (record.peer_url,) if record else (),
                (record.etcd_url,) if record and record.etcd_url else (),
                is_learner=member_id in known.learners))
        return rows
    return listed


async def control_loops(api: ApiService, config: ServeConfig,
                        metrics: ControlPlaneMetrics | None = None,
                        ) -> list[tuple[str, Callable[[], Coroutine[Any, Any, Any]]]]:
    """The scheduler and the controller manager, each acting as its own identity with
    informers of its own: (task name, run) for each loop and each informer factory."""
    runs: list[tuple[str, Callable[[], Coroutine[Any, Any, Any]]]] = []

    def acting_as(user: UserInfo, name: str) -> tuple[ApiClient, InformerFactory]:
        client = api.as_user(user)
        factory = InformerFactory(client)
        runs.append((f"informers:{name}", factory.run))
        return client, factory

    pki = config.pki
    scheduler_client, scheduler_informers = acting_as(KUBE_SCHEDULER, "scheduler")
    scheduler = Scheduler(scheduler_client, scheduler_informers,
                          EventRecorder(scheduler_client, "default-scheduler"),
                          metrics=metrics.scheduler if metrics else None)
    root_ca = await asyncio.to_thread(pki.ca.cert.read_text)
    controllers = build_controllers(
        ControllerContext(*acting_as(KUBE_CONTROLLER_MANAGER, "controller-manager"),
                          workqueue_metrics=metrics.workqueues if metrics else None),
        config.controllers, root_ca=root_ca,
        signing_ca=await asyncio.to_thread(load_signing_ca, pki))
    return [("scheduler", scheduler.run), *controllers, *runs]


def start_elected_control_loops(sup: Supervisor, api: ApiService, config: ServeConfig,
                                member: StoreMember,
                                metrics: ControlPlaneMetrics | None = None) -> None:
    """With several control-plane members, one runs the scheduler and the controllers at a
    time: the holder of a Lease, as kube-controller-manager and kube-scheduler elect theirs
    (client-go's leaderelection; kube's identity format NAME_RANDOM)."""
    elector = LeaderElector(api.as_user(KUBE_CONTROLLER_MANAGER), CONTROL_LOOPS_LEASE,
                            f"{member.identity.name}_{secrets.token_hex(8)}")

    async def lead() -> None:
        loops = TaskSet("control-loops", logger=logging.getLogger(__name__))
        try:
            for name, run in await control_loops(api, config, metrics):
                loops.spawn(name, run(), critical=True)
            await loops.wait_failure()
        finally:
            await loops.close()

    sup.start("control-loops-election", elector.run(lead))


def cluster_certificates(config: ServeConfig) -> list[tuple[KeyPair, CertSpec]]:
    """Every leaf certificate this serve needs, each where it lives under DATA/pki (but a
    control-plane member's peer certificate: `member_certificate`, once its id is known)."""
    pki = config.pki
    etcd_sans = () if etcd_api_is_plain(config) else (config.etcd_host,)
    api = api_server_spec(node_ip=config.node_ip, service_cidr=config.service_cidr,
                          api_host=config.api_host,
                          extra_sans=(*config.tls_sans, config.advertise_host, *etcd_sans))
    return [(pki.api_server, api), (pki.admin, ADMIN), (pki.kubelet_client, KUBELET_CLIENT),
            (pki.kubelet(config.node), kubelet_serving_spec(config.node, config.node_ip))]


def etcd_api_is_plain(config: ServeConfig) -> bool:
    """The etcd API on loopback is plain (etcd's default); anywhere else it is TLS, for the
    cluster's admins only (etcdapi/server.py `admins_only`)."""
    return ipaddress.ip_address(config.etcd_host).is_loopback


def etcd_api_url(config: ServeConfig) -> str:
    """Where this serve's etcd API answers ("" if it serves none)."""
    if not config.etcd_port:
        return ""
    scheme = "http" if etcd_api_is_plain(config) else "https"
    host = f"[{config.etcd_host}]" if ":" in config.etcd_host else config.etcd_host
    return f"{scheme}://{host}:{config.etcd_port}"


def member_certificate(config: ServeConfig, identity: MemberIdentity
                       ) -> tuple[KeyPair, CertSpec]:
    """A store member's peer certificate, naming its member id: its peers refuse a hello
    that claims another. Every member holds the cluster CA's key, so each makes its own
    from it (on joining, and on a start whose certificate lacks the id: made before ids
    were bound to certificates, or for another member)."""
    return (config.pki.peer, peer_spec(config.node, (config.advertise_host,),
                                       member_uri(identity.cluster_id, identity.member_id)))


def _first_member(config: ServeConfig, store_dir: Path) -> MemberIdentity:
    """--cluster-init on a data dir without a member: a cluster of one that others can
    join. A store made before by a serve of one member keeps its Raft id (1)."""
    had_store = store_dir.is_dir() and any(store_dir.iterdir())
    member_id = 1 if had_store else new_member_id()
    identity = MemberIdentity(new_member_id(), member_id, config.node, (member_id,), (),
                              founder=True)
    write_identity(store_dir, identity)
    return identity


async def _start_member(config: ServeConfig, progress: Progress, sup: Supervisor,
                        identity: MemberIdentity | None, joining: ClusterKeys | None,
                        metrics: ControlPlaneMetrics | None = None) -> StoreMember:
    """The store as a member of a cluster: joined now (`joining`: the cluster's keys are
    in DATA/pki), or this data dir's member again."""
    store_dir = config.data_dir / "store"
    pki = config.pki
    host = config.advertise_host
    record = MemberRecord(identity.member_id if identity else 0, config.node,
                          https_url(host, config.peer_port), https_url(host, config.api_port),
                          etcd_api_url(config))
    known: dict[int, MemberRecord] = {}
    if identity is None:
        assert joining is not None
        ca_pem = await asyncio.to_thread(pki.ca.cert.read_bytes)
        async with starting("joining the store's cluster"):
            try:
                admission = await add_member(joining, config.server_url, config.join_token,
                                             ca_pem, record)
            except JoinRefused as e:
                raise StartupError(str(e)) from e
        identity = admission.identity
        known = admission.records
        await asyncio.to_thread(write_identity, store_dir, identity)
        record = dataclasses.replace(record, id=identity.member_id)
        progress.step(f"added to the store's cluster as member {identity.name} (a learner, "
                      "until it has caught up)")
    async with starting("the store member's peer certificate"):
        made = await asyncio.to_thread(ensure_cluster_pki, pki,
                                       [member_certificate(config, identity)], datetime.now(UTC))
    for line in made:  # e.g. "made peer.crt (it lacks urn:minikube-py:member:...)"
        progress.step(f"store member {identity.name}: {line}")
    peer_listen = config.api_host if config.api_host in WILDCARD_HOSTS else host
    member = StoreMember(
        identity, store_dir, peer_host=peer_listen, peer_port=config.peer_port,
        server_ssl=server_context(pki.peer, pki.ca.cert),
        client_ssl=client_context(pki.ca.cert, pki.peer),
        voters=identity.voters, learners=identity.learners, known=known,
        timing=MemberTiming(config.heartbeat_ms, config.election_ms),
        metrics=metrics.store if metrics else None)
    try:
        async with starting(f"the store's peer port {host}:{config.peer_port}"):
            await member.start()
    except (StoreError, WalCorruptError) as e:
        raise StartupError(f"the store failed to start: {e}") from e
    except OSError as e:
        raise StartupError(f"cannot listen for store peers on {peer_listen}:"
                           f"{config.peer_port}: {e.strerror} (pick another --peer-port)") from e
    sup.on_stop("store", member.close)
    sup.start("store", member.run())
    try:
        async with starting("catching up with the cluster's store"):
            await member.until_caught_up(timeout=30 + 4 * config.election_ms / 1000)
    except StoreError as e:
        raise StartupError(f"the store member {identity.name}: {e}") from e
    me = identity.member_id
    if me not in {*member.store.members().voters, *member.store.members().learners}:
        raise StartupError(removed_message(identity.name))
    if member.records.get(me) != record:
        await member.register(record)  # the first start, or new addresses
    if me not in member.store.members().voters:
        admin_tls = client_context(pki.ca.cert, pki.admin)

        async def ask(leader: int) -> None:
            leader_record = member.records.get(leader)
            if leader_record is not None:
                await promote(leader_record.api_url, me, admin_tls)

        member.promote_when_caught_up(
            ask, lambda: progress.step(f"member {identity.name} is now a voter"))
    progress.step(f"store member {identity.name} ready at revision {member.store.revision} "
                  f"(peers reach it at {record.peer_url})")
    return member


def _report_certificates(progress: Progress, pki: PkiLayout, made: list[str]) -> None:
    if not made:
        return
    if all(line.endswith("(none existed)") or "signing key" in line for line in made):
        progress.step(f"made the cluster's CA, certificates and keys in {pki.root}")
        return
    for line in made:
        progress.step(line)


def join_hint(config: ServeConfig, token: str) -> str:
    """How to make another machine a node of this cluster: the command, with the token, as
    kubeadm init prints it, when other machines can reach the API (--node-ip, or an
    --api-host of theirs); else what to start serve with."""
    host = config.node_address or (
        config.api_host if config.api_host not in (*WILDCARD_HOSTS, "127.0.0.1", "::1",
                                                   "localhost") else "")
    if not host:
        return (f"  To join other machines, start serve with --node-ip IP (this machine's "
                f"address on their network); the token is in {config.token_path}.\n")
    return (f"  To join another machine as a node, run there (as root):\n\n"
            f"    minikube-py join https://{host}:{config.api_port} --token {token}\n\n"
            f"  (the token is kept in {config.token_path}; `minikube-py token create` makes "
            "more)\n")


def member_hint(config: ServeConfig, name: str) -> str:
    """What a control-plane member's operator runs next."""
    data = f" --data-dir {config.data_dir}"
    return (f"  This is store member {name}. See the members with:\n\n"
            f"    minikube-py members{data}\n\n"
            f"  Add a control-plane member on another data dir or machine with:\n\n"
            f"    minikube-py serve --server {config.api_url.replace('127.0.0.1', config.advertise_host)}"
            f" --token $(cat {config.server_token_path}) --node-name NAME "
            "(--node-ip IP | --no-node) [--data-dir DIR --api-port N --peer-port N]\n\n"
            "  (a member with --node-ip runs a node too; the server token is kept by "
            "the first member only; it makes members and joins nodes: keep it secret)\n")


async def serve(config: ServeConfig, progress: Progress | None = None) -> int:
    """Run the cluster until SIGINT/SIGTERM; returns the process exit code."""
    progress = progress or Progress()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    merged: MergeRecord | None = None
    progress.spin(True)
    spinner = asyncio.create_task(animate(progress))
    try:
        cluster = await start_unless_stopped(start_cluster(config, progress), stop, progress)
        if cluster is not None:
            merged = await asyncio.to_thread(merge_user_kubeconfig, config, progress)
    except StartupError as e:
        progress.step(f"error: {e}")
        return 1
    except StoreError as e:  # e.g. a store member that lost its leader while starting
        progress.step(f"error: the store could not serve while starting: {e}")
        return 1
    finally:
        spinner.cancel()
        progress.spin(False)
    if cluster is None:
        return 0
    settle_garbage_collector()
    progress.step(f"cluster ready in {cluster.ready_seconds:.2f} s")
    progress.text(ready_summary(
        api_url=config.api_url, kubeconfig=config.kubeconfig_path,
        merged=(merged.path, merged.name) if merged else None,
        nodes=[f"{config.node} (Ready)"] if cluster.kubelet is not None else [],
        data_dir_flag="" if config.data_dir == DEFAULT_DATA_DIR
        else f" --data-dir {config.data_dir}"))
    if cluster.join_token:
        progress.text(join_hint(config, cluster.join_token))
    if cluster.member is not None:
        progress.text(member_hint(config, cluster.member.identity.name))
    why: TaskFailed | None = await cluster.supervisor.wait(stop)
    if why is None:
        progress.step("stopping (signal received)")
    else:
        progress.step(f"error: {why}; stopping")
    await cluster.supervisor.shutdown()
    progress.step("stopped")
    return 0 if why is None else 2
