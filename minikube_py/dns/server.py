"""Cluster DNS server: UDP and TCP on the node address, answering the cluster zone from the
informer caches and forwarding every other name to the host's resolvers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from dnslib import EDNS0, QTYPE, RCODE, DNSBuffer, DNSError, DNSHeader, DNSRecord
from dnslib.buffer import BufferError

from minikube_py.api.errors import ApiError
from minikube_py.api.leasedaddresses import ServedAddress
from minikube_py.api.resources import ENDPOINTSLICES, SERVICES
from minikube_py.client.informer import InformerFactory
from minikube_py.client.interface import ApiClient
from minikube_py.dns.records import DEFAULT_TTL, ClusterRecords, build_records
from minikube_py.dns.registration import DnsRegistration
from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.dns")

Upstream = tuple[str, int]
UDP_PLAIN_LIMIT = 512
UDP_EDNS_LIMIT = 4096
MAX_FORWARDS_IN_FLIGHT = 256
# Queries being answered at once; past this, UDP queries are refused at once (SERVFAIL)
# rather than pile up as tasks while an upstream is silent. Clients retry.
MAX_QUERIES_IN_FLIGHT = 1024
TCP_IDLE_SECONDS = 10.0


def upstreams_from_resolv_conf(path: str = "/etc/resolv.conf") -> tuple[Upstream, ...]:
    try:
        text = Path(path).read_text()
    except OSError:
        return ()
    servers: list[Upstream] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            servers.append((fields[1], 53))
    return tuple(servers)


@dataclass
class ClusterDns:
    client: ApiClient
    informers: InformerFactory
    listen_host: str
    port: int = 53  # 0: any free port (the same for UDP and TCP), see `bound_port`
    domain: str = "cluster.local"
    upstreams: tuple[Upstream, ...] | None = None  # None: the host's /etc/resolv.conf
    node_name: str = ""
    # Publish Service kube-system/kube-dns + this server's EndpointSlice, kept by a Lease
    # of its own, so kube-proxy routes the cluster DNS IP here while this server lives.
    register: bool = True
    # Who this server is among the cluster's DNS servers (its Lease's and slice's name;
    # "": the node's name).
    holder: str = ""
    lease_ttl: float = 15.0
    lease_interval: float = 10.0
    registration: DnsRegistration | None = None
    service_ip: str = "10.96.0.10"
    ttl: int = DEFAULT_TTL
    forward_timeout: float = 2.0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    bound_port: int = 0
    _records: ClusterRecords | None = None
    _forwards: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_FORWARDS_IN_FLIGHT))

    def __post_init__(self) -> None:
        self._services = self.informers.informer(SERVICES)
        self._slices = self.informers.informer(ENDPOINTSLICES)
        for inf in (self._services, self._slices):
            inf.add_handlers(self._changed, lambda _old, _new: self._invalidate(), self._changed)
        if self.upstreams is None:
            self.upstreams = upstreams_from_resolv_conf()
        # Never forward to ourselves.
        self.upstreams = tuple(u for u in self.upstreams
                               if u not in ((self.listen_host, self.port), (self.service_ip, 53)))

    def _changed(self, _obj: dict[str, Any]) -> None:
        self._invalidate()

    def _invalidate(self) -> None:
        self._records = None  # rebuilt on the next query, not on every event of a burst

    def records(self) -> ClusterRecords:
        if self._records is None:
            self._records = build_records(self._services.list(), self._slices.list(),
                                          domain=self.domain, ttl=self.ttl)
        return self._records

    async def run(self) -> None:
        await self._services.synced.wait()
        await self._slices.synced.wait()
        queries = TaskSet("cluster-dns", logger=log)
        udp, tcp = await self._listen(queries)
        try:
            async with tcp:
                first_wait = await self._register() if self.register else 0.0
                log.info("cluster DNS on %s:%d (upstreams %s)", self.listen_host,
                         self.bound_port, self.upstreams)
                self.ready.set()
                if self.registration is not None:
                    await self.registration.run(first_wait)
                await asyncio.Event().wait()
        finally:
            udp.close()
            await queries.close()

    async def _listen(self, queries: TaskSet) -> tuple[asyncio.DatagramTransport, asyncio.Server]:
        """UDP and TCP on one port. With port 0 the UDP socket picks it, and that number
        may already be some TCP connection's local port: then try another."""
        loop = asyncio.get_running_loop()
        for attempt in range(20):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpServer(self, queries), local_addr=(self.listen_host, self.port),
                reuse_port=False)
            port = udp.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(self._serve_tcp, self.listen_host, port,
                                                 reuse_address=True)
            except OSError:
                udp.close()
                if self.port or attempt == 19:
                    raise
                continue
            self.bound_port = port
            return udp, tcp
        raise AssertionError("unreachable")

    async def withdraw(self) -> None:
        """On a graceful stop: this server leaves the kube-dns endpoints now."""
        if self.registration is not None:
            await self.registration.withdraw()

    async def _register(self) -> float:
        self.registration = DnsRegistration(
            self.client, holder=self.holder or self.node_name, node_name=self.node_name,
            served=ServedAddress(self.listen_host, self.bound_port),
            service_ip=self.service_ip, ttl=self.lease_ttl, interval=self.lease_interval)
        backoff = 0.2
        while True:
            try:
                return await self.registration.register()
            except ApiError as e:
                if e.code in (400, 422):
                    raise  # our objects are wrong: a bug, not a passing condition
                log.warning("cannot publish kube-dns: %s; retrying in %.1fs", e, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def resolve(self, data: bytes, *, max_size: int | None) -> bytes | None:
        """The reply to one wire-format query (None: not even a header to answer to).
        `max_size` is the UDP limit; TCP passes None."""
        try:
            request = DNSRecord.parse(data)
        except (DNSError, IndexError, struct.error, ValueError):
            return _error_reply(data, RCODE.FORMERR)
        if not request.questions or request.header.qr:
            return _error_reply(data, RCODE.FORMERR)
        q = request.questions[0]
        records = self.records()
        if not records.is_authoritative_for(str(q.qname)):
            return await self._forward(data, request)
        answer = records.answer(str(q.qname), int(q.qtype))
        reply = request.reply()
        reply.header.rcode = answer.rcode
        for rr in answer.answers:
            reply.add_answer(rr)
        for rr in answer.authority:
            reply.add_auth(rr)
        for rr in answer.additional:
            reply.add_ar(rr)
        edns = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
        if edns:
            reply.add_ar(EDNS0(udp_len=UDP_EDNS_LIMIT))
        packed: bytes = reply.pack()
        if max_size is not None:
            limit = min(max(int(edns[0].rclass), UDP_PLAIN_LIMIT), UDP_EDNS_LIMIT) if edns \
                else UDP_PLAIN_LIMIT
            if len(packed) > limit:
                short = request.reply()
                short.header.rcode = answer.rcode
                short.header.tc = 1
                packed = short.pack()
        return packed

    async def _forward(self, data: bytes, request: DNSRecord) -> bytes:
        """Ask each upstream in turn over UDP; SERVFAIL if none answers in time."""
        async with self._forwards:
            for host, port in self.upstreams or ():
                try:
                    async with asyncio.timeout(self.forward_timeout):
                        return await _udp_exchange(host, port, data, request.header.id)
                except (TimeoutError, OSError) as e:
                    log.debug("upstream %s:%d failed: %s", host, port, e)
        reply = request.reply()
        reply.header.rcode = RCODE.SERVFAIL
        packed: bytes = reply.pack()
        return packed

    async def _serve_tcp(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_SECONDS):
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(length)
                reply = await self.resolve(data, max_size=None)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("cluster DNS: TCP query failed")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, dns: ClusterDns, queries: TaskSet | None = None) -> None:
        self.dns = dns
        self.transport: asyncio.DatagramTransport | None = None
        self._queries = queries or TaskSet("cluster-dns", logger=log)
        self.tasks: set[asyncio.Task[None]] = set()  # the queries being answered

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if len(self.tasks) >= MAX_QUERIES_IN_FLIGHT:
            reply = _error_reply(data, RCODE.SERVFAIL)
            if reply is not None and self.transport is not None:
                self.transport.sendto(reply, addr)
            return
        task = self._queries.spawn("query", self._answer(data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            reply = await self.dns.resolve(data, max_size=UDP_PLAIN_LIMIT)
        except Exception:
            log.exception("cluster DNS: UDP query failed")
            reply = _error_reply(data, RCODE.SERVFAIL)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class _UdpExchange(asyncio.DatagramProtocol):
    def __init__(self, query_id: int) -> None:
        self.query_id = query_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        # Ignore stray or spoofed datagrams: the reply must carry our query's id.
        head = _header(data)
        if head is not None and head.id == self.query_id and head.qr \
                and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def _udp_exchange(host: str, port: int, data: bytes, query_id: int) -> bytes:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _UdpExchange(query_id), remote_addr=(host, port))
    try:
        transport.sendto(data)
        return await proto.reply
    finally:
        transport.close()


def _header(data: bytes) -> DNSHeader | None:
    try:
        return DNSHeader.parse(DNSBuffer(data))
    except (DNSError, BufferError, IndexError, struct.error):
        return None


def _error_reply(data: bytes, rcode: int) -> bytes | None:
    """A bare reply echoing the id, for queries too broken to parse (None: no header)."""
    head = _header(data)
    if head is None:
        return None
    reply = DNSRecord(DNSHeader(id=head.id, qr=1, opcode=head.opcode, rd=head.rd, ra=1,
                                rcode=rcode))
    packed: bytes = reply.pack()
    return packed
