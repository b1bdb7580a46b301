"""A real cluster PKI for tests (made by the same code as serve's, in a temporary
directory), plus the client certificates a test may want to present: the cluster admin's,
the API server's kubelet client, someone ordinary, a server certificate misused as a
client's, and a stranger whose certificate another CA signed."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from minikube_py.pki.certs import CertSpec
from minikube_py.pki.cluster import (
    ADMIN,
    KUBELET_CLIENT,
    KeyPair,
    PkiLayout,
    api_server_spec,
    ensure_cluster_pki,
    kubelet_serving_spec,
    peer_spec,
)
from minikube_py.pki.tls import client_context, server_context
from minikube_py.store.peer_identity import member_uri

NODE = "node-under-test"
JANE = CertSpec("jane", ("dev", "qa"), client=True)
NAMELESS = CertSpec("", ("dev",), client=True)


@dataclass(frozen=True)
class TrialPki:
    layout: PkiLayout
    jane: KeyPair
    nameless: KeyPair
    stranger: KeyPair  # CN=kubernetes-admin, O=system:masters, from another CA

    def api_server_context(self) -> ssl.SSLContext:
        return server_context(self.layout.api_server, self.layout.ca.cert)

    node: str = NODE

    def kubelet_context(self) -> ssl.SSLContext:
        return server_context(self.layout.kubelet(self.node), self.layout.ca.cert)

    def client(self, identity: KeyPair | None) -> ssl.SSLContext:
        return client_context(self.layout.ca.cert, identity)

    def member_peer(self, cluster_id: int, member_id: int) -> KeyPair:
        """Store member `member_id`'s peer certificate, naming its id as serve's does."""
        pair = KeyPair(self.layout.root / f"member-{cluster_id:x}-{member_id:x}.crt",
                       self.layout.root / f"member-{cluster_id:x}-{member_id:x}.key")
        ensure_cluster_pki(self.layout, [(pair, peer_spec(
            f"m{member_id}", (), member_uri(cluster_id, member_id)))], datetime.now(UTC))
        return pair

    def member_server(self, cluster_id: int, member_id: int) -> ssl.SSLContext:
        return server_context(self.member_peer(cluster_id, member_id), self.layout.ca.cert)

    def member_client(self, cluster_id: int, member_id: int) -> ssl.SSLContext:
        return client_context(self.layout.ca.cert, self.member_peer(cluster_id, member_id))


def make_test_pki(root: Path, *, node: str = NODE,
                  node_ips: tuple[str, ...] = ("127.0.0.1",)) -> TrialPki:
    """The kubelet's serving certificate holds every one of `node_ips` (the node address the
    API server dials, and loopback where a test calls the kubelet itself)."""
    layout = PkiLayout(root / "pki")
    jane = KeyPair(layout.root / "jane.crt", layout.root / "jane.key")
    nameless = KeyPair(layout.root / "nameless.crt", layout.root / "nameless.key")
    now = datetime.now(UTC)
    ensure_cluster_pki(layout, [
        (layout.api_server, api_server_spec(node_ip=node_ips[0],
                                            service_cidr="10.96.0.0/12")),
        (layout.admin, ADMIN), (layout.kubelet_client, KUBELET_CLIENT),
        (layout.kubelet(node), replace(kubelet_serving_spec(node, node_ips[0]),
                                       ip_addresses=node_ips)),
        (jane, JANE), (nameless, NAMELESS)], now)
    other = PkiLayout(root / "other-pki")
    ensure_cluster_pki(other, [(other.admin, ADMIN)], now)
    return TrialPki(layout, jane, nameless, other.admin, node)
