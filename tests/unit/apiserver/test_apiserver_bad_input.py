"""Bad input from a fuzz run, one example per root cause: each is a 4xx Status, never a 500,
and nothing it sent is stored in a shape a later request cannot handle."""

import gzip
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.protocolerrors import ProtocolErrorLog
from minikube_py.apiserver.service import ApiService

from .conftest import pod_body

pytestmark = pytest.mark.both_stores  # each test runs on the in-memory store and on etcd

PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
SERVICES = "/api/v1/namespaces/default/services"
NAMESPACES = "/api/v1/namespaces"
JSON = "application/json"
YAML = "application/yaml"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


def deployment(name: str = "d", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
                     **spec}}


@pytest.fixture
async def http(svc: ApiService) -> AsyncIterator[aiohttp.ClientSession]:
    srv = TestServer(build_app(svc), host="127.0.0.1")
    await srv.start_server()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as session:
        yield session
    await srv.close()


async def send(http: aiohttp.ClientSession, method: str, path: str, body: bytes | str,
               ctype: str = JSON, **headers: str) -> tuple[int, Any]:
    data = body.encode() if isinstance(body, str) else body
    async with http.request(method, path, data=data,
                            headers={"Content-Type": ctype, **headers}) as resp:
        text = await resp.text()
        assert resp.content_type == "application/json", text
        return resp.status, json.loads(text)


async def create_pod(http: aiohttp.ClientSession, name: str = "p") -> None:
    status, out = await send(http, "POST", PODS, json.dumps(pod_body(name)))
    assert status == 201, out


# --- patches with the wrong types ---------------------------------------------------------

@pytest.mark.parametrize(("ctype", "patch"), [
    (MERGE, '{"metadata":1.5}'),
    (JSON_PATCH, '[{"op":"add","path":1,"value":"x"}]'),
    (JSON_PATCH, '[{"op":5,"path":"/x"}]'),
    (JSON_PATCH, '{"op":"add"}'),
    (STRATEGIC, '{"spec":{"$setElementOrder/containers":true}}'),
    (STRATEGIC, '{"spec":{"$retainKeys":7}}'),
    (STRATEGIC, '{"metadata":{"finalizers":5}}'),
    (MERGE, '{"spec":{"containers":"x"}}'),
])
async def test_a_patch_of_the_wrong_shape_is_a_client_error(
        http: aiohttp.ClientSession, ctype: str, patch: str) -> None:
    await create_pod(http)
    status, out = await send(http, "PATCH", f"{PODS}/p", patch, ctype)
    assert 400 <= status < 500, out
    assert out["kind"] == "Status"
    status, _ = await send(http, "PATCH", f"{PODS}/p", '{"metadata":{"labels":{"ok":"1"}}}',
                           MERGE)
    assert status == 200  # the object is still patchable


async def test_a_strategic_patch_of_set_element_order_in_a_template_is_a_client_error(
        http: aiohttp.ClientSession) -> None:
    status, out = await send(http, "POST", DEPLOYMENTS, json.dumps(deployment()))
    assert status == 201, out
    patch = '{"spec":{"template":{"spec":{"$setElementOrder/containers":true}}}}'
    status, out = await send(http, "PATCH", f"{DEPLOYMENTS}/d", patch, STRATEGIC)
    assert status == 400, out


@pytest.mark.parametrize("patch", ['{"spec":[1]}', '{"spec":{"replicas":"3"}}', '[1]',
                                   '{"spec":{"replicas":-1}}'])
async def test_a_scale_patch_of_the_wrong_shape_is_a_client_error(
        http: aiohttp.ClientSession, patch: str) -> None:
    status, out = await send(http, "POST", DEPLOYMENTS, json.dumps(deployment()))
    assert status == 201, out
    status, out = await send(http, "PATCH", f"{DEPLOYMENTS}/d/scale", patch, MERGE)
    assert 400 <= status < 500, out


@pytest.mark.parametrize("body", ['{"metadata":"x"}', '[]', '"x"', '{"metadata":[]}',
                                  '{"metadata":{"name":"p"},"spec":null}'])
async def test_a_put_of_the_wrong_shape_is_a_client_error(http: aiohttp.ClientSession,
                                                          body: str) -> None:
    await create_pod(http)
    status, out = await send(http, "PUT", f"{PODS}/p", body)
    assert 400 <= status < 500, out


# --- nesting --------------------------------------------------------------------------------

@pytest.mark.parametrize(("ctype", "body"), [
    (JSON, '{"metadata":{"name":"deep"},"spec":' + "[" * 10_000 + "]" * 10_000 + "}"),
    (JSON, '{"metadata":{"name":"deep","annotations":' + '{"a":' * 150 + "1" + "}" * 150 + "}}"),
    (YAML, "metadata: {name: deep}\nspec: " + "[" * 1000 + "]" * 1000 + "\n"),
])
async def test_nesting_beyond_the_limit_is_refused_at_decode(
        http: aiohttp.ClientSession, ctype: str, body: str) -> None:
    status, out = await send(http, "POST", PODS, body, ctype)
    assert status == 400, out
    assert "error decoding request body" in out["message"] or "cannot be handled" in \
        out["message"]


async def test_a_deep_value_in_a_free_form_field_cannot_be_stored(
        http: aiohttp.ClientSession) -> None:
    data = '{"a":' * 150 + "1" + "}" * 150
    body = ('{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"r"},'
            f'"revision":1,"data":{data}}}')
    status, out = await send(http, "POST", "/apis/apps/v1/namespaces/default/"
                             "controllerrevisions", body)
    assert status == 400, out


async def test_a_json_patch_cannot_build_an_object_deeper_than_the_limit(
        http: aiohttp.ClientSession) -> None:
    body = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"},
            "revision": 1, "data": {"a": 1}}
    path = "/apis/apps/v1/namespaces/default/controllerrevisions"
    status, out = await send(http, "POST", path, json.dumps(body))
    assert status == 201, out
    value: Any = 1
    for _ in range(60):
        value = {"a": value}
    ops = [{"op": "add", "path": "/data/a", "value": value},
           {"op": "copy", "from": "/data/a", "path": "/data/a/a" + "/a" * 59}]
    status, out = await send(http, "PATCH", f"{path}/r", json.dumps(ops), JSON_PATCH)
    assert 400 <= status < 500, out
    status, out = await send(http, "PATCH", f"{path}/r", '[{"op":"replace","path":"/revision",'
                             '"value":2}]', JSON_PATCH)
    assert status == 200, out  # still patchable afterwards


# --- strings --------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["name", "label", "kind", "key"])
async def test_a_lone_surrogate_anywhere_becomes_the_replacement_character(
        http: aiohttp.ClientSession, where: str) -> None:
    body = pod_body("s")
    if where == "label":
        body["metadata"]["annotations"] = {"note": "x\ud800y"}
    elif where == "kind":
        body["kind"] = "Pod\ud800"
    elif where == "key":
        body["metadata"]["annotations"] = {"\udfff": "v"}
    else:
        body["metadata"]["name"] = "s\ud800"
    raw = json.dumps(body)  # ensure_ascii: the surrogate travels as the escape \\ud800
    status, out = await send(http, "POST", PODS, raw)
    assert status in (201, 400, 422), out
    if where == "label":
        assert status == 201
        assert out["metadata"]["annotations"]["note"] == "x\ufffdy"


# --- nulls and numbers where defaults are expected ------------------------------------------

@pytest.mark.parametrize(("path", "body"), [
    (DEPLOYMENTS, deployment(strategy=None)),
    (DEPLOYMENTS, deployment(template=None)),
    (SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": None}),
    (PODS, pod_body("q", containers=[{"name": "c", "image": "busybox",
                                      "resources": {"requests": {"cpu": None}}}])),
    (PODS, pod_body("q", containers=None)),
    (PODS, pod_body("q", tolerations=[None])),
])
async def test_nulls_where_defaults_are_expected_are_absent_values(
        http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> None:
    status, out = await send(http, "POST", path, json.dumps(body))
    assert status in (201, 422), out


@pytest.mark.parametrize("cpu", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_non_finite_numbers_are_refused(http: aiohttp.ClientSession, cpu: str) -> None:
    body = json.dumps(pod_body("n")).replace('"image": "busybox"',
                                             '"image": "busybox", "resources": '
                                             f'{{"requests": {{"cpu": {cpu}}}}}')
    status, out = await send(http, "POST", PODS, body)
    assert 400 <= status < 500, out


async def test_a_yaml_nan_is_refused(http: aiohttp.ClientSession) -> None:
    body = ("metadata: {name: n}\nspec:\n  containers:\n  - name: c\n    image: busybox\n"
            "    resources: {requests: {cpu: .nan}}\n")
    status, out = await send(http, "POST", PODS, body, YAML)
    assert status == 400, out


# --- query parameters -----------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "log?sinceTime=garbage",
    "log?sinceSeconds=" + "9" * 400,
    "log?tailLines=1e3",
])
async def test_bad_log_parameters_are_client_errors(http: aiohttp.ClientSession,
                                                    query: str) -> None:
    await create_pod(http)
    async with http.get(f"{PODS}/p/{query}") as resp:
        assert resp.status == 400, await resp.text()


@pytest.mark.parametrize("query", [
    "watch=true&timeoutSeconds=" + "9" * 400,
    "limit=" + "9" * 400,
    "continue=garbage",
    "continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOjV9",  # start is a number
    "continue=eyJydiI6W10sInN0YXJ0IjoieCJ9",
    "resourceVersion=-1",
    "labelSelector=a%20in%20(",
    "fieldSelector=spec.bogus%3Dx",
])
async def test_bad_list_and_watch_parameters_are_client_errors(
        http: aiohttp.ClientSession, query: str) -> None:
    async with http.get(f"{PODS}?{query}") as resp:
        assert 400 <= resp.status < 500, await resp.text()
        assert (await resp.json())["kind"] == "Status"


# --- YAML beyond JSON's data model ----------------------------------------------------------

@pytest.mark.parametrize("yaml_body", [
    "metadata: {name: b}\ndata: {k: !!binary aGVsbG8=}\n",
    "metadata: {name: b}\ndata: !!set {a, b}\n",
    "metadata: {name: b}\ndata: {2024-01-01: v}\n",
    "metadata: {name: b, labels: {a: 2024-01-01}}\n",
    "metadata: {name: b}\ndata: {k: " + "9" * 5000 + "}\n",
    "metadata: {name: b}\ndata: {? [a, b] : v}\n",
    "metadata: {name: b}\ndata: {k: !!python/object:os.system x}\n",
])
async def test_yaml_outside_json_is_converted_or_refused(http: aiohttp.ClientSession,
                                                         yaml_body: str) -> None:
    status, out = await send(http, "POST", "/api/v1/namespaces/default/configmaps",
                             yaml_body, YAML)
    assert status in (201, 400, 422), out
    if status == 201:
        status, got = await send(http, "GET", "/api/v1/namespaces/default/configmaps/b", b"")
        assert status == 200
        assert got.get("data") == out.get("data")


async def test_a_yaml_alias_bomb_is_refused_quickly(http: aiohttp.ClientSession) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, "
                     f"*{prev}, *{prev}, *{prev}]")
    body = "metadata: {name: bomb}\ndata:\n" + "\n".join("  " + line for line in lines) + "\n"
    assert len(body) < 600
    status, out = await send(http, "POST", "/api/v1/namespaces/default/configmaps", body, YAML)
    assert status == 400, out


async def test_an_alias_used_twice_is_two_values_not_one_shared(
        http: aiohttp.ClientSession) -> None:
    body = ("apiVersion: v1\nkind: Namespace\nmetadata: &m {name: shared, labels: {a: b}}\n"
            "spec: {}\nstatus: *m\n")
    status, out = await send(http, "POST", NAMESPACES, body, YAML)
    assert status == 201, out
    status, out = await send(http, "DELETE", f"{NAMESPACES}/shared", b"")
    assert status == 202, out
    assert out["status"]["phase"] == "Terminating"
    assert "phase" not in out["metadata"]


# --- sizes and encodings --------------------------------------------------------------------

async def test_a_body_over_three_mebibytes_is_413(http: aiohttp.ClientSession) -> None:
    body = pod_body("big")
    body["metadata"]["annotations"] = {"a": "x" * (3 * 1024 * 1024)}
    status, out = await send(http, "POST", PODS, json.dumps(body))
    assert status == 413, out
    assert out["reason"] == "RequestEntityTooLarge"


async def test_an_object_over_the_store_limit_is_413_whatever_made_it(
        http: aiohttp.ClientSession) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"},
            "data": {f"k{i}": "x" * 100_000 for i in range(16)}}
    status, out = await send(http, "POST", "/api/v1/namespaces/default/configmaps",
                             json.dumps(body))
    assert status == 413, out
    body["data"] = {"k": "x" * 200_000}
    status, out = await send(http, "POST", "/api/v1/namespaces/default/configmaps",
                             json.dumps(body))
    assert status == 201, out
    ops = [{"op": "copy", "from": "/data/k", "path": f"/data/k{i}"} for i in range(20)]
    status, out = await send(http, "PATCH", "/api/v1/namespaces/default/configmaps/m",
                             json.dumps(ops), JSON_PATCH)
    assert status == 413, out


async def test_a_json_patch_of_copies_cannot_grow_without_bound(
        http: aiohttp.ClientSession) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"k": "x" * 1000}}
    status, _ = await send(http, "POST", "/api/v1/namespaces/default/configmaps",
                           json.dumps(body))
    assert status == 201
    # Each copy doubles /x: thirty of them would make a gigabyte from a kilobyte of patch.
    ops: list[dict[str, Any]] = [{"op": "add", "path": "/x", "value": {"v": "x" * 100}}]
    ops += [{"op": "copy", "from": "/x", "path": f"/x/{i}"} for i in range(30)]
    raw = json.dumps(ops, separators=(",", ":"))
    assert len(raw) < 1500
    status, out = await send(http, "PATCH", "/api/v1/namespaces/default/configmaps/c", raw,
                             JSON_PATCH)
    assert 400 <= status < 500, out


async def test_gzip_encoding_with_a_plain_body_is_a_client_error(
        http: aiohttp.ClientSession) -> None:
    async with http.post(PODS, data=json.dumps(pod_body("z")).encode(),
                         headers={"Content-Type": JSON, "Content-Encoding": "gzip"}) as resp:
        assert 400 <= resp.status < 500, await resp.text()


async def test_a_gzip_body_is_decoded(http: aiohttp.ClientSession) -> None:
    async with http.post(PODS, data=gzip.compress(json.dumps(pod_body("g")).encode()),
                         headers={"Content-Type": JSON, "Content-Encoding": "gzip"}) as resp:
        assert resp.status == 201, await resp.text()


# --- unknown fields -------------------------------------------------------------------------

async def test_unknown_fields_are_dropped_with_a_warning_by_default(
        http: aiohttp.ClientSession) -> None:
    body = pod_body("u")
    body["spec"]["containers"][0]["imagee"] = "typo"
    body["bogus"] = 1
    async with http.post(PODS, json=body) as resp:
        assert resp.status == 201
        warnings = resp.headers.getall("Warning", [])
        out = await resp.json()
    assert "imagee" not in out["spec"]["containers"][0]
    assert "bogus" not in out
    assert any('unknown field \\"spec.containers[0].imagee\\"' in w for w in warnings), warnings
    assert any('unknown field \\"bogus\\"' in w for w in warnings), warnings


async def test_unknown_fields_are_refused_under_strict(http: aiohttp.ClientSession) -> None:
    body = pod_body("u")
    body["spec"]["containers"][0]["imagee"] = "typo"
    async with http.post(f"{PODS}?fieldValidation=Strict", json=body) as resp:
        assert resp.status == 400
        out = await resp.json()
    assert out["message"] == ('Pod in version "v1" cannot be handled as a Pod: strict decoding '
                              'error: unknown field "spec.containers[0].imagee"')


async def test_duplicate_fields_are_refused_under_strict(http: aiohttp.ClientSession) -> None:
    raw = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","name":"e"}}'
    status, out = await send(http, "POST", "/api/v1/namespaces/default/configmaps"
                             "?fieldValidation=Strict", raw)
    assert status == 400, out
    assert 'duplicate field \\"name\\"' in json.dumps(out["message"])


async def test_unknown_fields_are_dropped_silently_under_ignore(
        http: aiohttp.ClientSession) -> None:
    body = pod_body("i")
    body["spec"]["bogus"] = True
    async with http.post(f"{PODS}?fieldValidation=Ignore", json=body) as resp:
        assert resp.status == 201
        assert not resp.headers.getall("Warning", [])
        assert "bogus" not in (await resp.json())["spec"]


# --- the HTTP layer -------------------------------------------------------------------------

def test_a_malformed_request_is_one_warning_line_at_most_every_interval(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    log = ProtocolErrorLog(logging.getLogger("test.protocol"), interval=10.0,
                           clock=lambda: now[0])
    with caplog.at_level(logging.DEBUG, "test.protocol"):
        for _ in range(5):
            log.exception("Error handling request from %s", "127.0.0.1",
                          exc_info=ValueError("Invalid method encountered\nb'...'"))
        now[0] += 11
        log.exception("Error handling request from %s", "127.0.0.1",
                      exc_info=ValueError("bad"))
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]
    assert caplog.records[0].getMessage() == ("Error handling request from 127.0.0.1: "
                                              "ValueError: Invalid method encountered")
    assert caplog.records[1].getMessage().endswith("(4 more since the last report)")
    assert not any(r.exc_info for r in caplog.records)


async def test_a_store_that_cannot_serve_is_503_not_500(svc: ApiService,
                                                       http: aiohttp.ClientSession) -> None:
    await svc.kv.close()  # what a store that failed (or is closing with serve) answers
    status, out = await send(http, "GET", f"{PODS}/p", b"")
    assert status == 503, out
    assert out["reason"] == "ServiceUnavailable"
    status, out = await send(http, "POST", PODS, json.dumps(pod_body("after")))
    assert status == 503, out
