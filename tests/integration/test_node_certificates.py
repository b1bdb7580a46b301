"""A node's certificates from the in-process control plane over HTTPS, as a joining agent
gets them: its client certificate with a bootstrap token, its kubelet serving certificate
with that client certificate (approved for its own name and address only), and renewals
that put the new certificate into the TLS context new connections are made from."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS, EVENTS, NODES
from minikube_py.client.http import HttpClient
from minikube_py.client.interface import ApiClient
from minikube_py.kubelet.certificates import (
    CertificateRequestError,
    CertificateRotation,
    request_certificate,
    ssl_reloader,
)
from minikube_py.pki.certmanager import (
    RequestTemplate,
    issued_pair,
    load_key_pair,
    new_key,
    write_key_pair,
)
from minikube_py.pki.cluster import KeyPair
from minikube_py.pki.tls import client_context, server_context
from tests.integration.csr_cluster import TOKEN, Cluster, csr_cluster
from tests.integration.harness import eventually

Obj = dict[str, Any]
NODE = "worker-1"
NODE_IP = "127.0.0.1"
CLIENT = RequestTemplate("kubernetes.io/kube-apiserver-client-kubelet",
                         f"system:node:{NODE}", ("system:nodes",),
                         ("digital signature", "client auth"), expiration_seconds=3600)
SERVING = RequestTemplate("kubernetes.io/kubelet-serving", f"system:node:{NODE}",
                          ("system:nodes",), ("digital signature", "server auth"),
                          dns_names=(NODE,), ip_addresses=(NODE_IP,), expiration_seconds=3600)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with csr_cluster(tmp_path) as found:
        yield found


@asynccontextmanager
async def http_client(cluster: Cluster, *, token: str | None = None,
                      identity: KeyPair | None = None) -> AsyncIterator[ApiClient]:
    client = HttpClient(cluster.url, token=token,
                        tls=client_context(cluster.pki.layout.ca.cert, identity))
    try:
        yield client
    finally:
        await client.close()


async def obtain(client: ApiClient, template: RequestTemplate, pair: KeyPair,
                 timeout: float = 10.0) -> x509.Certificate:
    key = new_key()
    pem = await request_certificate(
        client, request_pem=template.request_pem(key), signer=template.signer,
        usages=template.usages, name_prefix="node-csr-",
        expiration_seconds=template.expiration_seconds, timeout=timeout)
    issued = issued_pair(pem, key)
    write_key_pair(pair, issued)
    return issued.cert


def pairs(cluster: Cluster) -> tuple[KeyPair, KeyPair]:
    root = cluster.tmp / "node"
    return (KeyPair(root / "kubelet-client.crt", root / "kubelet-client.key"),
            KeyPair(root / "kubelet.crt", root / "kubelet.key"))


async def join(cluster: Cluster) -> KeyPair:
    """The node's client certificate through its bootstrap token, and its Node object
    (made with that certificate, as a kubelet registers)."""
    client_pair, _ = pairs(cluster)
    async with http_client(cluster, token=TOKEN) as bootstrap:
        await obtain(bootstrap, CLIENT, client_pair)
    async with http_client(cluster, identity=client_pair) as node:
        await node.create(NODES, {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE},
            "status": {"addresses": [{"type": "InternalIP", "address": NODE_IP},
                                     {"type": "Hostname", "address": NODE}]}})
    return client_pair


async def csr_of(cluster: Cluster, cert_pem: bytes) -> Obj:
    """The request the certificate `cert_pem` was issued for."""
    csrs: list[Obj] = (await cluster.plane.api.list(CERTIFICATESIGNINGREQUESTS))["items"]
    for csr in csrs:
        if csr["status"].get("certificate"):
            issued = x509.load_pem_x509_certificate(
                base64.b64decode(csr["status"]["certificate"]))
            if issued == x509.load_pem_x509_certificate(cert_pem):
                return csr
    raise AssertionError("no CSR issued this certificate")


async def test_a_node_gets_its_client_certificate_with_a_bootstrap_token(
        cluster: Cluster) -> None:
    client_pair = await join(cluster)
    csr = await csr_of(cluster, client_pair.cert.read_bytes())
    assert csr["metadata"]["name"].startswith("node-csr-")
    assert csr["spec"]["username"] == "system:bootstrap:abcdef"
    async with http_client(cluster, identity=client_pair) as node:
        node_obj = await node.get(NODES, NODE)
    assert node_obj["metadata"]["name"] == NODE


async def test_a_node_gets_a_serving_certificate_its_address_verifies_against(
        cluster: Cluster) -> None:
    client_pair, serving_pair = pairs(cluster)
    await join(cluster)
    async with http_client(cluster, identity=client_pair) as node:
        await obtain(node, SERVING, serving_pair)
    csr = await csr_of(cluster, serving_pair.cert.read_bytes())
    assert (csr["spec"]["username"], csr["status"]["conditions"][0]["reason"],
            csr["status"]["conditions"][0]["message"]) == (
        f"system:node:{NODE}", "AutoApproved",
        f"Auto approving kubelet serving certificate for node '{NODE}': its own name and "
        f"addresses ({NODE_IP}).")
    # The API server's view: a TLS client trusting only the cluster CA, checking the
    # address it dialled against the certificate.
    async with tls_server(server_context(serving_pair, cluster.pki.layout.ca.cert)) as port:
        assert await served_serial(port, client_context(cluster.pki.layout.ca.cert)) == \
            load_serial(serving_pair)


async def test_a_serving_request_for_an_address_not_the_nodes_waits_for_a_person(
        cluster: Cluster) -> None:
    client_pair, serving_pair = pairs(cluster)
    await join(cluster)
    stolen = RequestTemplate(SERVING.signer, SERVING.common_name, SERVING.organizations,
                             SERVING.usages, dns_names=(NODE,), ip_addresses=("10.200.0.99",))
    async with http_client(cluster, identity=client_pair) as node:
        with pytest.raises(CertificateRequestError, match=r"^CertificateSigningRequest "
                           r"node-csr-\w+: no certificate after 1s \(it is not approved\)$"):
            await obtain(node, stolen, serving_pair, timeout=1.0)

    async def told() -> list[Obj]:
        events = (await cluster.plane.api.list(EVENTS, namespace="default"))["items"]
        return [e for e in events if e["reason"] == "NotAutoApproved"]

    events = await eventually(told, plane=cluster.plane, what="the approver to say why")
    assert [(e["involvedObject"]["kind"], e["count"], e["message"]) for e in events] == [
        ("CertificateSigningRequest", 1, "not auto-approving this kubelet serving "
         f"certificate: 10.200.0.99 is not an address of Node '{NODE}' (it has {NODE_IP})")]
    assert not serving_pair.cert.exists()


async def test_a_denied_request_is_reported_with_its_reason(cluster: Cluster) -> None:
    client_pair, serving_pair = pairs(cluster)
    await join(cluster)
    stolen = RequestTemplate(SERVING.signer, SERVING.common_name, SERVING.organizations,
                             SERVING.usages, dns_names=("api.example.com",),
                             ip_addresses=(NODE_IP,))

    async def deny_pending() -> bool:
        for csr in (await cluster.plane.api.list(CERTIFICATESIGNINGREQUESTS))["items"]:
            if not csr["status"].get("conditions"):
                csr["status"] = {"conditions": [{
                    "type": "Denied", "status": "True", "reason": "NotOurs",
                    "message": "not this node's name"}]}
                await cluster.plane.api.update(CERTIFICATESIGNINGREQUESTS, csr,
                                               subresource="approval")
                return True
        return False

    async with http_client(cluster, identity=client_pair) as node:
        waiting = asyncio.create_task(obtain(node, stolen, serving_pair))
        await eventually(deny_pending, plane=cluster.plane, what="the request to deny")
        with pytest.raises(CertificateRequestError, match=r"was denied: NotOurs: not this "
                                                          r"node's name$"):
            await waiting


# --- renewal -------------------------------------------------------------------------------

class Lowest(random.Random):
    """Renewal at 70% of the validity: the earliest client-go would pick."""

    def random(self) -> float:
        return 0.0


def forced_past_the_deadline() -> tuple[Callable[[], float], Callable[[], None]]:
    """A clock 50 minutes ahead (past the 70% deadline of a fresh one-hour certificate, not
    past its end) until `back()` is called, then the real one: one renewal, not a loop."""
    ahead = [3000.0]

    def clock() -> float:
        return time.time() + ahead[0]

    def back() -> None:
        ahead[0] = 0.0

    return clock, back


def load_serial(pair: KeyPair) -> int:
    found = load_key_pair(pair)
    assert found is not None
    return found.cert.serial_number


@asynccontextmanager
async def tls_server(context: ssl.SSLContext,
                     seen: list[int] | None = None) -> AsyncIterator[int]:
    """A loopback TLS server; each client certificate's serial goes into `seen`."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert")
        if seen is not None and peer:
            seen.append(int(peer["serialNumber"], 16))
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def served_serial(port: int, context: ssl.SSLContext) -> int:
    """The serial of the certificate the server presented on a new connection."""
    reader, writer = await asyncio.open_connection(NODE_IP, port, ssl=context)
    try:
        await reader.read()
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der).serial_number
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


async def presented_serial(port: int, context: ssl.SSLContext, seen: list[int]) -> int:
    """The serial of the client certificate `context` presents on a new connection."""
    before = len(seen)
    reader, writer = await asyncio.open_connection(NODE_IP, port, ssl=context)
    await reader.read()
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await writer.wait_closed()
    assert len(seen) == before + 1
    return seen[-1]


@asynccontextmanager
async def rotating(cluster: Cluster, pair: KeyPair, template: RequestTemplate,
                   reload: Callable[[KeyPair], None]) -> AsyncIterator[None]:
    client_pair, _ = pairs(cluster)
    clock, back = forced_past_the_deadline()

    def reload_once(renewed: KeyPair) -> None:
        back()
        reload(renewed)

    rotation = CertificateRotation(
        clients=lambda: http_client(cluster, identity=client_pair), pair=pair,
        template=template, reload=reload_once, rand=Lowest(), clock=clock,
        request_timeout=10.0)
    task = cluster.plane.start("rotation", rotation.run)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_renewed_client_certificate_is_presented_on_new_connections(
        cluster: Cluster) -> None:
    client_pair = await join(cluster)
    old = load_serial(client_pair)
    presenting = client_context(cluster.pki.layout.ca.cert, client_pair)
    seen: list[int] = []
    async with tls_server(server_context(cluster.pki.layout.api_server,
                                         cluster.pki.layout.ca.cert), seen) as port:
        assert await presented_serial(port, presenting, seen) == old
        async with rotating(cluster, client_pair, CLIENT, ssl_reloader(presenting)):
            async def renewed() -> int | None:
                serial = load_serial(client_pair)
                return serial if serial != old else None

            new = await eventually(renewed, plane=cluster.plane, what="the renewal")
            assert await presented_serial(port, presenting, seen) == new
    csr = await csr_of(cluster, client_pair.cert.read_bytes())
    assert (csr["spec"]["username"], csr["status"]["conditions"][0]["message"]) == (
        f"system:node:{NODE}",
        "Auto approving self kubelet client certificate after SubjectAccessReview.")
    # And the API server takes it: the renewed certificate is the node's credential.
    async with http_client(cluster, identity=client_pair) as node:
        assert (await node.get(NODES, NODE))["metadata"]["name"] == NODE


async def test_a_renewed_serving_certificate_is_served_on_new_connections(
        cluster: Cluster) -> None:
    client_pair, serving_pair = pairs(cluster)
    await join(cluster)
    async with http_client(cluster, identity=client_pair) as node:
        await obtain(node, SERVING, serving_pair)
    old = load_serial(serving_pair)
    serving = server_context(serving_pair, cluster.pki.layout.ca.cert)
    trusting = client_context(cluster.pki.layout.ca.cert)
    async with tls_server(serving) as port:
        assert await served_serial(port, trusting) == old
        async with rotating(cluster, serving_pair, SERVING, ssl_reloader(serving)):
            async def renewed() -> int | None:
                serial = load_serial(serving_pair)
                return serial if serial != old else None

            new = await eventually(renewed, plane=cluster.plane, what="the renewal")
            assert await served_serial(port, trusting) == new


async def test_a_failed_renewal_keeps_the_old_pair_and_is_tried_again(
        cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    client_pair = await join(cluster)
    old = client_pair.cert.read_bytes()
    # Nobody may approve a client certificate for another node's name: every attempt ends
    # in the request timeout, and the rotation says so and tries again.
    other = RequestTemplate(CLIENT.signer, "system:node:worker-2", ("system:nodes",),
                            CLIENT.usages)
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        await asyncio.sleep(0)

    rotation = CertificateRotation(
        clients=lambda: http_client(cluster, identity=client_pair), pair=client_pair,
        template=other, reload=lambda _: None, rand=Lowest(), sleep=nap,
        request_timeout=0.2)
    task = cluster.plane.start("rotation", rotation.run)

    async def two_failures() -> bool:
        return len(naps) >= 2

    try:
        await eventually(two_failures, plane=cluster.plane, what="two failed attempts")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert naps[:2] == [2.0, 4.0]
    assert client_pair.cert.read_bytes() == old
    assert "no certificate after 0.2s (it is not approved); trying again in 2s" in caplog.text


async def test_an_api_error_is_not_swallowed_by_request_certificate(cluster: Cluster) -> None:
    async with http_client(cluster) as anonymous:
        with pytest.raises(ApiError) as e:
            await request_certificate(anonymous, request_pem=CLIENT.request_pem(new_key()),
                                      signer=CLIENT.signer, usages=CLIENT.usages,
                                      name_prefix="node-csr-", timeout=5)
    assert e.value.code in (401, 403)
