"""The official Python client (`kubernetes` on PyPI) works against `serve` unchanged:
list, create, read and watch pods and nodes, with real containers behind them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config, watch

from tests.e2e.cluster import NEEDS_CONTAINERD, running_serve

pytestmark = NEEDS_CONTAINERD


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.CoreV1Api]:
    with running_serve(tmp_path_factory.mktemp("pyclient") / "data", 2) as serve:
        api_client = config.new_client_from_config(config_file=str(serve.kubeconfig))
        yield client.CoreV1Api(api_client)
        api_client.close()


def sleeper(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"suite": "pyclient"}),
        spec=client.V1PodSpec(
            termination_grace_period_seconds=1,
            containers=[client.V1Container(name="main", image="busybox",
                                           command=["sleep", "3600"])],
        ),
    )


def test_lists_the_ready_node(core: client.CoreV1Api) -> None:
    nodes = core.list_node().items
    assert len(nodes) == 1
    ready = {c.type: c.status for c in nodes[0].status.conditions}["Ready"]
    assert ready == "True"
    assert nodes[0].status.node_info.kubelet_version == "v1.32.0"


def test_create_then_watch_until_running_then_read(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_pod("default", sleeper("sleeper"))
    assert created.metadata.uid and created.status.phase == "Pending"
    phase = None
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, "default", label_selector="suite=pyclient",
                          resource_version=created.metadata.resource_version,
                          timeout_seconds=90):
        phase = event["object"].status.phase
        if phase == "Running":
            w.stop()
    assert phase == "Running"
    pod = core.read_namespaced_pod("sleeper", "default")
    assert pod.status.pod_ip and pod.spec.node_name
    status = pod.status.container_statuses[0]
    assert status.ready and status.restart_count == 0 and status.image_id


def test_list_with_a_label_selector(core: client.CoreV1Api) -> None:
    names = [p.metadata.name for p in
             core.list_namespaced_pod("default", label_selector="suite=pyclient").items]
    assert names == ["sleeper"]
    assert core.list_namespaced_pod("default", label_selector="suite=other").items == []


def test_reading_a_missing_pod_is_a_404(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_pod("nope", "default")
    assert err.value.status == 404


def test_delete_and_watch_it_go(core: client.CoreV1Api) -> None:
    core.delete_namespaced_pod("sleeper", "default")
    w = watch.Watch()
    deleted = False
    for event in w.stream(core.list_namespaced_pod, "default", label_selector="suite=pyclient",
                          timeout_seconds=60):
        if event["type"] == "DELETED":
            deleted = True
            w.stop()
    assert deleted


def test_a_service_account_token_is_requested_and_reviewed(core: client.CoreV1Api) -> None:
    """TokenRequest and TokenReview through the client's typed models."""
    core.create_namespaced_service_account("default", client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name="pyclient")))
    issued = core.create_namespaced_service_account_token(
        "pyclient", "default", client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)))
    assert issued.status.token.count(".") == 2
    authn = client.AuthenticationV1Api(core.api_client)
    review = authn.create_token_review(client.V1TokenReview(
        spec=client.V1TokenReviewSpec(token=issued.status.token)))
    assert review.status.authenticated is True
    assert review.status.user.username == "system:serviceaccount:default:pyclient"
    refused = authn.create_token_review(client.V1TokenReview(
        spec=client.V1TokenReviewSpec(token="not-a-token")))
    assert not refused.status.authenticated
