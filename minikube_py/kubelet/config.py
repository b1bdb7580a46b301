"""Settings of one kubelet, passed in by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class KubeletConfig:
    node_name: str
    data_dir: Path
    # The address pods and the API server use to reach this node (never 127.0.0.1 when pods
    # must reach the node; the composition root picks e.g. the pod bridge gateway).
    node_ip: str
    # The kubelet's HTTPS: its serving certificate and key, and the CA whose client
    # certificates it accepts (the kubelet's tlsCertFile, tlsPrivateKeyFile, clientCAFile).
    tls_cert_file: Path
    tls_private_key_file: Path
    client_ca_file: Path
    pod_cidr: str = ""
    server_host: str = "0.0.0.0"
    server_port: int = 0  # 0: an ephemeral port, reported in daemonEndpoints
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    host_resolv_conf: Path = Path("/etc/resolv.conf")
    # What host-network pods get as /etc/hosts (with their hostAliases after it).
    host_hosts_file: Path = Path("/etc/hosts")
    labels: dict[str, str] = field(default_factory=dict)
    max_pods: int = 110
    lease_duration_seconds: int = 40
    lease_renew_interval: float = 10.0
    # How often the kubelet reads its Node: registers it again when it was deleted, writes
    # the status when it changed (kube's nodeStatusUpdateFrequency)...
    node_status_check_interval: float = 10.0
    # ... and writes it at least this often even when unchanged (nodeStatusReportFrequency).
    node_status_interval: float = 60.0
    # How often the runtime is relisted to notice container exits (the kubelet's PLEG).
    relist_interval: float = 1.0
    orphan_cleanup_interval: float = 30.0
    # How often container and node usage is sampled for the stats endpoints (cAdvisor's
    # housekeeping interval, 10 s as kube's); the first CPU rates need two ticks.
    housekeeping_interval: float = 10.0
    # How often a pod whose volumes follow ConfigMaps, Secrets or tokens is synced again, so
    # a change reaches its files (kube's syncFrequency, shorter: a laptop cluster is small).
    sync_period: float = 10.0
    # Probes running at once, node-wide; the rest wait their turn (late, never skipped).
    max_concurrent_probes: int = 32
    kubelet_version: str = "v1.32.0"

    @property
    def pods_dir(self) -> Path:
        return self.data_dir / "pods"

    @property
    def local_path_dir(self) -> Path:
        """Where the local-path provisioner's helper pods make this node's volumes."""
        return self.data_dir / "local-path"
