"""resourceVersion on GET and LIST: "not older than" serves the latest, Exact reads at N,
a version ahead of the store is 504 Too large resource version."""

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, PODS
from minikube_py.api.selectors import build_filter
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.service import ApiService

from .conftest import pod_body

pytestmark = pytest.mark.both_stores  # each test runs on the in-memory store and on etcd

EVERYTHING = build_filter("", "")


async def _cm(svc: ApiService, name: str, value: str = "1") -> str:
    obj = await svc.create(CONFIGMAPS, {"metadata": {"name": name}, "data": {"v": value}},
                           namespace="default")
    return str(obj["metadata"]["resourceVersion"])


async def test_get_at_an_old_version_serves_the_latest(svc: ApiService) -> None:
    rv = await _cm(svc, "a")
    await svc.patch(CONFIGMAPS, "a", {"data": {"v": "2"}}, namespace="default")
    got = await svc.get_object(CONFIGMAPS, "a", "default", rv)
    assert got["data"] == {"v": "2"}


async def test_get_at_a_version_before_a_delete_is_not_found(svc: ApiService) -> None:
    rv = await _cm(svc, "a")
    await svc.delete(CONFIGMAPS, "a", namespace="default")
    with pytest.raises(ApiError) as e:
        await svc.get_object(CONFIGMAPS, "a", "default", rv)
    assert e.value.code == 404


async def test_get_at_a_compacted_version_is_not_gone(svc: ApiService) -> None:
    rv = await _cm(svc, "a")
    await svc.patch(CONFIGMAPS, "a", {"data": {"v": "2"}}, namespace="default")
    await svc.kv.compact(svc.kv.revision)
    got = await svc.get_object(CONFIGMAPS, "a", "default", rv)
    assert got["data"] == {"v": "2"}


async def test_get_ahead_of_the_store_is_too_large_resource_version(svc: ApiService) -> None:
    await _cm(svc, "a")
    ahead = svc.kv.revision + 10
    with pytest.raises(ApiError) as e:
        await svc.get_object(CONFIGMAPS, "a", "default", str(ahead))
    status = e.value.to_status()
    assert (status["code"], status["reason"]) == (504, "Timeout")
    assert status["message"] == (f"Timeout: Too large resource version: {ahead}, "
                                 f"current: {svc.kv.revision}")
    assert status["details"]["retryAfterSeconds"] == 1


async def test_list_not_older_than_serves_the_latest(svc: ApiService) -> None:
    rv = await _cm(svc, "a")
    await _cm(svc, "b")
    for match in ("", "NotOlderThan"):
        res = await svc.list_objects(CONFIGMAPS, "default", EVERYTHING, resource_version=rv,
                                     resource_version_match=match)
        assert [o["metadata"]["name"] for o in res.items] == ["a", "b"]
        assert res.revision == svc.kv.revision


async def test_list_not_older_than_a_compacted_version_is_not_gone(svc: ApiService) -> None:
    rv = await _cm(svc, "a")
    await _cm(svc, "b")
    await svc.kv.compact(svc.kv.revision)
    res = await svc.list_objects(CONFIGMAPS, "default", EVERYTHING, resource_version=rv)
    assert len(res.items) == 2


async def test_list_exact_reads_at_the_version(svc: ApiService) -> None:
    rv = await _cm(svc, "a")
    await _cm(svc, "b")
    res = await svc.list_objects(CONFIGMAPS, "default", EVERYTHING, resource_version=rv,
                                 resource_version_match="Exact")
    assert [o["metadata"]["name"] for o in res.items] == ["a"]
    assert str(res.revision) == rv


async def test_list_with_a_limit_and_a_version_is_exact(svc: ApiService) -> None:
    rv = await _cm(svc, "a")
    await _cm(svc, "b")
    res = await svc.list_objects(CONFIGMAPS, "default", EVERYTHING, limit=10,
                                 resource_version=rv)
    assert [o["metadata"]["name"] for o in res.items] == ["a"]


async def test_list_exact_at_a_compacted_version_is_gone(svc: ApiService) -> None:
    rv = await _cm(svc, "a")
    await _cm(svc, "b")
    await svc.kv.compact(svc.kv.revision)
    with pytest.raises(ApiError) as e:
        await svc.list_objects(CONFIGMAPS, "default", EVERYTHING, resource_version=rv,
                               resource_version_match="Exact")
    assert e.value.code == 410


async def test_list_ahead_of_the_store_is_too_large_resource_version(svc: ApiService) -> None:
    for match in ("", "NotOlderThan", "Exact"):
        with pytest.raises(ApiError) as e:
            await svc.list_objects(CONFIGMAPS, "default", EVERYTHING,
                                   resource_version=str(svc.kv.revision + 5),
                                   resource_version_match=match)
        assert (e.value.code, e.value.reason) == (504, "Timeout")


@pytest.mark.parametrize(("rv", "match"), [("", "Exact"), ("0", "Exact"), ("", "NotOlderThan"),
                                           ("1", "Newest")])
async def test_list_options_kube_forbids_are_invalid(svc: ApiService, rv: str,
                                                     match: str) -> None:
    with pytest.raises(ApiError) as e:
        await svc.list_objects(CONFIGMAPS, "default", EVERYTHING, resource_version=rv,
                               resource_version_match=match)
    assert (e.value.code, e.value.causes[0].field) == (422, "resourceVersionMatch")


async def test_dry_run_binding_does_not_bind(svc: ApiService) -> None:
    await svc.create(PODS, pod_body("p"), namespace="default")
    out = await svc.post_subresource(PODS, "p", "binding",
                                   {"metadata": {"name": "p"}, "target": {"name": "n1"}},
                                   "default", RequestOptions(dry_run=True))
    assert out["status"] == "Success"
    pod = await svc.get(PODS, "p", namespace="default")
    assert not pod["spec"].get("nodeName")
