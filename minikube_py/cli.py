"""The `minikube-py` command line: serve, status, stop, service, dashboard, store-serve, join,
image load, encryption, token, delete, version."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from minikube_py import __version__
from minikube_py.api.validation import dns1123_label_errors
from minikube_py.apiserver.podsecurity.policy import LEVELS, Level, PodSecurityConfig, Policy
from minikube_py.clustersettings import (
    CLUSTER_CIDR,
    DEFAULT_BRIDGE,
    DEFAULT_DATA_DIR,
    DEFAULT_POD_CIDR,
    SERVICE_CIDR,
    ClusterSettings,
    FlagError,
    SettingsFileError,
    data_dir_in_use_by_other,
    default_node_name,
    load_remembered,
    resolve,
)
from minikube_py.datalock import DataDirLock, busy
from minikube_py.kubeconfigmerge import target_path
from minikube_py.pki.cluster import subject_alt_name

if TYPE_CHECKING:
    from minikube_py.client.interface import ApiClient

KUBERNETES_VERSION = "v1.32.0"
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    import uvloop

    return uvloop.run(coro)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """A Kubernetes cluster in one Python process."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_DATA_DIR,
    show_default=True, help="Where the cluster keeps its state.")


class FlagRefused(click.ClickException):
    """A bad or conflicting flag: one line naming it, exit code 2 (a usage error), and
    nothing started."""

    exit_code = 2


# serve's parameter of each remembered setting (ClusterSettings field -> click name).
SETTING_PARAMS = {"node_name": "node_name", "bridge": "bridge_name", "pod_cidr": "pod_cidr",
                  "cluster_cidr": "cluster_cidr", "service_cidr": "service_cidr",
                  "api_host": "api_host", "api_port": "api_port", "kubelet_port": "kubelet_port",
                  "node_ip": "node_ip", "lb_cidr": "lb_cidr"}


@main.command()
@data_dir_option
@click.option("--api-port", type=int, default=6443, show_default=True,
              help="Port of the Kubernetes API.")
@click.option("--api-host", default="127.0.0.1", show_default=True,
              help="Address the API listens on.")
@click.option("--containerd-socket", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Use this running containerd instead of starting one.")
@click.option("--node-name", default="", help="Name of the local node [default: hostname].")
@click.option("--kubelet-port", type=int, default=10250, show_default=True,
              help="Port of the kubelet's API (0: any free port).")
@click.option("--node-ip", default="", metavar="IP",
              help="The node's address, where other machines reach it and its kubelet "
                   "(an address of this host) [default: the first of --pod-cidr, on the "
                   "pod bridge: reachable from this machine only].")
@click.option("--etcd-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Serve etcd's v3 gRPC API of the store on --etcd-host:PORT, for etcdctl "
                   "(0: not served).")
@click.option("--etcd-host", default="127.0.0.1", show_default=True, metavar="IP",
              help="Where --etcd-port listens. On loopback it is plain and open to anyone "
                   "on this machine, as etcd's default; on any other address it is TLS "
                   "only, with the API server's certificate, and serves only client "
                   "certificates of the cluster CA in group system:masters "
                   "(DATA/pki/admin.crt): etcd's --client-cert-auth.")
@click.option("--datastore-endpoint", default="", metavar="http[s]://HOST:PORT[,...]",
              help="Keep the cluster in this external etcd (v3 API, 3.4 or newer) instead "
                   "of the embedded store, as kube-apiserver's --etcd-servers and k3s's "
                   "--datastore-endpoint do; a comma-separated list fails over between its "
                   "endpoints. Remembered in DATA/datastore-endpoint: a restart without it "
                   "uses the same etcd, and another is refused.")
@click.option("--datastore-cafile", default="", metavar="FILE",
              help="With https:// endpoints: the CA that signed etcd's serving certificate "
                   "[default: the system's CAs].")
@click.option("--datastore-certfile", default="", metavar="FILE",
              help="With https:// endpoints: the client certificate etcd asks for.")
@click.option("--datastore-keyfile", default="", metavar="FILE",
              help="With https:// endpoints: the client certificate's key.")
@click.option("--no-node", is_flag=True,
              help="Run the control plane only: no containerd, kubelet or kube-proxy here "
                   "(nodes join with `minikube-py join`).")
@click.option("--pod-cidr", default=DEFAULT_POD_CIDR, show_default=True,
              help="This node's pod subnet; its first address is the node's address.")
@click.option("--cluster-cidr", default=CLUSTER_CIDR, show_default=True,
              help="The cluster's pod range, holding every node's pod subnet.")
@click.option("--bridge", "bridge_name", default=DEFAULT_BRIDGE, show_default=True,
              help="Name of the node's pod bridge.")
@click.option("--service-cidr", default=SERVICE_CIDR, show_default=True,
              help="Range of Service ClusterIPs; cluster DNS takes its 10th address.")
@click.option("--lb-cidr", default="", metavar="CIDR",
              help="A pool of addresses for LoadBalancer Services (the built-in service "
                   "load balancer), routed onto the pod bridge like the service range; "
                   "remembered [default: none: they get the nodes' addresses].")
@click.option("--node-monitor-grace-period", type=click.FloatRange(1, 3600), default=40.0,
              show_default=True,
              help="Seconds without a lease renewal before a node is NotReady.")
@click.option("--housekeeping-interval", type=click.FloatRange(0.1, 600), default=10.0,
              show_default=True,
              help="Seconds between the kubelets' samples of container and node usage (the "
                   "resource metrics of `kubectl top` and the HPA: their window, and how long "
                   "the API server serves one sample); joined nodes learn it from serve. "
                   "Given on each start (not remembered).")
@click.option("--horizontal-pod-autoscaler-sync-period", "hpa_sync_period", default="15s",
              show_default=True, metavar="DURATION",
              help="How often every HorizontalPodAutoscaler is looked at: its metrics read and "
                   "its target scaled (a Go duration, as kube-controller-manager's flag).")
@click.option("--horizontal-pod-autoscaler-downscale-stabilization", "hpa_downscale",
              default="5m0s", show_default=True, metavar="DURATION",
              help="How long an HPA keeps its highest recent recommendation before it scales "
                   "down (when its spec.behavior.scaleDown sets no window).")
@click.option("--horizontal-pod-autoscaler-tolerance", "hpa_tolerance", default="0.1",
              show_default=True, metavar="FLOAT",
              help="The least relative difference between usage and target that makes an "
                   "HPA scale.")
@click.option("--horizontal-pod-autoscaler-cpu-initialization-period", "hpa_cpu_init",
              default="5m0s", show_default=True, metavar="DURATION",
              help="How long after a pod starts its CPU readings count only once it is Ready "
                   "and a full metrics window has passed since.")
@click.option("--horizontal-pod-autoscaler-initial-readiness-delay", "hpa_readiness_delay",
              default="30s", show_default=True, metavar="DURATION",
              help="How long after a pod starts a change of its readiness still counts as "
                   "its first (for CPU readings).")
@click.option("--simulated-nodes", type=click.IntRange(0, 20000), default=0,
              help="Add N simulated nodes (no containers; tainted, for scale tests).")
@click.option("--tls-san", "tls_sans", multiple=True, metavar="NAME|IP",
              help="Another name or address clients reach the API by, added to its serving "
                   "certificate (repeatable; given on each start).")
@click.option("--pod-security-default", type=click.Choice([lv.value for lv in LEVELS]),
              default=Level.PRIVILEGED.value, show_default=True,
              help="Pod Security level (enforce, audit and warn) of namespaces without "
                   "pod-security.kubernetes.io labels, as kube-apiserver's admission "
                   "configuration sets it (not remembered: give it on every start).")
@click.option("--pod-security-exempt-namespace", "pod_security_exempt", multiple=True,
              metavar="NAMESPACE",
              help="A namespace Pod Security admission leaves alone (repeatable).")
@click.option("--authorization-mode", type=click.Choice(["Node,RBAC", "AlwaysAllow"]),
              default="Node,RBAC", show_default=True,
              help="How requests are authorized, as kube-apiserver's flag: the Node "
                   "authorizer and RBAC, or AlwaysAllow (any authenticated client may do "
                   "anything; for measurements, never for a cluster others can reach).")
@click.option("--cluster-init", is_flag=True,
              help="Make this the first member of a replicated store that other control-plane "
                   "members join (with --server); harmless on a data dir that is one already.")
@click.option("--server", "server_url", default="", metavar="https://SERVER:PORT",
              help="Join the cluster at SERVER as a control-plane member (its store a Raft "
                   "member: a learner first, then a voter); needs --token the first time.")
@click.option("--token", "join_token", envvar="MINIKUBE_PY_TOKEN", default="",
              help="With --server: the cluster's server token (DATA/server-token of its "
                   "first member). Also read from $MINIKUBE_PY_TOKEN.")
@click.option("--peer-port", type=click.IntRange(1, 65535), default=2380, show_default=True,
              help="Port the store's Raft peers reach this member at (mutual TLS).")
@click.option("--heartbeat-interval", "heartbeat_ms", type=click.IntRange(10, 10_000),
              default=100, show_default=True,
              help="Raft heartbeat interval of a store member, ms (as etcd's flag).")
@click.option("--election-timeout", "election_ms", type=click.IntRange(50, 60_000),
              default=1000, show_default=True,
              help="Raft election timeout of a store member, ms (as etcd's flag; at least "
                   "5 heartbeat intervals).")
@click.option("--no-kubeconfig-merge", is_flag=True,
              help="Leave $KUBECONFIG (its first file) or ~/.kube/config alone. Without it, "
                   "serve merges its cluster, user and context (minikube-py, or "
                   "minikube-py-<data dir name> for a data dir not the default) into that "
                   "file and makes the context current, as minikube and kind do; `delete` "
                   "takes out exactly that. Given on each start (not remembered).")
@click.pass_context
def serve(ctx: click.Context, data_dir: Path, api_port: int, api_host: str,
          containerd_socket: Path | None, node_name: str, kubelet_port: int, node_ip: str,
          etcd_port: int, etcd_host: str, datastore_endpoint: str, datastore_cafile: str,
          datastore_certfile: str, datastore_keyfile: str, no_node: bool, pod_cidr: str,
          cluster_cidr: str, bridge_name: str, service_cidr: str, lb_cidr: str,
          node_monitor_grace_period: float, housekeeping_interval: float,
          hpa_sync_period: str, hpa_downscale: str, hpa_tolerance: str, hpa_cpu_init: str,
          hpa_readiness_delay: str, simulated_nodes: int,
          tls_sans: tuple[str, ...], pod_security_default: str,
          pod_security_exempt: tuple[str, ...], authorization_mode: str,
          cluster_init: bool, server_url: str, join_token: str, peer_port: int,
          heartbeat_ms: int, election_ms: int, no_kubeconfig_merge: bool) -> None:
    """Start the cluster and run it until Ctrl-C (or `minikube-py stop`).

    The data dir remembers the cluster's settings: a restart without flags reuses them. The
    node name, the bridge and the pod, cluster and service ranges cannot change afterwards;
    the API and kubelet ports and the API address can."""
    from minikube_py.composition import serve as serve_cluster
    from minikube_py.config import ServeConfig
    from minikube_py.controllers.hpa_flags import AutoscalerFlagError, autoscaler_settings
    from minikube_py.controllers.manager import ControllerSettings

    data_dir = data_dir.expanduser().absolute()
    try:
        autoscaler = autoscaler_settings(
            {"sync-period": hpa_sync_period, "downscale-stabilization": hpa_downscale,
             "cpu-initialization-period": hpa_cpu_init,
             "initial-readiness-delay": hpa_readiness_delay}, hpa_tolerance)
    except AutoscalerFlagError as e:
        raise FlagRefused(str(e)) from e
    # Only the flags given on the command line: the others come from the data dir first.
    given = {name: ctx.params[param] for name, param in SETTING_PARAMS.items()
             if ctx.get_parameter_source(param) is not ParameterSource.DEFAULT}
    # A running serve owns the data dir: say so rather than compare flags with it.
    holder = DataDirLock(data_dir).holder()
    if holder is not None:
        raise click.ClickException(str(busy(data_dir, holder)))
    taken = data_dir_in_use_by_other(data_dir, "serve")
    if taken is not None:
        raise click.ClickException(taken)
    defaults = ClusterSettings(node_name=default_node_name())
    controllers = ControllerSettings(node_monitor_grace_period=node_monitor_grace_period,
                                     autoscaler=autoscaler)
    try:
        settings = resolve(given, load_remembered(data_dir), defaults,
                           node_mask_size=controllers.node_cidr_mask_size)
    except FlagError as e:
        raise FlagRefused(str(e)) from e
    except SettingsFileError as e:
        raise click.ClickException(str(e)) from e
    if no_node and containerd_socket is not None:
        raise FlagRefused("--no-node runs no kubelet: it takes no --containerd-socket")
    if no_node and not settings.node_ip and not server_url:
        raise FlagRefused("--no-node needs --node-ip: the address joined nodes reach the "
                          "API and cluster DNS at")
    if cluster_init and server_url:
        raise FlagRefused("--cluster-init makes a new cluster; --server joins one: not both")
    if server_url and not no_node and not settings.node_ip:
        raise FlagRefused("--server with a node needs --node-ip: the member's address on the "
                          "machines' network, where the other members and nodes reach it "
                          "(or add --no-node)")
    if server_url and not no_node and "pod_cidr" in given:
        raise FlagRefused("--pod-cidr: a member's node gets its pod range from the cluster "
                          "(the node IPAM controller), as a joined machine's does")
    if server_url and not no_node and containerd_socket is not None:
        raise FlagRefused("--server with a node runs its own containerd: it takes no "
                          "--containerd-socket")
    if server_url and not join_token and not (data_dir / "store" / "member.json").exists():
        raise FlagRefused("--server needs --token the first time (DATA/server-token of "
                          "the cluster's first member)")
    if election_ms < 5 * heartbeat_ms:
        raise FlagRefused(f"--election-timeout ({election_ms} ms) must be at least 5 "
                          f"--heartbeat-interval ({heartbeat_ms} ms)")
    try:
        etcd_ip = ipaddress.ip_address(etcd_host)
    except ValueError:
        raise FlagRefused(f"--etcd-host {etcd_host!r} is not an IP address") from None
    if etcd_host != "127.0.0.1" and not etcd_port:
        raise FlagRefused("--etcd-host needs --etcd-port (the etcd API is not served "
                          "without one)")
    if etcd_ip.is_unspecified:
        raise FlagRefused("--etcd-host must be one address (its certificate names it), "
                          "not every address")
    if datastore_endpoint or datastore_cafile or datastore_certfile or datastore_keyfile:
        from minikube_py.etcdapi.etcdkv import EndpointError, EtcdTLS, check_endpoints
        if etcd_port:
            raise FlagRefused("--etcd-port serves the embedded store's etcd API: with "
                              "--datastore-endpoint there is no embedded store to serve "
                              "(use the external etcd's own endpoint)")
        try:
            tls = EtcdTLS(datastore_cafile, datastore_certfile, datastore_keyfile)
        except EndpointError as e:
            raise FlagRefused(str(e)) from e
        try:
            if datastore_endpoint:
                check_endpoints(datastore_endpoint, tls)
        except EndpointError as e:
            raise FlagRefused(f"--datastore-endpoint {e}") from e
    if datastore_endpoint and (cluster_init or server_url):
        raise FlagRefused("--cluster-init and --server make the embedded store a Raft group: "
                          "with --datastore-endpoint the cluster is in that etcd (run several "
                          "API servers on it instead)")
    try:
        sans = tuple(subject_alt_name(san) for san in tls_sans)
    except ValueError as e:
        raise FlagRefused(f"--tls-san {e}") from e
    for ns in pod_security_exempt:
        if dns1123_label_errors(ns):
            raise FlagRefused(f"Invalid value for --pod-security-exempt-namespace: {ns!r} is "
                              "not a namespace name")
    config = ServeConfig(
        data_dir=data_dir, api_host=settings.api_host, api_port=settings.api_port,
        containerd_socket=containerd_socket, node_name=settings.node_name,
        kubelet_port=settings.kubelet_port, pod_cidr=settings.pod_cidr,
        node_address=settings.node_ip, run_node=not no_node, etcd_port=etcd_port,
        etcd_host=etcd_host,
        datastore_endpoint=datastore_endpoint, datastore_cafile=datastore_cafile,
        datastore_certfile=datastore_certfile, datastore_keyfile=datastore_keyfile,
        bridge_name=settings.bridge, service_cidr=settings.service_cidr,
        simulated_nodes=simulated_nodes, tls_sans=sans,
        housekeeping_interval=housekeeping_interval,
        controllers=dataclasses.replace(
            controllers, cluster_cidr=settings.cluster_cidr, lb_cidr=settings.lb_cidr,
            # Without a pool, LoadBalancers answer on the node's addresses: not on its own
            # ports.
            node_reserved_ports=(*controllers.node_reserved_ports, *(("TCP", port) for port in (
                settings.api_port, settings.kubelet_port, etcd_port,
                peer_port if cluster_init or server_url else 0) if port))),
        pod_security=PodSecurityConfig(Policy.at(Level(pod_security_default)),
                                       exempt_namespaces=frozenset(pod_security_exempt)),
        authorization_mode=authorization_mode,
        cluster_init=cluster_init, server_url=server_url.rstrip("/"), join_token=join_token,
        peer_port=peer_port, heartbeat_ms=heartbeat_ms, election_ms=election_ms,
        merge_kubeconfig_into=None if no_kubeconfig_merge
        else target_path(os.environ, Path.home()),
    )
    sys.exit(_run(serve_cluster(config)))


@main.command()
@data_dir_option
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def status(data_dir: Path, output: str) -> None:
    """Whether the cluster on the data dir runs, and how it is: serve's pid and uptime, the
    API, the store and its leader, containerd, the nodes, the pods and the kubeconfig.

    Exit code 0 when it is healthy (serve runs, the API is ready, every node is Ready, the
    store has a leader), 1 when it is not running, 2 when it runs but is not healthy."""
    import json
    import time

    from minikube_py.status_commands import cluster_status

    report = _run(cluster_status(data_dir.expanduser().absolute(), now=time.time()))
    click.echo(json.dumps(report.to_json(), indent=2) if output == "json" else report.text())
    sys.exit(report.code)


@main.command()
@data_dir_option
@click.option("--timeout", type=click.FloatRange(0, 3600), default=60.0, show_default=True,
              help="Seconds to wait for it to stop.")
def stop(data_dir: Path, timeout: float) -> None:
    """Stop the serve (or join) running on the data dir, as Ctrl-C does: SIGTERM, then wait
    until it has let go of the data dir. Its pods' containers keep running, for the next
    start to adopt. Nothing running: says so, exit code 0."""
    import time

    from minikube_py.stop_command import StopFailed, stop_holder

    try:
        stop_holder(data_dir.expanduser().absolute(), timeout=timeout, clock=time.monotonic,
                    say=click.echo)
    except StopFailed as e:
        raise click.ClickException(str(e)) from e


@main.command()
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("--url", "url_only", is_flag=True, help="Print the URLs only; open nothing.")
@data_dir_option
def service(name: str, namespace: str, url_only: bool, data_dir: Path) -> None:
    """Print a URL per port of Service NAME that reaches it from this machine (and open the
    first with xdg-open unless --url): a LoadBalancer's ingress IP, a NodePort on the node's
    address, else the ClusterIP (the service range is routed here)."""
    import shutil
    import subprocess

    from minikube_py.service_command import ServiceRefused, service_urls_of

    def lookup(client: ApiClient, _: bytes) -> Awaitable[tuple[list[str], str]]:
        return service_urls_of(client, name, namespace)

    try:
        urls, warning = _token_command(data_dir, lookup)
    except ServiceRefused as e:
        raise click.ClickException(str(e)) from e
    if warning:
        click.echo(f"warning: {warning}", err=True)
    for url in urls:
        click.echo(url)
    opener = shutil.which("xdg-open")
    if not url_only and opener and urls:
        subprocess.run([opener, urls[0]], check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


@main.command()
@click.option("--url", "url_only", is_flag=True,
              help="Print the URL alone (first line) and keep serving; open no browser.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Listen on 127.0.0.1:PORT (0: any free port).")
@data_dir_option
def dashboard(url_only: bool, port: int, data_dir: Path) -> None:
    """Serve a live, read-only web page of the cluster on 127.0.0.1 and open it in a browser
    (when there is a display; else print its URL): nodes and their usage, workloads and
    their rollouts, pods, services and their endpoints, events, a pod's log. It carries the
    admin's credentials (DATA/kubeconfig), so the page needs no login; it answers only on
    loopback, only to its own address, and only GETs. Serves until Ctrl-C."""
    import webbrowser

    from minikube_py.dashboard.command import DashboardFailed, has_display, run_dashboard

    def open_url(url: str) -> bool:
        return has_display(os.environ) and webbrowser.open(url)

    try:
        _run(run_dashboard(data_dir.expanduser().absolute(), port=port, url_only=url_only,
                           say=click.echo, open_url=open_url))
    except DashboardFailed as e:
        raise click.ClickException(str(e)) from e


@main.command("store-serve")
@data_dir_option
@click.option("--etcd-port", type=click.IntRange(0, 65535), default=2379, show_default=True,
              help="Serve etcd's v3 gRPC API on 127.0.0.1:PORT (0: any free port; loopback "
                   "only: it has no authentication).")
@click.option("--name", default="minikube-py", show_default=True,
              help="The member's name, as etcd's MemberList shows it.")
def store_serve(data_dir: Path, etcd_port: int, name: str) -> None:
    """Run the embedded store on its own, etcd-style, until Ctrl-C.

    One store member (WAL fsynced on every commit, in DIR/store) serving etcd's v3 gRPC
    API, for etcdctl and etcd client libraries; no Kubernetes API, containerd or pod
    network. A data dir used by `serve` can be served this way while that is stopped."""
    from minikube_py.etcdapi.standalone import StandaloneConfig, serve_member

    config = StandaloneConfig(data_dir=data_dir.expanduser().absolute(), etcd_port=etcd_port,
                              name=name)
    sys.exit(_run(serve_member(config)))


# join's parameter of each setting a joined machine remembers (JoinConfig field -> click name).
JOIN_SETTING_PARAMS = {"node_name": "node_name", "bridge_name": "bridge_name",
                       "node_ip": "node_ip", "kubelet_port": "kubelet_port"}


@main.command()
@click.argument("server", metavar="https://SERVER:PORT")
@click.option("--token", envvar="MINIKUBE_PY_TOKEN", default=None,
              help="The join token (K10<CA hash>::<id>.<secret>: the server's DATA/token or "
                   "one from `minikube-py token create`); not needed once this machine has "
                   "joined. Also read from $MINIKUBE_PY_TOKEN.")
@data_dir_option
@click.option("--node-name", default="", help="Name of this node [default: hostname].")
@click.option("--node-ip", default="", metavar="IP",
              help="This node's address, where the server and the other nodes reach it "
                   "[default: the address this machine reaches the server from].")
@click.option("--bridge", "bridge_name", default=DEFAULT_BRIDGE, show_default=True,
              help="Name of the node's pod bridge.")
@click.option("--kubelet-port", type=click.IntRange(1, 65535), default=10250,
              show_default=True, help="Port of the kubelet's API.")
@click.pass_context
def join(ctx: click.Context, server: str, token: str | None, data_dir: Path, node_name: str,
         node_ip: str, bridge_name: str, kubelet_port: int) -> None:
    """Make this machine a node of the cluster at SERVER, and run it until Ctrl-C.

    It runs its own containerd, the kubelet and kube-proxy, and routes to the other nodes'
    pods. The first join needs the token; the node then keeps its own certificate in the
    data dir (and DATA/kubeconfig with it), so a restart needs none."""
    from minikube_py.joinagent import JoinConfig, resolve_join_settings
    from minikube_py.joinagent import join as run_agent

    data_dir = data_dir.expanduser().absolute()
    holder = DataDirLock(data_dir).holder()
    if holder is not None:
        raise click.ClickException(str(busy(data_dir, holder)))
    taken = data_dir_in_use_by_other(data_dir, "join")
    if taken is not None:
        raise click.ClickException(taken)
    given = {name: ctx.params[param] for name, param in JOIN_SETTING_PARAMS.items()
             if ctx.get_parameter_source(param) is not ParameterSource.DEFAULT}
    try:
        settings = resolve_join_settings(given, load_remembered(data_dir),
                                         default_node=default_node_name())
    except FlagError as e:
        raise FlagRefused(str(e)) from e
    except SettingsFileError as e:
        raise click.ClickException(str(e)) from e
    config = JoinConfig(server=server, data_dir=data_dir, token=token, **settings)
    sys.exit(_run(run_agent(config)))


@main.group()
def image() -> None:
    """Manage the node's images."""


@image.command("load")
@click.argument("archive", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@data_dir_option
@click.option("--containerd-socket", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="containerd to load into [default: the cluster's own].")
def image_load(archive: Path, data_dir: Path, containerd_socket: Path | None) -> None:
    """Import an OCI or docker-archive tarball into the node's containerd."""
    from minikube_py.runtime.containerd import ContainerdConfig
    from minikube_py.runtime.images import ImageImportError, load_image_archive

    socket = containerd_socket or ContainerdConfig(data_dir=data_dir.expanduser()).socket_path
    if not socket.exists():
        raise click.ClickException(
            f"no containerd socket at {socket}: is `minikube-py serve --data-dir {data_dir}` "
            "running?")
    try:
        names = asyncio.run(load_image_archive(socket, archive))
    except ImageImportError as e:
        raise click.ClickException(str(e)) from e
    for name in names:
        click.echo(f"loaded {name}")


@image.command("ls")
@data_dir_option
@click.option("--containerd-socket", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="containerd to list [default: the cluster's own].")
def image_ls(data_dir: Path, containerd_socket: Path | None) -> None:
    """List the images the node's containerd holds (what pods can run without a pull)."""
    from minikube_py.runtime.containerd import ContainerdConfig

    socket = containerd_socket or ContainerdConfig(data_dir=data_dir.expanduser()).socket_path
    if not socket.exists():
        raise click.ClickException(
            f"no containerd socket at {socket}: is `minikube-py serve --data-dir {data_dir}` "
            "running?")
    click.echo(asyncio.run(_list_images(socket)), nl=False)


async def _list_images(socket: Path) -> str:
    from minikube_py.kubelet.cri import CriClient
    from minikube_py.runtime.images import image_table

    cri = CriClient(socket)
    try:
        images = await cri.list_images()
    finally:
        await cri.close()
    return image_table([(list(i.repo_tags) or list(i.repo_digests), i.id, int(i.size))
                        for i in images])


@main.group()
def encryption() -> None:
    """Secrets encrypted at rest (keys in DATA/pki/encryption-config.yaml)."""


@encryption.command("rotate-key")
@data_dir_option
def encryption_rotate_key(data_dir: Path) -> None:
    """Encrypt every Secret with a new key, then remove the old keys.

    On a running cluster serve does it while it goes on serving; on a stopped one it is
    done on the data dir. Then the store keeps no older revision (it is compacted), so
    its files hold nothing the old keys could decrypt, nor plain text. Run it as the user
    that runs serve."""
    from minikube_py.encryption_commands import ROTATE_KEY

    result = _encryption_command(data_dir, ROTATE_KEY)
    removed = ", ".join(result["removed"]) or "none"
    click.echo(f"Secrets are encrypted with the key {result['key']} "
               f"({result['reencrypted']} re-encrypted; keys removed: {removed})")


@encryption.command("status")
@data_dir_option
def encryption_status(data_dir: Path) -> None:
    """Show the key that encrypts Secrets, and how many Secrets each key holds."""
    from minikube_py.encryption_commands import STATUS

    result = _encryption_command(data_dir, STATUS)
    click.echo(f"config: {result['config']}")
    click.echo(f"writes with: {result['writeKey']}")
    click.echo(f"keys: {', '.join(result['keys']) or 'none'}")
    for key, count in result["secrets"].items():
        click.echo(f"secrets under {key}: {count}")
    last = result.get("lastRotation")
    if last:
        click.echo(f"last rotation: {last['at']} to {last['key']} "
                   f"({last['reencrypted']} re-encrypted)")


def _encryption_command(data_dir: Path, command: str) -> dict[str, Any]:
    from minikube_py.encryption_commands import CommandFailed, run_command

    try:
        return _run(run_command(data_dir.expanduser().absolute(), command))
    except CommandFailed as e:
        raise click.ClickException(str(e)) from e


@main.group()
def token() -> None:
    """Manage bootstrap tokens, with which other machines join the cluster (kube's
    bootstrap-token Secrets in kube-system; the running cluster, as DATA/kubeconfig's
    admin)."""


@token.command("create")
@data_dir_option
@click.option("--ttl", default="24h", show_default=True,
              help="How long the token is valid (e.g. 1h30m; 0: never expires).")
@click.option("--description", default="", help="What the token is for.")
def token_create(data_dir: Path, ttl: str, description: str) -> None:
    """Make a token and print it in k3s's secure format (K10<CA hash>::<id>.<secret>)."""
    import secrets
    import time

    from minikube_py.pki.jointoken import TokenFormatError, parse_ttl
    from minikube_py.token_commands import create_token

    try:
        seconds = parse_ttl(ttl)
    except TokenFormatError as e:
        raise FlagRefused(f"--ttl: {e}") from e
    made = _token_command(data_dir, lambda client, ca: create_token(
        client, ca, now=time.time(), randbelow=secrets.randbelow, ttl=seconds,
        description=description))
    click.echo(str(made))


@token.command("list")
@data_dir_option
def token_list(data_dir: Path) -> None:
    """List the bootstrap tokens (kubeadm's columns)."""
    import time

    from minikube_py.pki.jointoken import LIST_COLUMNS, format_table, list_row
    from minikube_py.token_commands import list_tokens

    infos = _token_command(data_dir, lambda client, _: list_tokens(client))
    now = time.time()
    click.echo(format_table(LIST_COLUMNS, [list_row(i, now) for i in infos]))


@token.command("delete")
@click.argument("tokens", nargs=-1, required=True, metavar="ID|TOKEN...")
@data_dir_option
def token_delete(tokens: tuple[str, ...], data_dir: Path) -> None:
    """Delete tokens, each named by its id, its <id>.<secret> or its K10 form."""
    from minikube_py.token_commands import delete_token

    async def delete_all(client: ApiClient, _: bytes) -> None:
        for ref in tokens:  # each said as it goes: a later failure does not hide it
            click.echo(f'bootstrap token "{await delete_token(client, ref)}" deleted')

    _token_command(data_dir, delete_all)


def _token_command(data_dir: Path,
                   action: Callable[[ApiClient, bytes], Awaitable[T]]) -> T:
    from minikube_py.token_commands import TokenCommandFailed, as_admin

    try:
        return _run(as_admin(data_dir.expanduser().absolute(), action))
    except TokenCommandFailed as e:
        raise click.ClickException(str(e)) from e


@main.command()
@data_dir_option
def members(data_dir: Path) -> None:
    """List the store's members: role, Raft match index and lag (as the leader knows them)."""
    from minikube_py.member_commands import format_members, list_members

    body = _member_command(lambda: list_members(data_dir.expanduser().absolute()))
    click.echo(format_members(body))


@main.group()
def member() -> None:
    """Change the store's members."""


@member.command("remove")
@click.argument("name")
@data_dir_option
def member_remove(name: str, data_dir: Path) -> None:
    """Remove member NAME from the store's Raft group (stop it first; its data dir cannot
    rejoin: start it on a new one with --server)."""
    from minikube_py.member_commands import format_members, remove_member

    body = _member_command(lambda: remove_member(data_dir.expanduser().absolute(), name))
    click.echo(f"member {name} removed")
    click.echo(format_members(body))


def _member_command(action: Callable[[], Coroutine[Any, Any, T]]) -> T:
    from minikube_py.token_commands import TokenCommandFailed

    try:
        return _run(action())
    except TokenCommandFailed as e:
        raise click.ClickException(str(e)) from e


@main.command()
@data_dir_option
def delete(data_dir: Path) -> None:
    """Delete a stopped cluster: its containers, what it owns on the host (pod bridge,
    routes, service rules; nothing it cannot prove is its own) and its data dir."""
    from minikube_py.teardown import ClusterRunning, NoCluster, delete_cluster

    data_dir = data_dir.expanduser().absolute()
    try:
        removed = _run(delete_cluster(data_dir))
    except (ClusterRunning, NoCluster) as e:
        raise click.ClickException(str(e)) from e
    for what in removed:
        click.echo(what)


@main.command()
def version() -> None:
    """Print the versions of minikube-py and of the Kubernetes API it serves."""
    click.echo(f"minikube-py {__version__} (Kubernetes API {KUBERNETES_VERSION})")


if __name__ == "__main__":
    main()
