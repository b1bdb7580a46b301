"""The API server's /metrics: requests counted and timed under kube's labels, watches in
the watch gauges, stored objects counted, the process's own metrics; served to whoever
may `get` the /metrics non-resource URL (the admin, system:monitoring), 403 to others."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.authn import standard_authenticators
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService
from minikube_py.kubeconfig import KubeconfigCredentials, write_kubeconfig
from minikube_py.metrics import new_registry
from minikube_py.metrics.apiserver import ApiServerMetrics
from minikube_py.metrics.controlplane import ControlPlaneMetrics
from minikube_py.pki.certs import CertSpec
from minikube_py.pki.cluster import KeyPair, ensure_cluster_pki
from tests.certs import TrialPki, make_test_pki
from tests.conditions import until
from tests.metrics_text import Scrape
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def plain(svc: ApiService) -> AsyncIterator[str]:
    """The API on loopback with metrics, everyone the admin (no authenticators)."""
    server = TestServer(build_app(svc, metrics=ApiServerMetrics(new_registry())),
                        host="127.0.0.1")
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}"
    await server.close()


async def scrape(http: aiohttp.ClientSession, url: str) -> Scrape:
    async with http.get(f"{url}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return Scrape(await resp.text())


async def test_a_request_is_counted_under_kubes_labels(plain: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{plain}{CM}", json={"metadata": {"name": "c"}}) as resp:
            assert resp.status == 201
        async with http.get(f"{plain}{CM}/c") as resp:
            assert resp.status == 200
        async with http.get(f"{plain}{CM}") as resp:
            assert resp.status == 200
        got = await scrape(http, plain)
    common = {"group": "", "version": "v1", "resource": "configmaps", "subresource": "",
              "component": "apiserver", "dry_run": ""}
    assert got.value("apiserver_request_total", verb="POST", scope="resource", code="201",
                     **common) == 1
    assert got.value("apiserver_request_total", verb="GET", scope="resource", code="200",
                     **common) == 1
    assert got.value("apiserver_request_total", verb="LIST", scope="namespace", code="200",
                     **common) == 1
    assert got.value("apiserver_request_duration_seconds_count", verb="GET",
                     resource="configmaps") == 1
    assert got.has("apiserver_request_duration_seconds_bucket", verb="GET", le="0.005")
    assert got.has("apiserver_request_duration_seconds_bucket", verb="GET", le="60.0")


async def test_a_refused_request_is_counted_with_its_code(plain: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{plain}{CM}/missing") as resp:
            assert resp.status == 404
        async with http.patch(f"{plain}/api/v1/nodes/n1?dryRun=All", data="x: 1",
                              headers={"Content-Type": "application/apply-patch+yaml"}
                              ) as resp:
            refused = resp.status  # not YAML of an object
            assert refused >= 400
        got = await scrape(http, plain)
    assert got.value("apiserver_request_total", verb="GET", resource="configmaps",
                     code="404") == 1
    assert got.value("apiserver_request_total", verb="APPLY", resource="nodes",
                     scope="resource", dry_run="All", code=str(refused)) == 1


async def test_a_watch_shows_in_the_watch_gauges(plain: str) -> None:
    async with aiohttp.ClientSession() as http:
        before = await scrape(http, plain)
        assert before.value("apiserver_longrunning_requests", verb="WATCH") == 0
        async with http.get(f"{plain}/api/v1/pods?watch=true&timeoutSeconds=30") as watch:
            assert watch.status == 200

            async def watched() -> bool:
                got = await scrape(http, plain)
                return got.value("apiserver_longrunning_requests", verb="WATCH",
                                 resource="pods", scope="cluster") == 1 and \
                    got.value("apiserver_registered_watchers", kind="Pod", version="v1") >= 1
            await until(watched, "the watch in the gauges")
        await until(lambda: _no_watch(http, plain), "the watch gone from the gauge")
        got = await scrape(http, plain)
    assert got.value("apiserver_request_total", verb="WATCH", resource="pods") == 1


async def _no_watch(http: aiohttp.ClientSession, url: str) -> bool:
    return (await scrape(http, url)).value("apiserver_longrunning_requests",
                                           verb="WATCH") == 0


async def test_stored_objects_and_the_process_are_shown(plain: str) -> None:
    async with aiohttp.ClientSession() as http:
        before = (await scrape(http, plain)).value("apiserver_storage_objects",
                                                    resource="configmaps")
        for name in ("a", "b"):
            async with http.post(f"{plain}{CM}", json={"metadata": {"name": name}}) as resp:
                assert resp.status == 201
        got = await scrape(http, plain)
    assert got.value("apiserver_storage_objects", resource="configmaps") == before + 2
    assert got.value("apiserver_storage_objects", resource="namespaces") >= 4
    assert got.value("process_resident_memory_bytes") > 0


async def test_without_metrics_there_is_no_metrics_path(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{server.port}/metrics") as resp:
        assert resp.status == 404


# --- who may read it: kubectl over HTTPS, with serve's authenticators ---------------------

MONITOR = CertSpec("prometheus", ("system:monitoring",), client=True)


@pytest.fixture
def pki(tmp_path: Path) -> TrialPki:
    return make_test_pki(tmp_path)


@pytest.fixture
async def secure(svc: ApiService, pki: TrialPki) -> AsyncIterator[str]:
    server = TestServer(build_app(svc, authenticators=standard_authenticators(),
                                  metrics=ApiServerMetrics(new_registry())),
                        host="127.0.0.1")
    await server.start_server(ssl=pki.api_server_context())
    yield f"https://127.0.0.1:{server.port}"
    await server.close()


def kubeconfig_of(url: str, pki: TrialPki, pair: KeyPair, tmp_path: Path) -> Path:
    path = tmp_path / f"kubeconfig-{pair.cert.stem}"
    write_kubeconfig(path, url, KubeconfigCredentials.read(pki.layout.ca.cert, pair))
    return path


@needs_kubectl
async def test_kubectl_get_raw_metrics_as_the_admin(secure: str, pki: TrialPki,
                                                    tmp_path: Path) -> None:
    config = kubeconfig_of(secure, pki, pki.layout.admin, tmp_path)
    rc, out, err = await kubectl(config, "get", "--raw", "/metrics")
    assert rc == 0, err
    got = Scrape(out)
    assert got.has("apiserver_request_total")
    assert got.value("process_resident_memory_bytes") > 0


@needs_kubectl
async def test_system_monitoring_may_read_metrics(secure: str, pki: TrialPki,
                                                  tmp_path: Path) -> None:
    pair = KeyPair(pki.layout.root / "prometheus.crt", pki.layout.root / "prometheus.key")
    await asyncio.to_thread(ensure_cluster_pki, pki.layout, [(pair, MONITOR)],
                            datetime.now(UTC))
    rc, out, err = await kubectl(kubeconfig_of(secure, pki, pair, tmp_path),
                                 "get", "--raw", "/metrics")
    assert rc == 0, err
    assert Scrape(out).has("apiserver_request_duration_seconds_bucket")


async def test_a_user_without_system_monitoring_is_refused(secure: str,
                                                           pki: TrialPki) -> None:
    async with aiohttp.ClientSession() as http, \
            http.get(f"{secure}/metrics", ssl=pki.client(pki.jane)) as resp:
        assert resp.status == 403
        status = json.loads(await resp.text())
    assert (status["kind"], status["reason"]) == ("Status", "Forbidden")
    assert status["message"] == ('forbidden: User "jane" cannot get path "/metrics"')


@needs_kubectl
async def test_kubectl_as_a_user_without_system_monitoring_is_forbidden(
        secure: str, pki: TrialPki, tmp_path: Path) -> None:
    rc, _, err = await kubectl(kubeconfig_of(secure, pki, pki.jane, tmp_path),
                               "get", "--raw", "/metrics")
    assert rc != 0
    assert "Forbidden" in err


async def test_made_up_methods_and_paths_do_not_grow_the_labels(plain: str) -> None:
    async with aiohttp.ClientSession() as http:
        for method in ("PROPFIND", "MKCOL"):  # WebDAV's: the HTTP parser takes them
            async with http.request(method, f"{plain}/nowhere") as resp:
                assert resp.status == 404
        async with http.request("PROPFIND", f"{plain}{CM}") as resp:
            assert resp.status >= 400
        got = await scrape(http, plain)
    assert got.value("apiserver_request_total", verb="other", resource="") == 2
    assert got.value("apiserver_request_total", verb="other", resource="configmaps") == 1
    assert not got.has("apiserver_request_total", verb="PROPFIND")


async def test_two_control_planes_in_one_process_count_apart(svc: ApiService) -> None:
    first, second = ControlPlaneMetrics(), ControlPlaneMetrics()  # no global registry
    servers = [TestServer(build_app(svc, metrics=m.api), host="127.0.0.1")
               for m in (first, second)]
    for server in servers:
        await server.start_server()
    try:
        urls = [f"http://127.0.0.1:{s.port}" for s in servers]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{urls[0]}{CM}") as resp:
                assert resp.status == 200
            got = [await scrape(http, url) for url in urls]
    finally:
        for server in servers:
            await server.close()
    assert got[0].value("apiserver_request_total", verb="LIST", resource="configmaps") == 1
    assert got[1].value("apiserver_request_total", verb="LIST", resource="configmaps") == 0
