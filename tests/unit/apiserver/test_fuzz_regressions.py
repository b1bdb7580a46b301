"""What the fuzz suite (tests/fuzz) found, one failing input per root cause, kept as
regression tests: each answer a 4xx Status (never a 500), and each accepted write stored in
a shape every later reader takes."""

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService

PODS = "/api/v1/namespaces/default/pods"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
JSON = "application/json"
YAML = "application/yaml"


@pytest.fixture
async def http(svc: ApiService) -> AsyncIterator[aiohttp.ClientSession]:
    srv = TestServer(build_app(svc), host="127.0.0.1")
    await srv.start_server()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as session:
        yield session
    await srv.close()


async def send(http: aiohttp.ClientSession, method: str, path: str, body: str | bytes = b"",
               ctype: str = JSON) -> tuple[int, Any]:
    data = body.encode() if isinstance(body, str) else body
    async with http.request(method, path, data=data, headers={"Content-Type": ctype}) as resp:
        return resp.status, json.loads(await resp.text())


async def test_a_status_lists_details_before_code_as_kube_does(
        http: aiohttp.ClientSession) -> None:
    status, out = await send(http, "GET", f"{PODS}/missing")
    assert status == 404
    assert list(out) == ["kind", "apiVersion", "metadata", "status", "message", "reason",
                         "details", "code"]


@pytest.mark.parametrize("value", ["!!bool maybe", "!!bool ''", "!!bool yes"])
async def test_an_explicit_yaml_bool_tag_on_a_non_boolean_is_a_decode_error(
        http: aiohttp.ClientSession, value: str) -> None:
    body = f"metadata: {{name: b}}\nimmutable: {value}\n"
    status, out = await send(http, "POST", CONFIGMAPS, body, YAML)
    if value == "!!bool yes":
        assert status == 201, out
        assert out["immutable"] is True
    else:
        assert status == 400, out
        assert out["message"].startswith("error decoding request body: cannot decode")


def _client_model(obj: dict[str, Any], model: str) -> Any:
    import kubernetes.client

    class Response:
        data = json.dumps(obj)

    return kubernetes.client.ApiClient().deserialize(Response(), model)


_TEMPLATE = {"metadata": {"labels": {"app": "w"}},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.mark.parametrize(("path", "kind", "spec", "model"), [
    ("/apis/apps/v1/namespaces/default/replicasets", "ReplicaSet",
     {"selector": {"matchLabels": {"app": "w"}}, "template": _TEMPLATE}, "V1ReplicaSet"),
    ("/apis/apps/v1/namespaces/default/daemonsets", "DaemonSet",
     {"selector": {"matchLabels": {"app": "w"}}, "template": _TEMPLATE}, "V1DaemonSet"),
    ("/apis/apps/v1/namespaces/default/statefulsets", "StatefulSet",
     {"serviceName": "s", "selector": {"matchLabels": {"app": "w"}}, "template": _TEMPLATE},
     "V1StatefulSet"),
    ("/api/v1/namespaces/default/replicationcontrollers", "ReplicationController",
     {"selector": {"app": "w"}, "template": _TEMPLATE}, "V1ReplicationController"),
])
async def test_a_new_workload_reads_back_in_the_official_client(
        http: aiohttp.ClientSession, path: str, kind: str, spec: dict[str, Any],
        model: str) -> None:
    api_version = "v1" if path.startswith("/api/") else "apps/v1"
    body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"}, "spec": spec}
    status, out = await send(http, "POST", path, json.dumps(body))
    assert status == 201, out
    _client_model(out, model)  # raised "Invalid value for `replicas`, must not be `None`"


async def test_fields_go_always_writes_read_back_with_their_zero_values(
        http: aiohttp.ClientSession) -> None:
    status, out = await send(http, "POST", "/api/v1/namespaces",
                             '{"metadata":{"name":"z"}}')
    assert status == 201, out
    patch = '{"status":{"conditions":[{}]}}'
    async with http.patch("/api/v1/namespaces/z/status", data=patch,
                          headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert resp.status == 200, await resp.text()
        out = await resp.json()
    assert out["status"]["conditions"] == [{"status": "", "type": ""}]
    _client_model(out, "V1Namespace")  # raised "Invalid value for `status`, must not be None"


async def test_a_container_without_a_name_is_still_a_required_value(
        http: aiohttp.ClientSession) -> None:
    body = {"metadata": {"name": "p"}, "spec": {"containers": [{"image": "busybox"}]}}
    status, out = await send(http, "POST", PODS, json.dumps(body))
    assert status == 422, out
    assert "spec.containers[0].name: Required value" in out["message"]


async def test_a_null_list_element_reads_back_as_a_zero_struct_with_its_required_fields(
        http: aiohttp.ClientSession) -> None:
    body = {"metadata": {"name": "n"}, "status": {"addresses": [None]}}
    status, out = await send(http, "POST", "/api/v1/nodes", json.dumps(body))
    assert status == 201, out
    assert out["status"]["addresses"] == [{"address": "", "type": ""}]
    _client_model(out, "V1Node")  # raised "Invalid value for `address`, must not be `None`"


@pytest.mark.parametrize("when", ["2024-02-30T00:00:00Z", "yesterday", "", "2024-01-01",
                                  "2024-01-01T25:00:00Z", "2024-01-01t00:00:00z"])
async def test_a_time_that_is_not_rfc3339_is_a_decode_error(
        http: aiohttp.ClientSession, when: str) -> None:
    body = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
            "lastTimestamp": when}
    status, out = await send(http, "POST", "/api/v1/namespaces/default/events",
                             json.dumps(body))
    assert status == 400, out
    assert "cannot be handled as a Event: parsing time" in out["message"]


@pytest.mark.parametrize("when", ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123456+01:00"])
async def test_an_rfc3339_time_is_stored_and_read_by_the_official_client(
        http: aiohttp.ClientSession, when: str) -> None:
    body = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
            "lastTimestamp": when}
    status, out = await send(http, "POST", "/api/v1/namespaces/default/events",
                             json.dumps(body))
    assert status == 201, out
    _client_model(out, "CoreV1Event")  # "2024-02-30..." raised ApiException here


@pytest.mark.parametrize("quantity", ['"abc"', '"1 Gi"', '"1e999999999"', '"' + "1" * 5000 + '"',
                                      '"8Zi"'])
async def test_a_quantity_that_does_not_parse_is_a_decode_error_wherever_it_is(
        http: aiohttp.ClientSession, quantity: str) -> None:
    # Node capacity is no pod's resources: nothing but the decoder looks at it.
    body = '{"metadata":{"name":"q"},"status":{"capacity":{"cpu":' + quantity + '}}}'
    status, out = await send(http, "POST", "/api/v1/nodes", body)
    assert status == 400, out
    assert "cannot be handled as a Node" in out["message"]


@pytest.mark.parametrize("quantity", ['"1e999999999"', '"' + "1" * 5000 + '"'])
async def test_a_quantity_too_large_to_evaluate_in_pod_resources_is_refused_quickly(
        http: aiohttp.ClientSession, quantity: str) -> None:
    body = ('{"metadata":{"name":"q"},"spec":{"containers":[{"name":"c","image":"i",'
            '"resources":{"requests":{"cpu":' + quantity + '}}}]}}')
    status, out = await send(http, "POST", PODS, body)
    assert status == 400, out


def test_parse_quantity_bounds_the_exponent_and_the_digits() -> None:
    from minikube_py.api.quantity import QuantityError, parse_quantity

    assert parse_quantity("1e3") == 1000
    for bad in ("1e999999999", "1e-1001", "1" * 1001):
        with pytest.raises(QuantityError):
            parse_quantity(bad)


async def test_a_job_without_a_name_is_invalid_not_a_key_error(
        http: aiohttp.ClientSession) -> None:
    body = ("apiVersion: batch/v1\nkind: Job\nmetadata: ~\nspec:\n  template:\n    spec:\n"
            "      containers: [{name: c, image: busybox}]\n      restartPolicy: Never\n")
    status, out = await send(http, "POST", "/apis/batch/v1/namespaces/default/jobs", body, YAML)
    assert status == 422, out
    assert "metadata.name: Required value" in out["message"]


@pytest.mark.parametrize(("extra", "cause"), [
    ({"series": {"count": 0}}, "series.count: Invalid value"),
    ({"series": {"count": 3}}, "series.lastObservedTime: Required value"),
    ({"eventTime": None}, "eventTime: Required value"),
])
async def test_an_events_v1_event_needs_its_times(
        http: aiohttp.ClientSession, extra: dict[str, Any], cause: str) -> None:
    body = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "c",
            "reportingInstance": "i", "action": "A", "reason": "R", "type": "Normal",
            "regarding": {"kind": "Pod", "name": "p"}, **extra}
    status, out = await send(http, "POST", "/apis/events.k8s.io/v1/namespaces/default/events",
                             json.dumps(body))
    assert status == 422, out
    assert cause in out["message"]
