"""A node's certificate requests and rotation: what a CSR's status means to the node that
asked, waiting on the request through a watch, and when the rotation wakes."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.interface import ApiClient
from minikube_py.controllers.csrsigning import signed_status
from minikube_py.kubelet.certificates import (
    CertificateRequestError,
    CertificateRotation,
    issued_certificate,
    request_certificate,
)
from minikube_py.pki.certmanager import RequestTemplate, issued_pair, new_key, write_key_pair
from minikube_py.pki.certs import issue_ca
from minikube_py.pki.cluster import KeyPair
from minikube_py.pki.csr import SigningCa, certificate_pem, parse_request, sign

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = SigningCa(issue_ca(CA_KEY, "test-ca", datetime.now(UTC) - timedelta(days=1)), CA_KEY)
CLIENT = RequestTemplate("kubernetes.io/kube-apiserver-client-kubelet", "system:node:n1",
                         ("system:nodes",), ("digital signature", "client auth"))
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def csr(*conditions: Obj, certificate: bytes = b"") -> Obj:
    status: Obj = {"conditions": list(conditions)}
    if certificate:
        status["certificate"] = base64.b64encode(certificate).decode()
    return {"metadata": {"name": "node-csr-x"}, "status": status}


def test_a_waiting_request_has_no_certificate_yet() -> None:
    assert issued_certificate(csr()) is None
    assert issued_certificate(csr({"type": "Approved", "status": "True"})) is None


def test_an_issued_request_gives_its_certificate() -> None:
    assert issued_certificate(csr({"type": "Approved", "status": "True"},
                                  certificate=PEM)) == PEM


@pytest.mark.parametrize(("condition", "why"), [
    ({"type": "Denied", "status": "True", "reason": "NotOurs", "message": "no"},
     "CertificateSigningRequest node-csr-x was denied: NotOurs: no"),
    ({"type": "Failed", "status": "True", "reason": "SignerValidationFailure",
      "message": "subject organization is not system:nodes"},
     "CertificateSigningRequest node-csr-x was failed: SignerValidationFailure: subject "
     "organization is not system:nodes"),
    ({"type": "Denied", "status": "True"},
     "CertificateSigningRequest node-csr-x was denied: no reason given: no message"),
], ids=["denied", "failed", "denied-saying-nothing"])
def test_a_refused_request_is_an_error_naming_the_reason_and_message(condition: Obj,
                                                                     why: str) -> None:
    with pytest.raises(CertificateRequestError) as e:
        issued_certificate(csr(condition))
    assert str(e.value) == why


async def sign_when_asked(api: ApiService) -> None:
    """A signer that approves and signs the first request it sees."""
    async for event in api.watch(CERTIFICATESIGNINGREQUESTS):
        obj = event.object
        obj["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
        obj["status"] = signed_status(obj, CA, datetime.now(UTC), x509.random_serial_number)
        await api.update(CERTIFICATESIGNINGREQUESTS, obj, subresource="status")
        return


async def test_the_certificate_signed_after_the_request_is_returned(api: ApiService) -> None:
    signer = asyncio.create_task(sign_when_asked(api))
    key = new_key()
    pem = await request_certificate(api, request_pem=CLIENT.request_pem(key),
                                    signer=CLIENT.signer, usages=CLIENT.usages,
                                    name_prefix="node-csr-", timeout=10)
    await signer
    assert issued_pair(pem, key).cert.subject == CLIENT.subject


async def test_the_request_is_named_from_the_prefix_and_asks_the_duration(
        api: ApiService) -> None:
    with pytest.raises(CertificateRequestError, match=r"no certificate after 0\.1s"):
        await request_certificate(api, request_pem=CLIENT.request_pem(new_key()),
                                  signer=CLIENT.signer, usages=CLIENT.usages,
                                  name_prefix="kubelet-serving-", expiration_seconds=3600,
                                  timeout=0.1)
    [made] = (await api.list(CERTIFICATESIGNINGREQUESTS))["items"]
    assert made["metadata"]["name"].startswith("kubelet-serving-")
    assert (made["spec"]["signerName"], made["spec"]["usages"],
            made["spec"]["expirationSeconds"]) == (CLIENT.signer, list(CLIENT.usages), 3600)


async def test_a_request_deleted_while_waiting_is_an_error(api: ApiService) -> None:
    async def delete_when_asked() -> None:
        async for event in api.watch(CERTIFICATESIGNINGREQUESTS):
            await api.delete(CERTIFICATESIGNINGREQUESTS, event.object["metadata"]["name"])
            return

    deleter = asyncio.create_task(delete_when_asked())
    with pytest.raises(CertificateRequestError, match="was deleted before a certificate"):
        await request_certificate(api, request_pem=CLIENT.request_pem(new_key()),
                                  signer=CLIENT.signer, usages=CLIENT.usages,
                                  name_prefix="node-csr-", timeout=10)
    await deleter


class CompactedOnce:
    """The API service, but its first watch answers 410 Gone (the version was compacted),
    after the request has been issued behind the watcher's back."""

    def __init__(self, api: ApiService) -> None:
        self.api = api
        self.watches = 0

    async def create(self, resource: Any, body: Obj, **kw: Any) -> Obj:
        created = await self.api.create(resource, body, **kw)
        issued = {**created, "status": {"conditions": [{"type": "Approved",
                                                        "status": "True"}]}}
        issued["status"] = signed_status(issued, CA, datetime.now(UTC),
                                         x509.random_serial_number)
        await self.api.update(resource, issued, subresource="status")
        return created

    async def get(self, resource: Any, name: str, **kw: Any) -> Obj:
        return await self.api.get(resource, name, **kw)

    def watch(self, resource: Any, **kw: Any) -> AsyncIterator[Any]:
        self.watches += 1
        raise ApiError(410, "Expired", "too old resource version")


async def test_a_compacted_watch_reads_the_request_as_it_is_now(api: ApiService) -> None:
    client = CompactedOnce(api)
    key = new_key()
    pem = await request_certificate(client, request_pem=CLIENT.request_pem(key),  # type: ignore[arg-type]
                                    signer=CLIENT.signer, usages=CLIENT.usages,
                                    name_prefix="node-csr-", timeout=10)
    assert client.watches == 1
    assert issued_pair(pem, key).cert.subject == CLIENT.subject


class Lowest(random.Random):
    def random(self) -> float:
        return 0.0


class Woken(Exception):
    pass


def write_pair(tmp_path: Path, not_before: datetime) -> KeyPair:
    """A certificate for CLIENT signed for an hour, valid from `not_before` (backdated)."""
    key = new_key()
    cert = sign(parse_request(CLIENT.request_pem(key)), list(CLIENT.usages), CA,
                not_before + timedelta(minutes=5), 3600)
    pair = KeyPair(tmp_path / "c.crt", tmp_path / "c.key")
    write_key_pair(pair, issued_pair(certificate_pem(cert), key))
    return pair


@asynccontextmanager
async def no_client() -> AsyncIterator[ApiClient]:
    raise AssertionError("a current certificate needs no request")
    yield  # pragma: no cover


@pytest.mark.parametrize(("max_nap", "nap"), [(10_000.0, 45.5 * 60), (300.0, 300.0)],
                         ids=["until-the-deadline", "no-longer-than-max-nap"])
async def test_the_rotation_sleeps_until_the_deadline_reading_the_clock_again(
        tmp_path: Path, max_nap: float, nap: float) -> None:
    pair = write_pair(tmp_path, NOW)
    naps: list[float] = []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        raise Woken

    # Valid from NOW for 65 min (an hour, and the signer's 5 min backdate): the deadline at
    # 70% is NOW + 45.5 min.
    rotation = CertificateRotation(clients=no_client, pair=pair, template=CLIENT,
                                   reload=lambda _: None, rand=Lowest(),
                                   clock=lambda: NOW.timestamp(), sleep=sleep,
                                   max_nap=max_nap)
    with pytest.raises(Woken):
        await rotation.run()
    assert naps == [pytest.approx(nap)]
