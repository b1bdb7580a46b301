"""The composition root of `minikube-py join`: a node agent that makes this machine a node of
a cluster elsewhere. It runs, under one supervisor, what serve runs for its own node: a
private containerd, the kubelet, kube-proxy, and the route controller that reaches the other
nodes' pods, all talking to the cluster's API over HTTPS with the node's own certificate
(nodebootstrap.py says how it is obtained).

Start order: data dir locked -> credentials -> the API reachable -> the cluster's ranges
-> the Node registered and given its pod range by the cluster -> this machine's network
claimed -> serving certificate -> bridge, routes, containerd, images -> kubelet, kube-proxy,
routes -> Ready."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import random
import signal
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from minikube_py import __version__
from minikube_py.api.clusternetwork import ClusterConfigError, ClusterNetwork
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NODES
from minikube_py.client.http import ApiUnreachable, HttpClient
from minikube_py.client.informer import InformerFactory
from minikube_py.client.interface import ApiClient
from minikube_py.clusterconfig import read as read_cluster_network
from minikube_py.clustersettings import (
    BY_NAME,
    DEFAULT_BRIDGE,
    ClusterSettings,
    FlagError,
    Remembered,
    SettingsFileError,
    check_relations,
    check_setting,
    data_dir_in_use_by_other,
    default_node_name,
    load_remembered,
    save_remembered,
)
from minikube_py.hostclaim import ClaimRefused
from minikube_py.hostnetwork import (
    NodeAddressMissing,
    claim_host_network,
    find_node_network,
    pod_routes,
    proxy_settings,
    set_up_host_network,
)
from minikube_py.kubelet.auth import SubjectAccessReviews, TokenReviews
from minikube_py.kubelet.certificates import (
    CertificateRequestError,
    CertificateRotation,
    ssl_reloader,
)
from minikube_py.kubelet.config import KubeletConfig
from minikube_py.kubelet.cri import CriClient
from minikube_py.kubelet.kubelet import Kubelet
from minikube_py.kubelet.node_status import collect_machine_info, node_labels
from minikube_py.metrics import new_registry
from minikube_py.metrics.kubelet import KubeletMetrics
from minikube_py.nodebootstrap import (
    JoinRefused,
    NodePki,
    client_template,
    node_api_tls,
    node_clients,
    node_credentials,
    serving_template,
    write_node_kubeconfig,
)
from minikube_py.pki.certmanager import load_key_pair, renewal_reason
from minikube_py.proxy.proxier import KubeProxy
from minikube_py.runtime.containerd import ContainerdConfig, ContainerdProcess
from minikube_py.runtime.images import ensure_builtin_images
from minikube_py.runtime.noderoute_controller import NodeRouteController
from minikube_py.startup import (
    Progress,
    StartupError,
    lock_data_dir,
    start_unless_stopped,
    starting,
    until_ready,
)
from minikube_py.supervisor import Supervisor, TaskFailed

log = logging.getLogger("minikube_py.join")

POD_CIDR_TIMEOUT = 30.0  # the node IPAM controller answers in milliseconds
API_RETRY_MAX = 10.0
SERVING_TIMEOUT = 60.0  # the cluster approves a node's own name and addresses at once


@dataclass(frozen=True, slots=True)
class JoinConfig:
    server: str  # https://HOST:PORT of the cluster's API
    data_dir: Path
    token: str | None = None  # K10...; not needed once the data dir holds a certificate
    node_name: str = ""
    node_ip: str = ""  # "": the address this machine reaches the server from
    bridge_name: str = DEFAULT_BRIDGE
    kubelet_port: int = 10250

    @property
    def node(self) -> str:
        return self.node_name or default_node_name()

    @property
    def pki(self) -> NodePki:
        return NodePki(self.data_dir / "pki")

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def server_host(self) -> str:
        return urlsplit(self.server).hostname or ""

    @property
    def server_port(self) -> int:
        return urlsplit(self.server).port or 443


@dataclass
class Agent:
    config: JoinConfig
    supervisor: Supervisor
    kubelet: Kubelet
    node_ip: str
    pod_cidr: str
    ready_seconds: float
    client: HttpClient  # the node's own, presenting its certificate (renewed in place)


def check_server_url(server: str) -> str:
    """The API URL as given, or JoinRefused saying what is wrong with it."""
    parts = urlsplit(server)
    if parts.scheme != "https" or not parts.hostname:
        raise JoinRefused(f"{server!r} is not the cluster's API URL (https://HOST:PORT, as "
                          "serve's closing lines print it)")
    if parts.path not in ("", "/"):
        raise JoinRefused(f"{server!r}: the API URL has no path (https://HOST:PORT)")
    return f"https://{parts.netloc}"


async def source_address(host: str) -> str:
    """The address this machine sends from to reach `host` (kubelet's default node IP is
    the address of the interface of its default route; the one towards the server is the
    one the server and its nodes reach us at)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=socket.AF_INET)
    if not infos:
        raise JoinRefused(f"cannot resolve {host}")
    target = str(infos[0][4][0])
    proc = await asyncio.create_subprocess_exec(
        "ip", "-j", "route", "get", target, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise JoinRefused(f"no route to the server {target}: {err.decode().strip()}")
    routes = json.loads(out or b"[]")
    src = routes[0].get("prefsrc") if routes else None
    if not src or ipaddress.ip_address(src).is_loopback:
        raise JoinRefused(f"the server {target} is on this machine's loopback: give "
                          "--node-ip (an address the server reaches this machine at)")
    return str(src)


def certificate_refusal(server: str, e: ApiUnreachable) -> JoinRefused:
    return JoinRefused(
        f"{server} answers with a certificate this node does not trust ({e.cause}): the "
        "cluster was made again (a new CA), or the server's certificate does not name this "
        "address (serve --tls-san adds one); to join the cluster there now, remove this node "
        "first (minikube-py delete --data-dir DIR) and join with its token")


async def wait_for_api(client: HttpClient, server: str, progress: Progress) -> None:
    """Until the API answers (retrying with backoff, saying once that it waits; a signal
    ends the wait: start_unless_stopped)."""
    delay, said = 0.2, False
    while True:
        try:
            await client.get(NODES, "-")  # any authenticated answer: a 404 is one
            return
        except ApiError as e:
            if isinstance(e, ApiUnreachable) and e.certificate_refused:
                raise certificate_refusal(server, e) from None
            if e.code == 404:
                return
            if e.code in (401, 403):
                raise JoinRefused(f"{server} refused the node's certificate ({e.code}): "
                                  f"{e.message}") from None
            if not said:
                progress.step(f"waiting for the API server at {server} ({e.message}); "
                              "retrying with backoff")
                said = True
        await asyncio.sleep(delay)
        delay = min(delay * 2, API_RETRY_MAX)


async def register_for_pod_cidr(client: ApiClient, node: str, labels: dict[str, str],
                                node_ip: str, *, timeout: float = POD_CIDR_TIMEOUT) -> str:
    """Register the Node with its addresses (as the kubelet will; it takes the object over
    once containerd runs) and wait for the node IPAM controller to give it a pod range. The
    addresses are what the cluster approves the kubelet's serving certificate for."""
    addresses = {"status": {"addresses": [{"type": "InternalIP", "address": node_ip},
                                          {"type": "Hostname", "address": node}]}}
    try:
        try:
            await client.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                        "metadata": {"name": node, "labels": labels}})
        except ApiError as e:
            if e.code != 409:
                raise
        await client.patch(NODES, node, addresses, subresource="status")
    except ApiError as e:
        raise JoinRefused(f"registering the Node {node} failed: {e.code} {e.reason}: "
                          f"{e.message}") from None
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            found = await client.get(NODES, node)
        except ApiError as e:
            if e.code != 503:
                raise JoinRefused(f"reading the Node {node} failed: {e.code} {e.reason}: "
                                  f"{e.message}") from None
            found = {}  # the server is busy or restarting: ask again
        spec = found.get("spec") or {}
        cidr = spec.get("podCIDR") or next(iter(spec.get("podCIDRs") or []), "")
        if cidr:
            return str(cidr)
        if time.monotonic() >= deadline:
            raise JoinRefused(f"the cluster gave node {node} no pod range within "
                              f"{timeout:g}s (is the cluster's range full? `kubectl "
                              f"describe node {node}` shows the node IPAM controller's "
                              "events)")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


# JoinConfig field -> ClusterSettings field, for what a joined machine's cluster.json holds.
_REMEMBERED = {"node_name": "node_name", "bridge_name": "bridge", "node_ip": "node_ip",
               "kubelet_port": "kubelet_port"}


def resolve_join_settings(given: dict[str, Any], remembered: Remembered, *,
                          default_node: str) -> dict[str, Any]:
    """join's node settings: each flag given (checked), else what the data dir remembers
    (a restart needs none of them), else the default. The node name and the bridge are
    the machine's identity: another value than the remembered one is refused, naming the
    flag, as serve refuses it."""
    out: dict[str, Any] = {}
    defaults = {"node_name": default_node, "bridge_name": DEFAULT_BRIDGE, "node_ip": "",
                "kubelet_port": 10250}
    for field_name, setting in _REMEMBERED.items():
        known = remembered.settings.get(setting)
        value = given.get(field_name)
        if value is None:
            value = known if known is not None else defaults[field_name]
        value = check_setting(setting, value)
        if known is not None and BY_NAME[setting].fixed and value != known:
            flag = BY_NAME[setting].flag
            raise FlagError(flag, f"{flag} {value} conflicts with this machine's "
                                  f"{BY_NAME[setting].what} {known} (remembered in "
                                  f"{remembered.source}): leave {flag} out, or remove the "
                                  "node first (minikube-py delete)")
        out[field_name] = value
    return out


def agent_settings(config: JoinConfig, network: ClusterNetwork, pod_cidr: str,
                   node_ip: str) -> ClusterSettings:
    """What this machine's data dir remembers, as serve's does (`delete` reads it). The
    node's address only when --node-ip gave it: one found from the route to the server is
    found again on every start (an address from DHCP moves)."""
    settings = ClusterSettings(
        node_name=config.node, bridge=config.bridge_name, pod_cidr=pod_cidr,
        cluster_cidr=network.cluster_cidr, service_cidr=network.service_cidr,
        api_host=config.server_host, api_port=config.server_port,
        kubelet_port=config.kubelet_port, node_ip=config.node_ip, lb_cidr=network.lb_cidr)
    try:
        check_relations(settings)
    except FlagError as e:
        raise JoinRefused(str(e)) from None
    return settings


def check_remembered_pod_cidr(data_dir: Path, node: str, pod_cidr: str) -> None:
    """A machine keeps its pod range: its pods and bridge hold addresses from it."""
    try:
        known = load_remembered(data_dir).settings.get("pod_cidr")
    except SettingsFileError as e:
        raise JoinRefused(str(e)) from None
    if known and known != pod_cidr:
        raise JoinRefused(
            f"the cluster gave node {node} the pod range {pod_cidr}, but this machine "
            f"holds {known} (the Node was deleted and made again?): remove what it holds "
            f"with `minikube-py delete --data-dir {data_dir}` and join again")


async def start_agent(config: JoinConfig, progress: Progress) -> Agent:
    sup = Supervisor()
    try:
        return await _start(config, progress, sup)
    except BaseException:
        await sup.shutdown()
        raise


async def _start(config: JoinConfig, progress: Progress, sup: Supervisor) -> Agent:
    if os.geteuid() != 0:
        raise StartupError("join needs root: it starts containerd and sets up the pod "
                           "network (run it with sudo)")
    server = check_server_url(config.server)
    node = config.node
    lock_data_dir(sup, config.data_dir)
    taken = data_dir_in_use_by_other(config.data_dir, "join")
    if taken is not None:
        raise StartupError(taken)
    progress.step(f"minikube-py {__version__}: joining {server} as node {node} "
                  f"(data in {config.data_dir})")
    rand = random.SystemRandom()
    pki = config.pki
    progress.step(await node_credentials(server, config.token, pki, node, rand))
    await asyncio.to_thread(write_node_kubeconfig, config.kubeconfig_path, server, pki)
    tls = node_api_tls(pki)
    client = HttpClient(server, tls=tls)
    sup.on_stop("api-client", client.close)
    await wait_for_api(client, server, progress)
    try:
        network = await read_cluster_network(client)
    except ClusterConfigError as e:
        raise JoinRefused(str(e)) from None

    async with starting("reading this machine's addresses"):
        node_ip = config.node_ip or await source_address(config.server_host)
        try:
            node_network = await find_node_network(node_ip)
        except NodeAddressMissing as e:
            raise StartupError(str(e)) from e
    machine = await asyncio.to_thread(collect_machine_info, config.data_dir)
    kubelet_config = KubeletConfig(
        node_name=node, data_dir=config.data_dir, node_ip=node_ip,
        tls_cert_file=pki.serving.cert, tls_private_key_file=pki.serving.key,
        client_ca_file=pki.ca, server_host=node_ip, server_port=config.kubelet_port,
        cluster_dns=(network.cluster_dns,), cluster_domain=network.cluster_domain,
        lease_renew_interval=network.lease_renew_interval,
        housekeeping_interval=network.housekeeping_interval)
    pod_cidr = await register_for_pod_cidr(client, node, node_labels(kubelet_config, machine),
                                           node_ip)
    progress.step(f"node {node} registered: pod range {pod_cidr}, address {node_ip}")
    try:
        check_remembered_pod_cidr(config.data_dir, node, pod_cidr)
        settings = agent_settings(config, network, pod_cidr, node_ip)
        try:
            async with starting("the pod bridge"):
                claim = await claim_host_network(settings, config.data_dir, own_network=True)
        except ClaimRefused as e:
            raise StartupError(str(e)) from e
        save_remembered(config.data_dir, settings, claim)

        serving = CertificateRotation(
            clients=lambda: node_clients(server, tls), pair=pki.serving,
            template=serving_template(node, (node_ip,)), reload=lambda _pair: None, rand=rand,
            request_timeout=SERVING_TIMEOUT)
        why = renewal_reason(load_key_pair(pki.serving), serving.template,
                             datetime.now(UTC), None)
        if why is not None:
            try:
                await serving.rotate(why)
            except (CertificateRequestError, ApiError) as e:
                raise StartupError(f"the kubelet's serving certificate: {e}") from e
            progress.step(f"kubelet serving certificate for {node}, {node_ip} issued")

        containerd = ContainerdProcess(ContainerdConfig(
            data_dir=config.data_dir, bridge_name=config.bridge_name, pod_subnet=pod_cidr,
            pod_routes=pod_routes(network.cluster_cidr, network.service_cidr, node_network,
                                  network.lb_cidr)))
        async with starting("the pod bridge"):
            await set_up_host_network(settings, claim, config.data_dir)
        async with starting("containerd"):
            await containerd.start()
        sup.on_stop("containerd", containerd.stop)
        sup.start("containerd", containerd.wait_exit())
        progress.step(f"containerd {containerd.version} ready (socket {containerd.socket})")
        async with starting("the built-in images"):
            imported = await ensure_builtin_images(containerd.socket)
        if imported:
            progress.step(f"imported built-in images: {', '.join(imported)}")

        kubelet_metrics = KubeletMetrics(new_registry(), kubelet_config.node_name)
        cri = CriClient(containerd.socket, observe=kubelet_metrics.runtime_operation)
        sup.on_stop("cri", cri.close)
        informers = InformerFactory(client)
        kubelet = Kubelet(client, cri, kubelet_config, machine=machine,
                          authorizer=SubjectAccessReviews(client), tokens=TokenReviews(client),
                          metrics=kubelet_metrics)
        serving.reload = kubelet.server.reload_serving
        client_rotation = CertificateRotation(
            clients=lambda: node_clients(server, tls), pair=pki.client,
            template=client_template(node), reload=ssl_reloader(tls), rand=rand)
        proxy = KubeProxy(client, informers, node_name=node, node_ips=(node_ip,),
                          pod_bridge=config.bridge_name, settings=proxy_settings(settings, claim))
        routes = NodeRouteController(client, informers, node_name=node,
                                     cluster_cidr=network.cluster_cidr,
                                     metric_base=claim.route_metric)
        sup.start("kube-proxy", proxy.run())
        sup.start("node-routes", routes.run())
        sup.start("kubelet", kubelet.run())
        sup.start("client-certificate", client_rotation.run())
        sup.start("serving-certificate", serving.run())
        sup.start("informers", informers.run())
        await until_ready(sup, kubelet.ready, "the node")
        ready = progress.clock() - progress.started
        progress.step(f"node {node} is Ready ({node_ip})")
        return Agent(config, sup, kubelet, node_ip, pod_cidr, ready, client)
    except (StartupError, JoinRefused) as e:
        # The cluster holds the Node and its /24 until someone says otherwise.
        raise type(e)(f"{e} (the Node {node} stays registered, holding {pod_cidr}: start "
                      f"join again once that is fixed, or kubectl delete node {node})") from e


async def watch_api(client: HttpClient, server: str, progress: Progress, *,
                    every: float = 2.0) -> None:
    """Say when the API server goes away and when it is back: everything else retries on
    its own, with backoff (a server restart keeps its nodes)."""
    lost = False
    while True:
        await asyncio.sleep(every)
        try:
            await client.get(NODES, "-")
            answered = True
        except ApiError as e:
            answered = e.code != 503
            reason = e.message
        if answered and lost:
            progress.step(f"the API server at {server} is back")
            lost = False
        elif not answered and not lost:
            progress.step(f"lost the API server at {server} ({reason}); the node goes on "
                          "running its pods and waits for it (retrying with backoff)")
            lost = True


async def join(config: JoinConfig, progress: Progress | None = None) -> int:
    """Run the node agent until SIGINT/SIGTERM; returns the process exit code."""
    progress = progress or Progress()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        agent = await start_unless_stopped(start_agent(config, progress), stop, progress)
    except (StartupError, JoinRefused) as e:
        progress.step(f"error: {e}")
        return 1
    except ApiError as e:  # the server refused a step in a way no step expected
        progress.step(f"error: the API server at {config.server} refused: {e.code} "
                      f"{e.reason}: {e.message}")
        return 1
    if agent is None:
        return 0
    agent.supervisor.start("api-monitor", watch_api(agent.client, config.server, progress))
    progress.step(f"joined in {agent.ready_seconds:.2f} s. The node's own credentials (what "
                  f"it may do, no more) are in {config.kubeconfig_path}; from the server:")
    print(f"\n    kubectl get node {config.node} -o wide\n", file=progress.out, flush=True)
    why: TaskFailed | None = await agent.supervisor.wait(stop)
    if why is None:
        progress.step("stopping (signal received); the node's pods stay in the cluster "
                      f"(kubectl drain {config.node}; kubectl delete node {config.node} "
                      "removes it)")
    else:
        progress.step(f"error: {why}; stopping")
    await agent.supervisor.shutdown()
    progress.step("stopped")
    return 0 if why is None else 2
