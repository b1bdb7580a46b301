"""A node's certificates from the cluster (client-go's certificate manager, as the kubelet
runs it for its client and serving certificates): ask for one through a
CertificateSigningRequest and wait until it is issued or refused, and a task that renews a
certificate on disk when its time comes and hands the new pair to whoever presents it. The
decisions (when, what to ask for, how the files are replaced) are pki/certmanager.py's."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import aiohttp

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS
from minikube_py.client.interface import ApiClient
from minikube_py.pki.certmanager import (
    IssuedPair,
    RequestTemplate,
    issued_pair,
    load_key_pair,
    new_key,
    renewal_deadline,
    renewal_reason,
    write_key_pair,
)
from minikube_py.pki.cluster import KeyPair
from minikube_py.pki.csr import decode_bytes

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ClientFactory = Callable[[], AbstractAsyncContextManager[ApiClient]]
Sleep = Callable[[float], Awaitable[None]]

REQUEST_TIMEOUT = 900.0  # client-go waits this long for its CSR to be issued
BACKOFF_INITIAL = 2.0
BACKOFF_MAX = 300.0
# The longest nap before the clock is read again: asyncio's clock stops while a laptop
# sleeps, the wall clock (which certificates expire by) does not.
MAX_NAP = 300.0


class CertificateRequestError(Exception):
    """The cluster did not issue the certificate asked for: the request was denied, its
    signer failed it, it was deleted, or nothing came before the deadline."""


def issued_certificate(csr: Obj) -> bytes | None:
    """The PEM certificate once issued; None while it waits; CertificateRequestError
    naming the condition's reason and message when it was denied or failed."""
    status = csr.get("status") or {}
    name = (csr.get("metadata") or {}).get("name", "")
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("Denied", "Failed") and \
                condition.get("status", "True") == "True":
            raise CertificateRequestError(
                f"CertificateSigningRequest {name} was {condition['type'].lower()}: "
                f"{condition.get('reason') or 'no reason given'}: "
                f"{condition.get('message') or 'no message'}")
    pem = decode_bytes(status.get("certificate"))
    return pem or None


def _waiting_for(csr: Obj) -> str:
    types = {c.get("type") for c in (csr.get("status") or {}).get("conditions") or []}
    return "approved, not yet signed" if "Approved" in types else "not approved"


async def request_certificate(client: ApiClient, *, request_pem: bytes, signer: str,
                              usages: list[str] | tuple[str, ...], name_prefix: str,
                              expiration_seconds: int | None = None,
                              timeout: float = REQUEST_TIMEOUT) -> bytes:
    """Create a CertificateSigningRequest (named from `name_prefix`) and return the PEM
    certificate the cluster issues for it; CertificateRequestError when it is refused or
    `timeout` seconds pass first."""
    spec: Obj = {"request": base64.b64encode(request_pem).decode(), "signerName": signer,
                 "usages": list(usages)}
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    created = await client.create(CERTIFICATESIGNINGREQUESTS, {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"generateName": name_prefix}, "spec": spec})
    name = created["metadata"]["name"]
    log.info("asked for a %s certificate: CertificateSigningRequest %s", signer, name)
    waiting = _IssueWait(client, created)
    try:
        async with asyncio.timeout(timeout):
            return await waiting.certificate()
    except TimeoutError:
        raise CertificateRequestError(
            f"CertificateSigningRequest {name}: no certificate after {timeout:g}s "
            f"(it is {_waiting_for(waiting.csr)})") from None


class _IssueWait:
    """Watches one request until it is issued, remembering how it last stood (what a
    timeout reports). A watch that ends is started again from where it stood; one whose
    version was compacted, from the object as it is now."""

    def __init__(self, client: ApiClient, csr: Obj) -> None:
        self.client = client
        self.csr = csr
        self.name = csr["metadata"]["name"]

    async def certificate(self) -> bytes:
        while True:
            found = issued_certificate(self.csr)
            if found is not None:
                return found
            try:
                found = await self._watch()
            except ApiError as e:
                if e.code != 410:
                    raise
                self.csr = await self.client.get(CERTIFICATESIGNINGREQUESTS, self.name)
            if found is not None:
                return found

    async def _watch(self) -> bytes | None:
        events = self.client.watch(
            CERTIFICATESIGNINGREQUESTS, field_selector=f"metadata.name={self.name}",
            resource_version=self.csr["metadata"].get("resourceVersion", ""),
            allow_bookmarks=True)
        async with contextlib.aclosing(events) as stream:  # type: ignore[type-var]
            async for event in stream:
                if event.type == "DELETED":
                    raise CertificateRequestError(
                        f"CertificateSigningRequest {self.name} was deleted before a "
                        "certificate was issued")
                if event.type == "BOOKMARK":
                    version = event.object["metadata"]["resourceVersion"]
                    self.csr = {**self.csr, "metadata": {**self.csr["metadata"],
                                                         "resourceVersion": version}}
                    continue
                self.csr = event.object
                found = issued_certificate(self.csr)
                if found is not None:
                    return found
        return None


class CertificateRotation:
    """Keeps the certificate at `pair` current: when there is none, when it no longer says
    what `template` asks, or when its renewal time (70-90% of its life) comes, a new key is
    made, a certificate requested through a client from `clients` (opened per attempt, so
    it presents whatever credential is current), the pair replaced on disk and `reload`
    called with it (e.g. `ssl_reloader(ctx)`, so new TLS connections present it). Failures
    are logged and retried with backoff; the old pair stays until a new one is written."""

    def __init__(self, *, clients: ClientFactory, pair: KeyPair, template: RequestTemplate,
                 reload: Callable[[KeyPair], None], rand: random.Random,
                 clock: Callable[[], float] = time.time, sleep: Sleep = asyncio.sleep,
                 request_timeout: float = REQUEST_TIMEOUT,
                 backoff_initial: float = BACKOFF_INITIAL, backoff_max: float = BACKOFF_MAX,
                 max_nap: float = MAX_NAP) -> None:
        self.clients = clients
        self.pair = pair
        self.template = template
        self.reload = reload
        self.rand = rand
        self.clock = clock
        self.sleep = sleep
        self.request_timeout = request_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_nap = max_nap
        # The deadline of the certificate it was drawn for (by serial): drawn once per
        # certificate, or every wake would move it.
        self._deadline: tuple[int, datetime] | None = None

    def deadline(self, found: IssuedPair) -> datetime:
        serial = found.cert.serial_number
        if self._deadline is None or self._deadline[0] != serial:
            self._deadline = (serial, renewal_deadline(
                found.cert.not_valid_before_utc, found.cert.not_valid_after_utc, self.rand))
        return self._deadline[1]

    async def run(self) -> None:
        failures = 0
        while True:
            found = load_key_pair(self.pair)
            now = datetime.fromtimestamp(self.clock(), UTC)
            deadline = self.deadline(found) if found is not None else None
            why = renewal_reason(found, self.template, now, deadline)
            if why is None:
                assert deadline is not None
                await self.sleep(min(max((deadline - now).total_seconds(), 0.0),
                                     self.max_nap))
                continue
            try:
                await self.rotate(why)
                failures = 0
            except (CertificateRequestError, ApiError, aiohttp.ClientError, OSError,
                    ValueError) as e:
                delay = self._backoff(failures)
                failures += 1
                log.warning("renewing %s failed: %s; trying again in %.0fs",
                            self.pair.cert, e, delay)
                await self.sleep(delay)

    def _backoff(self, failures: int) -> float:
        delay = min(self.backoff_initial * 2.0 ** failures, self.backoff_max)
        return delay * (1 + 0.1 * self.rand.random())

    async def rotate(self, why: str = "asked to") -> IssuedPair:
        """One renewal: request, check, write, reload."""
        log.info("requesting a new %s certificate for %s: %s", self.template.signer,
                 self.template.common_name, why)
        key = new_key()
        async with self.clients() as client:
            pem = await request_certificate(
                client, request_pem=self.template.request_pem(key),
                signer=self.template.signer, usages=self.template.usages,
                name_prefix=self.template.name_prefix,
                expiration_seconds=self.template.expiration_seconds,
                timeout=self.request_timeout)
        issued = issued_pair(pem, key)
        write_key_pair(self.pair, issued)
        self.reload(self.pair)
        log.info("wrote %s, valid until %s; the next renewal at %s", self.pair.cert,
                 f"{issued.cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S}Z",
                 f"{self.deadline(issued):%Y-%m-%d %H:%M:%S}Z")
        return issued


def ssl_reloader(context: ssl.SSLContext) -> Callable[[KeyPair], None]:
    """`reload` for an ssl.SSLContext: the same context loads the new pair, so every
    connection made from now on presents it (open ones keep the certificate they began
    with)."""
    def reload(pair: KeyPair) -> None:
        context.load_cert_chain(str(pair.cert), str(pair.key))

    return reload
