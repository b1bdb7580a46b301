"""ClusterDns against the in-process control plane, queried over real UDP and TCP on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from minikube_py.api.resources import ENDPOINTSLICES, PODS, SERVICES
from minikube_py.controllers.endpointslice import EndpointSliceController
from minikube_py.dns.server import ClusterDns
from tests.integration.harness import ControlPlane, control_plane, eventually


async def query(port: int, name: str, qtype: str = "A", *, tcp: bool = False) -> DNSRecord:
    q = DNSRecord.question(name, qtype)
    raw = await asyncio.to_thread(q.send, "127.0.0.1", port, tcp=tcp, timeout=5)
    return DNSRecord.parse(raw)


def addresses(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A)


class FakeUpstream(asyncio.DatagramProtocol):
    """A resolver on loopback that knows one name (or, silent, answers nothing)."""

    def __init__(self, *, silent: bool = False) -> None:
        self.silent = silent
        self.queries: list[str] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        request = DNSRecord.parse(data)
        self.queries.append(str(request.q.qname))
        if self.silent or self.transport is None:
            return
        reply = request.reply()
        if str(request.q.qname) == "example.org.":
            reply.add_answer(RR("example.org.", QTYPE.A, rdata=A("10.1.2.3"), ttl=60))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        self.transport.sendto(reply.pack(), addr)


@contextlib.asynccontextmanager
async def fake_upstream(*, silent: bool = False) -> AsyncIterator[tuple[FakeUpstream, int]]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: FakeUpstream(silent=silent), local_addr=("127.0.0.1", 0))
    try:
        yield proto, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


@contextlib.asynccontextmanager
async def cluster_dns(plane: ControlPlane, upstreams: tuple[tuple[str, int], ...] = (),
                      **kw: Any) -> AsyncIterator[ClusterDns]:
    dns = ClusterDns(plane.api, plane.informers, listen_host="127.0.0.1", port=0,
                     upstreams=upstreams, node_name="node-1", **kw)
    plane.start("cluster-dns", dns.run)

    async def ready() -> bool:
        return dns.ready.is_set()

    # eventually() with the plane fails at once, with the cause, if the server crashed.
    await eventually(ready, plane=plane, what="cluster DNS to be ready")
    yield dns


async def create_web(plane: ControlPlane, *, ips: tuple[str, ...] = ("10.244.0.5",)) -> str:
    svc = await plane.api.create(SERVICES, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
        namespace="default")
    await plane.api.create(ENDPOINTSLICES, {
        "metadata": {"name": "web-abc", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}, namespace="default")
    return str(svc["spec"]["clusterIP"])


async def test_a_service_name_resolves_to_its_cluster_ip_over_udp_and_tcp() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane, cluster_dns(plane) as dns:
        ip = await create_web(plane)

        async def resolved() -> DNSRecord | None:
            reply = await query(dns.bound_port, "web.default.svc.cluster.local")
            return reply if addresses(reply) else None

        await eventually(resolved, plane=plane, what="web resolves")
        for tcp in (False, True):
            reply = await query(dns.bound_port, "web.default.svc.cluster.local", tcp=tcp)
            assert addresses(reply) == [ip] and reply.header.aa == 1
        srv = await query(dns.bound_port, "_http._tcp.web.default.svc.cluster.local", "SRV")
        assert [str(rr.rdata) for rr in srv.rr] == ["0 100 80 web.default.svc.cluster.local."]


async def test_a_deleted_service_no_longer_resolves() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane, cluster_dns(plane) as dns:
        await create_web(plane)
        name = "web.default.svc.cluster.local"

        async def rcode_is(rcode: int) -> bool:
            return bool((await query(dns.bound_port, name)).header.rcode == rcode)

        await eventually(lambda: rcode_is(RCODE.NOERROR), plane=plane, what="web resolves")
        await plane.api.delete(SERVICES, "web", namespace="default")
        await eventually(lambda: rcode_is(RCODE.NXDOMAIN), plane=plane, what="NXDOMAIN")


async def test_the_server_publishes_kube_dns_at_the_cluster_dns_ip() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane, cluster_dns(plane) as dns:
        svc = await plane.api.get(SERVICES, "kube-dns", namespace="kube-system")
        assert svc["spec"]["clusterIP"] == "10.96.0.10"
        assert not svc["spec"].get("selector")
        assert svc["metadata"]["labels"]["k8s-app"] == "kube-dns"
        assert sorted((p["name"], p["protocol"], p["port"]) for p in svc["spec"]["ports"]) == [
            ("dns", "UDP", 53), ("dns-tcp", "TCP", 53)]
        slices = (await plane.api.list(ENDPOINTSLICES, namespace="kube-system",
                                       label_selector="kubernetes.io/service-name=kube-dns"))
        (sl,) = slices["items"]
        assert sl["endpoints"][0]["addresses"] == ["127.0.0.1"]
        assert sl["endpoints"][0]["nodeName"] == "node-1"
        assert {p["port"] for p in sl["ports"]} == {dns.bound_port}
        reply = await query(dns.bound_port, "kube-dns.kube-system.svc.cluster.local")
        assert addresses(reply) == ["10.96.0.10"]


async def test_registration_is_idempotent_across_restarts() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        async with cluster_dns(plane):
            pass
        async with cluster_dns(plane) as second:
            (sl,) = (await plane.api.list(ENDPOINTSLICES, namespace="kube-system"))["items"]
            assert {p["port"] for p in sl["ports"]} == {second.bound_port}


async def test_other_names_are_forwarded_to_the_upstream() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane, \
            fake_upstream() as (upstream, port), \
            cluster_dns(plane, upstreams=(("127.0.0.1", port),)) as dns:
        reply = await query(dns.bound_port, "example.org")
        assert addresses(reply) == ["10.1.2.3"]
        missing = await query(dns.bound_port, "missing.example", tcp=True)
        assert missing.header.rcode == RCODE.NXDOMAIN
        cluster = await query(dns.bound_port, "nope.default.svc.cluster.local")
        assert cluster.header.rcode == RCODE.NXDOMAIN
        assert upstream.queries == ["example.org.", "missing.example."]  # cluster names stay


async def test_a_silent_upstream_gives_servfail_not_a_hang() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane, \
            fake_upstream(silent=True) as (_, port), \
            cluster_dns(plane, upstreams=(("127.0.0.1", port),), forward_timeout=0.2) as dns:
        reply = await query(dns.bound_port, "example.org")
        assert reply.header.rcode == RCODE.SERVFAIL


async def test_without_upstreams_outside_names_get_servfail() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane, cluster_dns(plane) as dns:
        assert (await query(dns.bound_port, "example.org")).header.rcode == RCODE.SERVFAIL


async def test_a_statefulset_pod_answers_by_its_hostname_under_its_headless_service() -> None:
    """The EndpointSlice controller names a pod whose subdomain is the service by its
    hostname, and DNS answers `db-1.db.default.svc.cluster.local` with its address."""
    async with control_plane(nodes=1) as plane, cluster_dns(plane) as dns:
        plane.start("endpointslices", EndpointSliceController(plane.ctx).run)
        await plane.api.create(SERVICES, {
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"},
                     "ports": [{"name": "pg", "port": 5432}]}}, namespace="default")
        for i in range(2):
            await plane.api.create(PODS, {
                "metadata": {"name": f"db-{i}", "namespace": "default",
                             "labels": {"app": "db"}},
                "spec": {"hostname": f"db-{i}", "subdomain": "db",
                         "containers": [{"name": "c", "image": "busybox",
                                         "ports": [{"name": "pg", "containerPort": 5432}]}]}},
                namespace="default")

        async def pod_ips() -> dict[str, str] | None:
            items = (await plane.api.list(PODS, namespace="default"))["items"]
            ips = {p["metadata"]["name"]: (p.get("status") or {}).get("podIP") for p in items}
            return ips if all(ips.values()) and len(ips) == 2 else None

        ips = await eventually(pod_ips, plane=plane, what="both pods running")

        async def answered() -> list[str] | None:
            reply = await query(dns.bound_port, "db-1.db.default.svc.cluster.local")
            return addresses(reply) or None

        assert await eventually(answered, plane=plane, what="db-1 resolves") == [ips["db-1"]]
        srv = await query(dns.bound_port, "_pg._tcp.db.default.svc.cluster.local", "SRV")
        assert sorted(str(rr.rdata).split()[-1] for rr in srv.rr) == [
            "db-0.db.default.svc.cluster.local.", "db-1.db.default.svc.cluster.local."]
