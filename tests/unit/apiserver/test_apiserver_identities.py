"""In-process components act as their own identities, through the same authorizers as
HTTP requests: a denied call is kube's 403, in kube's words."""

from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, NODES, SECRETS
from minikube_py.apiserver.authn import KUBE_SCHEDULER, UserInfo, node_user
from minikube_py.apiserver.authz import Decision, Verdict
from minikube_py.apiserver.requestinfo import RequestInfo
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV


class OnlyConfigMaps:
    """Allows configmaps and nothing else; records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str, str | None, str | None]] = []

    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict:
        assert info.strategy is not None
        self.asked.append((user.name, info.verb, info.strategy.resource.plural,
                           info.namespace, info.name))
        if info.strategy.resource is CONFIGMAPS:
            return Verdict(Decision.ALLOW)
        return Verdict(Decision.NO_OPINION)


@pytest.fixture
async def svc_and_authz() -> Any:
    authz = OnlyConfigMaps()
    kv = MemoryKV()
    svc = ApiService(kv, authorizers=[authz])
    await svc.start()
    yield svc, authz
    await svc.stop()
    await kv.close()


async def test_a_component_is_authorized_as_its_identity(svc_and_authz: Any) -> None:
    svc, authz = svc_and_authz
    client = svc.as_user(KUBE_SCHEDULER)
    await client.create(CONFIGMAPS, {"metadata": {"name": "c"}}, namespace="default")
    await client.get(CONFIGMAPS, "c", namespace="default")
    await client.list(CONFIGMAPS)
    assert authz.asked[-3:] == [
        ("system:kube-scheduler", "create", "configmaps", "default", None),
        ("system:kube-scheduler", "get", "configmaps", "default", "c"),
        ("system:kube-scheduler", "list", "configmaps", None, None),
    ]


async def test_a_denied_call_is_kubes_403(svc_and_authz: Any) -> None:
    svc, _ = svc_and_authz
    client = svc.as_user(node_user("n1"))
    with pytest.raises(ApiError) as e:
        await client.get(SECRETS, "s", namespace="kube-system")
    assert e.value.code == 403
    assert e.value.message == ('secrets "s" is forbidden: User "system:node:n1" cannot get '
                               'resource "secrets" in API group "" in the namespace '
                               '"kube-system"')
    with pytest.raises(ApiError) as e:
        await client.list(NODES)
    assert e.value.message == ('nodes is forbidden: User "system:node:n1" cannot list '
                               'resource "nodes" in API group "" at the cluster scope')


async def test_the_service_itself_is_the_loopback_identity(svc_and_authz: Any) -> None:
    svc, authz = svc_and_authz
    with pytest.raises(ApiError):  # system:masters is RBAC's to allow; this authorizer won't
        await svc.list(SECRETS)
    assert authz.asked[-1][0] == "system:apiserver"
