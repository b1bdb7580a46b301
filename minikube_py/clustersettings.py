"""What a data dir remembers about its cluster (DIR/cluster.json), how `serve`'s flags are
checked against it, and the validation of every such flag. Pure, but for reading and
writing that one file.

Some settings are the cluster's identity: Services keep their ClusterIPs, pods their
addresses, the node its name, the host its bridge and routes. Once a cluster owns them they
are fixed: a restart without the flag reuses them and a different value is refused. The
API and kubelet endpoints may move: a flag given replaces what was remembered.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from minikube_py.api.validation import dns1123_subdomain_errors

SETTINGS_FILE = "cluster.json"
# The data dir's note that its cluster lives in an external etcd (`RememberedDatastore`).
EXTERNAL_DATASTORE_FILE = "datastore-endpoint"
DEFAULT_DATA_DIR = Path.home() / ".minikube-py"
# What minikube-py wrote before cluster.json: the bridge and the pod and service ranges,
# (re)written by every serve, owned or not. Read as remembered settings, never written.
LEGACY_NODE_FILE = "node.json"
FORMAT_VERSION = 1

DEFAULT_BRIDGE = "mkpy0"
DEFAULT_POD_CIDR = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/12"
# kube-apiserver refuses a larger IPv4 service range (more than 20 host bits).
SERVICE_CIDR_MAX_PREFIX = 12
# The cluster DNS takes the 10th address of the service range: /28 (16) is the least.
SERVICE_CIDR_MIN_PREFIX = 28
# The load-balancer pool (--lb-cidr) is at most a /16: it is routed onto the bridge whole.
LB_CIDR_MAX_PREFIX = 16
# A pod range holds the node's address (its first) and at least one pod.
POD_CIDR_MIN_PREFIX = 30
MAX_INTERFACE_NAME = 15  # IFNAMSIZ without the NUL
_INTERFACE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOST_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
                           r"(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$")
WILDCARD_HOSTS = ("0.0.0.0", "::")
# Ranges no cluster may use: this host, link-local, multicast and the reserved block.
UNUSABLE_RANGES = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"))


@dataclass(frozen=True, slots=True)
class RememberedDatastore:
    """The external etcd a data dir's cluster is kept in: --datastore-endpoint (one or a
    comma-separated list) and the TLS files it was reached with, as last started."""

    endpoints: str
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""

    @property
    def endpoint_set(self) -> frozenset[str]:
        return frozenset(e.strip() for e in self.endpoints.split(",") if e.strip())

    def to_text(self) -> str:
        return json.dumps({"endpoints": self.endpoints, "cafile": self.cafile,
                           "certfile": self.certfile, "keyfile": self.keyfile}, indent=2) + "\n"

    @classmethod
    def from_text(cls, text: str) -> RememberedDatastore:
        """Also the older note: the endpoint alone, as a line of text."""
        try:
            body = json.loads(text)
        except ValueError:
            return cls(text.strip())
        if not isinstance(body, dict):
            return cls(text.strip())
        return cls(str(body.get("endpoints", "")), str(body.get("cafile", "")),
                   str(body.get("certfile", "")), str(body.get("keyfile", "")))


def read_remembered_datastore(data_dir: Path) -> RememberedDatastore | None:
    try:
        text = (data_dir / EXTERNAL_DATASTORE_FILE).read_text()
    except FileNotFoundError:
        return None
    return RememberedDatastore.from_text(text)


def write_remembered_datastore(data_dir: Path, datastore: RememberedDatastore) -> None:
    path = data_dir / EXTERNAL_DATASTORE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(datastore.to_text())
    os.replace(tmp, path)


def serve_data_dir(data_dir: Path) -> bool:
    """Whether `serve` made a cluster here (its store or its CA's key)."""
    return (data_dir / "store").exists() or (data_dir / "pki" / "ca.key").exists()


def join_data_dir(data_dir: Path) -> bool:
    """Whether `join` made a node here (its own client certificate)."""
    return (data_dir / "pki" / "kubelet-client.crt").exists()


def data_dir_in_use_by_other(data_dir: Path, command: str) -> str | None:
    """Why `command` ("serve" or "join") may not use `data_dir` (None: it may): one holds a
    cluster, the other a node, and neither may take the other's files (the CA, the
    kubeconfig) for its own."""
    other = join_data_dir(data_dir) if command == "serve" else serve_data_dir(data_dir)
    if not other:
        return None
    held = "a node `join` made" if command == "serve" else "the cluster `serve` made"
    return (f"{data_dir} holds {held}: {command} with another --data-dir, or remove it "
            f"first (minikube-py delete --data-dir {data_dir})")


def default_node_name() -> str:
    return socket.gethostname().split(".")[0].lower() or "minikube-py"


class FlagError(ValueError):
    """A flag's value is invalid or conflicts with the cluster; the message names the flag."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag


class SettingsFileError(Exception):
    """cluster.json (or node.json) cannot be read; the message names the file."""


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    node_name: str
    bridge: str = DEFAULT_BRIDGE
    pod_cidr: str = DEFAULT_POD_CIDR
    cluster_cidr: str = CLUSTER_CIDR
    service_cidr: str = SERVICE_CIDR
    api_host: str = "127.0.0.1"
    api_port: int = 6443
    kubelet_port: int = 10250
    # The node's address (its InternalIP, where other nodes and the API reach it); "": the
    # first address of its pod range, on its bridge (a cluster of one machine).
    node_ip: str = ""
    # The addresses LoadBalancer Services are given (controllers/servicelb.py), routed onto
    # the bridge as the service range is; "": no pool (they get the nodes' addresses).
    lb_cidr: str = ""


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # the ClusterSettings field
    flag: str
    key: str  # in cluster.json
    fixed: bool  # part of the cluster's identity: cannot change once remembered
    what: str  # for messages


SETTINGS: tuple[Setting, ...] = (
    Setting("node_name", "--node-name", "nodeName", True, "node name"),
    Setting("bridge", "--bridge", "bridge", True, "pod bridge"),
    Setting("pod_cidr", "--pod-cidr", "podCIDR", True, "node's pod range"),
    Setting("cluster_cidr", "--cluster-cidr", "clusterCIDR", True, "cluster's pod range"),
    Setting("service_cidr", "--service-cidr", "serviceCIDR", True, "service range"),
    Setting("api_host", "--api-host", "apiHost", False, "API address"),
    Setting("api_port", "--api-port", "apiPort", False, "API port"),
    Setting("kubelet_port", "--kubelet-port", "kubeletPort", False, "kubelet port"),
    Setting("node_ip", "--node-ip", "nodeIP", False, "node address"),
    # Fixed once set (Services hold its addresses); a cluster without one may take one.
    Setting("lb_cidr", "--lb-cidr", "lbCIDR", True, "load-balancer range"),
)
# Settings a cluster.json written before them may lack: their default then.
OPTIONAL_KEYS = frozenset({"node_ip", "lb_cidr"})
BY_NAME = {s.name: s for s in SETTINGS}
assert {s.name for s in SETTINGS} == {f.name for f in fields(ClusterSettings)}


@dataclass(frozen=True, slots=True)
class HostClaim:
    """What this cluster owns on the host, and how each is marked as its own (see
    minikube_py/hostclaim.py)."""

    owner: str  # random hex id; the bridge's ifalias carries it
    iptables_prefix: str
    masquerade_mark: int  # one bit
    route_metric: int  # base of this cluster's routes' metrics


@dataclass(frozen=True, slots=True)
class Remembered:
    """What a data dir knows about its cluster: every setting (a legacy node.json knows
    three) and, once the cluster has owned its host network, that claim."""

    settings: Mapping[str, Any]  # ClusterSettings field -> value
    claim: HostClaim | None = None
    source: Path | None = None

    @property
    def legacy(self) -> bool:
        return self.source is not None and self.source.name == LEGACY_NODE_FILE


NOTHING_REMEMBERED = Remembered({})


# --- one flag at a time --------------------------------------------------------------------

class _Invalid(ValueError):
    """Why a value is not valid (check_setting adds the flag)."""


def _port(low: int) -> Callable[[Any], Any]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
            raise _Invalid(f"{value!r} is not a port ({low}-65535)")
        return value
    return check


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{value!r} is not a string")
    return value


def _node_name(value: Any) -> str:
    if dns1123_subdomain_errors(_string(value)):
        raise _Invalid(f"{value!r} is not a valid node name (at most 253 lowercase letters, "
                       "digits, '-' and '.', starting and ending with a letter or digit)")
    return str(value)


def _interface_name(value: Any) -> str:
    name = _string(value)
    if not 0 < len(name) <= MAX_INTERFACE_NAME or not _INTERFACE_NAME_RE.match(name):
        raise _Invalid(f"{value!r} is not a network interface name (1-{MAX_INTERFACE_NAME} "
                       "letters, digits, '_', '.' or '-')")
    return name


def _host(value: Any) -> str:
    host = _string(value)
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if len(host) > 253 or not _HOST_NAME_RE.match(host):
        raise _Invalid(f"{value!r} is not an IP address or a host name")
    return host


def _node_ip(value: Any) -> str:
    text = _string(value)
    if not text:
        return ""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise _Invalid(f"{value!r} is not an IP address") from None
    if not isinstance(address, ipaddress.IPv4Address):
        raise _Invalid(f"{value} is not an IPv4 address (the pod network is IPv4 only)")
    if address.is_unspecified or any(address in net for net in UNUSABLE_RANGES):
        raise _Invalid(f"{value} cannot be a node's address (loopback, link-local, multicast "
                       "and reserved addresses cannot)")
    return str(address)


def _network(value: Any) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(_string(value))
    except ValueError as e:
        raise _Invalid(str(e)) from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise _Invalid(f"{value} is not an IPv4 range (the pod network is IPv4 only)")
    for unusable in UNUSABLE_RANGES:
        if net.overlaps(unusable):
            raise _Invalid(f"{value} overlaps {unusable}, which no cluster may use")
    return net


def _range(*, largest: int, smallest: int, what: str) -> Callable[[Any], Any]:
    def check(value: Any) -> str:
        net = _network(value)
        if not largest <= net.prefixlen <= smallest:
            bounds = f"/{smallest} or larger" if largest == 0 else \
                f"/{smallest} to /{largest}"
            raise _Invalid(f"{value} holds {net.num_addresses} addresses; {what} is {bounds}")
        return str(net)
    return check


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`check`, or "" for a setting that is off."""
    def optional(value: Any) -> Any:
        return "" if _string(value) == "" else check(value)
    return optional


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "node_name": _node_name,
    "bridge": _interface_name,
    "pod_cidr": _range(largest=0, smallest=POD_CIDR_MIN_PREFIX,
                       what="a node's pod range (its first address is the node's)"),
    "cluster_cidr": _range(largest=0, smallest=32, what="the cluster's pod range"),
    "service_cidr": _range(largest=SERVICE_CIDR_MAX_PREFIX, smallest=SERVICE_CIDR_MIN_PREFIX,
                           what="a service range (the cluster DNS takes its 10th address)"),
    "api_host": _host,
    "api_port": _port(1),
    "kubelet_port": _port(0),
    "node_ip": _node_ip,
    "lb_cidr": _optional(_range(largest=LB_CIDR_MAX_PREFIX, smallest=32,
                                what="a load-balancer range")),
}
assert set(_CHECKS) == set(BY_NAME)


def check_setting(name: str, value: Any) -> Any:
    """The value in its normal form (CIDRs as ipaddress prints them); FlagError if invalid."""
    flag = BY_NAME[name].flag
    try:
        return _CHECKS[name](value)
    except _Invalid as e:
        raise FlagError(flag, f"Invalid value for {flag}: {e}") from None


def check_relations(settings: ClusterSettings, *, node_mask_size: int = 24) -> None:
    """The rules between settings: the node's pod range inside the cluster's, services apart
    from pods, the API and the kubelet on different ports."""
    pods = ipaddress.IPv4Network(settings.pod_cidr)
    cluster = ipaddress.IPv4Network(settings.cluster_cidr)
    services = ipaddress.IPv4Network(settings.service_cidr)
    if cluster.prefixlen > node_mask_size:
        raise FlagError("--cluster-cidr", f"Invalid value for --cluster-cidr: "
                                          f"{settings.cluster_cidr} is smaller than one node's "
                                          f"range (/{node_mask_size})")
    if not pods.subnet_of(cluster):
        raise FlagError("--pod-cidr", f"--pod-cidr {settings.pod_cidr} is outside the cluster's "
                                      f"pod range {settings.cluster_cidr} (--cluster-cidr)")
    if services.overlaps(cluster):
        raise FlagError("--service-cidr", f"--service-cidr {settings.service_cidr} overlaps the "
                                          f"cluster's pod range {settings.cluster_cidr} "
                                          "(--cluster-cidr)")
    ranges = [(cluster, "--cluster-cidr"), (services, "--service-cidr")]
    if settings.lb_cidr:
        pool = ipaddress.IPv4Network(settings.lb_cidr)
        for net, flag in ranges:
            if pool.overlaps(net):
                raise FlagError("--lb-cidr", f"--lb-cidr {pool} overlaps {net} ({flag}): "
                                             "load-balancer addresses must be apart from the "
                                             "pod and service ranges")
        ranges.append((pool, "--lb-cidr"))
    if settings.node_ip:
        address = ipaddress.IPv4Address(settings.node_ip)
        for net, flag in ranges:
            if address in net:
                raise FlagError("--node-ip", f"--node-ip {address} is inside {net} ({flag}): a "
                                             "node's address must be outside the pod, "
                                             "service and load-balancer ranges")
    node_ip = settings.node_ip or str(next(pods.hosts()))
    if settings.kubelet_port == settings.api_port and settings.api_host in (
            *WILDCARD_HOSTS, node_ip):
        raise FlagError("--kubelet-port", f"--kubelet-port {settings.kubelet_port} is the API's "
                                          f"port on {settings.api_host} too (--api-port)")


# --- flags against what the data dir remembers ---------------------------------------------

def resolve(given: Mapping[str, Any], remembered: Remembered,
            defaults: ClusterSettings, *, node_mask_size: int = 24) -> ClusterSettings:
    """The settings of this run: each given flag (checked), else what the data dir
    remembers, else the default. A fixed setting given with another value than the
    remembered one is refused, naming its flag."""
    values: dict[str, Any] = {}
    for s in SETTINGS:
        value = given.get(s.name)
        known = remembered.settings.get(s.name)
        if value is None:
            value = known if known is not None else getattr(defaults, s.name)
            try:
                values[s.name] = check_setting(s.name, value)
            except FlagError as e:
                origin = (f"remembered in {remembered.source}" if known is not None
                          else "the default")
                raise FlagError(s.flag, f"{e} ({origin}; give {s.flag})") from None
            continue
        value = check_setting(s.name, value)
        # A setting remembered as off ("") fixes nothing yet.
        if s.fixed and known not in (None, "") and _normal(s.name, known) != value:
            where = remembered.source or SETTINGS_FILE
            raise FlagError(s.flag, (
                f"{s.flag} {value} conflicts with this cluster's {s.what} {known} "
                f"(remembered in {where}); it cannot change: leave {s.flag} out to keep it, "
                f"or delete the cluster first (minikube-py delete)"))
        values[s.name] = value
    settings = ClusterSettings(**values)
    check_relations(settings, node_mask_size=node_mask_size)
    return settings


def _normal(name: str, value: Any) -> Any:
    try:
        return check_setting(name, value)
    except FlagError:
        return value


def fixed_conflict(settings: ClusterSettings, remembered: Remembered) -> FlagError | None:
    """For a caller that already resolved its settings: the first fixed one that differs."""
    try:
        resolve({s.name: getattr(settings, s.name) for s in SETTINGS}, remembered, settings)
    except FlagError as e:
        return e
    return None


# --- the file -------------------------------------------------------------------------------

def settings_to_json(settings: ClusterSettings, claim: HostClaim) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "settings": {s.key: getattr(settings, s.name) for s in SETTINGS},
        "host": {"owner": claim.owner, "iptablesPrefix": claim.iptables_prefix,
                 "masqueradeMark": f"{claim.masquerade_mark:#x}",
                 "routeMetric": claim.route_metric},
    }


def settings_from_json(doc: Any, source: Path) -> Remembered:
    if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION:
        raise SettingsFileError(f"{source}: not a cluster settings file of version "
                                f"{FORMAT_VERSION}")
    raw = doc.get("settings")
    host = doc.get("host")
    if not isinstance(raw, dict) or not isinstance(host, dict):
        raise SettingsFileError(f"{source}: 'settings' and 'host' must be objects")
    try:
        settings = {s.name: check_setting(s.name, raw[s.key]) for s in SETTINGS
                    if s.key in raw or s.name not in OPTIONAL_KEYS}
        claim = HostClaim(owner=_str(host["owner"]), iptables_prefix=_str(host["iptablesPrefix"]),
                          masquerade_mark=int(_str(host["masqueradeMark"]), 16),
                          route_metric=int(host["routeMetric"]))
    except (KeyError, ValueError, TypeError) as e:
        raise SettingsFileError(f"{source}: bad or missing value: {e}") from None
    return Remembered(settings, claim, source)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def legacy_from_json(doc: Any, source: Path) -> Remembered:
    if not isinstance(doc, dict):
        raise SettingsFileError(f"{source}: not an object")
    known = {"bridge": "bridge", "pod_cidr": "podCIDR", "service_cidr": "serviceCIDR"}
    try:
        settings = {name: check_setting(name, doc[key]) for name, key in known.items()
                    if key in doc}
    except FlagError as e:
        raise SettingsFileError(f"{source}: {e}") from None
    return Remembered(settings, None, source)


def load_remembered(data_dir: Path) -> Remembered:
    """What DIR remembers: cluster.json, else a legacy node.json, else nothing."""
    for name, parse in ((SETTINGS_FILE, settings_from_json),
                        (LEGACY_NODE_FILE, legacy_from_json)):
        path = data_dir / name
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise SettingsFileError(f"cannot read {path}: {e.strerror}") from None
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise SettingsFileError(f"{path}: not JSON: {e}") from None
        return parse(doc, path)
    return NOTHING_REMEMBERED


def save_remembered(data_dir: Path, settings: ClusterSettings, claim: HostClaim) -> None:
    """Atomically (a crash leaves the old file or the new one), and only by the serve that
    owns the data dir, its API port and its host network."""
    path = data_dir / SETTINGS_FILE
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        json.dump(settings_to_json(settings, claim), f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    (data_dir / LEGACY_NODE_FILE).unlink(missing_ok=True)
