"""Typed settings of a `minikube-py serve` process, gathered by the CLI and read by the
composition root."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from minikube_py.api.clusternetwork import ClusterNetwork
from minikube_py.apiserver.podsecurity.policy import PodSecurityConfig
from minikube_py.clustersettings import (
    DEFAULT_BRIDGE,
    DEFAULT_DATA_DIR,
    DEFAULT_POD_CIDR,
    SERVICE_CIDR,
    WILDCARD_HOSTS,
    ClusterSettings,
    default_node_name,
)
from minikube_py.controllers.manager import ControllerSettings
from minikube_py.pki.cluster import PkiLayout


@dataclass(frozen=True, slots=True)
class ServeConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    api_host: str = "127.0.0.1"
    api_port: int = 6443
    # A running containerd to use instead of starting our own.
    containerd_socket: Path | None = None
    node_name: str = ""
    # This node's pod subnet. Its first address, on the node's bridge, is the node's
    # InternalIP: reachable from the host and every pod, never on the machine's uplink.
    pod_cidr: str = DEFAULT_POD_CIDR
    bridge_name: str = DEFAULT_BRIDGE
    service_cidr: str = SERVICE_CIDR
    kubelet_port: int = 10250
    # etcd's v3 gRPC API of the store on etcd_host:PORT (0: not served); off loopback it is
    # TLS only and for the cluster's admins.
    etcd_port: int = 0
    etcd_host: str = "127.0.0.1"
    # An external etcd (http[s]://HOST:PORT, or several, comma-separated) holding the
    # cluster instead of the embedded store ("": the one DATA/datastore-endpoint remembers,
    # or the embedded store in DATA/store); and the TLS files to reach it with.
    datastore_endpoint: str = ""
    datastore_cafile: str = ""
    datastore_certfile: str = ""
    datastore_keyfile: str = ""
    # The node's address (--node-ip): where other machines reach this node; "": the first
    # address of its pod range, on its bridge (reachable only from this machine).
    node_address: str = ""
    # A control plane without a local node (k3s's --disable-agent): no containerd, kubelet
    # or kube-proxy here; cluster DNS and the routes to the nodes' pods stay.
    run_node: bool = True
    # kwok-like nodes without containers, for scale tests (see minikube_py/simnode).
    simulated_nodes: int = 0
    # How often kubelets sample usage (the resource metrics' resolution): serve --flag.
    housekeeping_interval: float = 10.0
    # More names and addresses the API server's certificate holds (--tls-san).
    tls_sans: tuple[str, ...] = ()
    controllers: ControllerSettings = field(default_factory=ControllerSettings)
    # Pod Security admission: the policy of namespaces without labels (privileged, as
    # kube's) and the exemptions.
    pod_security: PodSecurityConfig = field(default_factory=PodSecurityConfig)
    # A control-plane member (issue 9): --cluster-init makes the first member of a store
    # cluster others join; --server URL with --token joins one. Neither: a store of one
    # member that never grows (no peer port).
    cluster_init: bool = False
    server_url: str = ""
    join_token: str = ""
    peer_port: int = 2380
    # Raft's clock (etcd's --heartbeat-interval and --election-timeout, in ms).
    heartbeat_ms: int = 100
    election_ms: int = 1000
    # kube-apiserver's --authorization-mode: "Node,RBAC" (the default), or "AlwaysAllow"
    # (every authenticated request allowed; for measuring what authorization costs).
    authorization_mode: str = "Node,RBAC"
    # The kubeconfig our cluster, user and context are merged into once the cluster is ready
    # ($KUBECONFIG's first file or ~/.kube/config); None: none (--no-kubeconfig-merge).
    merge_kubeconfig_into: Path | None = None

    @property
    def clustered(self) -> bool:
        """Whether the store is (or becomes) a member of a cluster of stores."""
        return self.cluster_init or bool(self.server_url)

    @property
    def advertise_host(self) -> str:
        """Where other members reach this one (its peer port and its API)."""
        if self.node_address:
            return self.node_address
        return "127.0.0.1" if self.api_host in (*WILDCARD_HOSTS, "") else self.api_host

    @property
    def node(self) -> str:
        return self.node_name or default_node_name()

    @property
    def cluster(self) -> ClusterSettings:
        """The settings the data dir remembers (the cluster's pod range is the controllers')."""
        return ClusterSettings(
            node_name=self.node, bridge=self.bridge_name, pod_cidr=self.pod_cidr,
            cluster_cidr=self.controllers.cluster_cidr, service_cidr=self.service_cidr,
            api_host=self.api_host, api_port=self.api_port, kubelet_port=self.kubelet_port,
            node_ip=self.node_address, lb_cidr=self.controllers.lb_cidr)

    @property
    def cluster_dns(self) -> str:
        """The cluster DNS service IP: the 10th address of the service range, as kubeadm
        and kind do (10.96.0.10 by default)."""
        return self.cluster_network.cluster_dns

    @property
    def node_ip(self) -> str:
        """The node's address: --node-ip, else the first of its pod subnet, on the bridge
        serve makes; with a foreign containerd (whose pod network is not ours) the node is on
        loopback."""
        if self.node_address:
            return self.node_address
        if self.containerd_socket is not None:
            return "127.0.0.1"
        return str(next(ipaddress.ip_network(self.pod_cidr).hosts()))

    @property
    def cluster_network(self) -> ClusterNetwork:
        """What joining machines are told of the cluster's ranges."""
        return ClusterNetwork(
            cluster_cidr=self.controllers.cluster_cidr, service_cidr=self.service_cidr,
            node_monitor_grace_period=self.controllers.node_monitor_grace_period,
            lb_cidr=self.controllers.lb_cidr, housekeeping_interval=self.housekeeping_interval)

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def token_path(self) -> Path:
        """The join token (K10 format) serve keeps for other machines."""
        return self.data_dir / "token"

    @property
    def server_token_path(self) -> Path:
        """The token that makes control-plane members (`serve --server`), kept by the
        first member of a cluster of store members; it joins nodes too."""
        return self.data_dir / "server-token"

    @property
    def pki(self) -> PkiLayout:
        return PkiLayout(self.data_dir / "pki")

    @property
    def api_url(self) -> str:
        host = "127.0.0.1" if self.api_host in (*WILDCARD_HOSTS, "") else self.api_host
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.api_port}"
