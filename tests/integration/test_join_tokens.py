"""Join tokens on the API server, with its real authenticators and authorizers (RBAC and
the Node authorizer): a token `token create` makes authenticates through the
BootstrapTokens authenticator as system:bootstrap:<id>, in system:bootstrappers and its
extra group, until it expires or is deleted; serve's DATA/token is made once and reused."""

from __future__ import annotations

import os
import random
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import SECRETS
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.kinds.selfsubjectreviews import SELFSUBJECTREVIEWS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.http import HttpClient
from minikube_py.pki.jointoken import NODE_TOKEN_GROUP, BootstrapToken, JoinToken
from minikube_py.store.memory import MemoryKV
from minikube_py.token_commands import (
    TokenCommandFailed,
    create_token,
    delete_token,
    ensure_join_token,
    list_tokens,
)
from tests.integration.harness import FakeClock

CA = b"-----BEGIN CERTIFICATE-----\nthe cluster's\n-----END CERTIFICATE-----\n"
RENEWED_CA = b"-----BEGIN CERTIFICATE-----\nrenewed\n-----END CERTIFICATE-----\n"
START = 1_800_000_000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def cluster(clock: FakeClock) -> AsyncIterator[tuple[ApiService, str]]:
    kv = MemoryKV()
    svc = ApiService(kv, clock=clock)  # RBAC and the Node authorizer, as serve's
    await svc.start()
    server = TestServer(build_app(svc, authenticators=svc.token_authenticators()),
                        host="127.0.0.1")
    await server.start_server()
    yield svc, f"http://127.0.0.1:{server.port}"
    await server.close()
    await svc.stop()
    await kv.close()


def seeded() -> Any:
    return random.Random(4).randrange


async def whoami(url: str, join: JoinToken) -> dict[str, Any]:
    """`kubectl auth whoami` with the token's credentials."""
    client = HttpClient(url, token=str(join.credentials))
    try:
        review = await client.create(SELFSUBJECTREVIEWS, {
            "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    finally:
        await client.close()
    return dict(review["status"]["userInfo"])


async def status_of(url: str, join: JoinToken) -> int:
    try:
        await whoami(url, join)
    except ApiError as e:
        return e.code
    return 201


async def test_a_created_token_authenticates_as_its_bootstrap_user(cluster: Any,
                                                                  clock: FakeClock) -> None:
    svc, url = cluster
    join = await create_token(svc, CA, now=clock(), randbelow=seeded(), ttl=3600)
    assert join.trusts(CA)
    user = await whoami(url, join)
    assert user["username"] == f"system:bootstrap:{join.credentials.id}"
    assert user["groups"] == ["system:bootstrappers", NODE_TOKEN_GROUP, "system:authenticated"]


async def test_an_expired_token_is_401(cluster: Any, clock: FakeClock) -> None:
    svc, url = cluster
    join = await create_token(svc, CA, now=clock(), randbelow=seeded(), ttl=3600)
    clock.now += 3599
    assert await status_of(url, join) == 201
    clock.now += 1
    assert await status_of(url, join) == 401


async def test_a_deleted_token_is_401(cluster: Any, clock: FakeClock) -> None:
    svc, url = cluster
    join = await create_token(svc, CA, now=clock(), randbelow=seeded(), ttl=None)
    assert await delete_token(svc, str(join)) == join.credentials.id
    assert await status_of(url, join) == 401


async def test_a_token_is_deleted_by_its_id_its_token_or_its_join_token(
        cluster: Any, clock: FakeClock) -> None:
    svc, _ = cluster
    made = [await create_token(svc, CA, now=clock(), randbelow=random.Random(i).randrange,
                               ttl=None) for i in range(3)]
    for join, ref in zip(made, [made[0].credentials.id, str(made[1].credentials), str(made[2])],
                         strict=True):
        assert await delete_token(svc, ref) == join.credentials.id
    assert await list_tokens(svc) == []


async def test_deleting_a_token_that_is_not_there_says_so(cluster: Any) -> None:
    svc, _ = cluster
    with pytest.raises(TokenCommandFailed, match=r'^bootstrap token "abcdef" not found$'):
        await delete_token(svc, "abcdef")


async def test_a_new_token_whose_id_is_taken_draws_another(cluster: Any,
                                                           clock: FakeClock) -> None:
    svc, _ = cluster
    first = await create_token(svc, CA, now=clock(), randbelow=lambda n: 0, ttl=None)
    draws = iter([0] * 22 + [1] * 22)  # the taken aaaaaa again, then bbbbbb
    second = await create_token(svc, CA, now=clock(), randbelow=lambda n: next(draws),
                                ttl=None)
    assert (first.credentials.id, second.credentials.id) == ("aaaaaa", "bbbbbb")
    assert len(await list_tokens(svc)) == 2


async def test_a_random_source_that_only_draws_taken_ids_gives_up(cluster: Any,
                                                                  clock: FakeClock) -> None:
    svc, _ = cluster
    await create_token(svc, CA, now=clock(), randbelow=lambda n: 0, ttl=None)
    with pytest.raises(ApiError) as e:
        await create_token(svc, CA, now=clock(), randbelow=lambda n: 0, ttl=None)
    assert e.value.code == 409


async def test_the_list_holds_bootstrap_tokens_only(cluster: Any, clock: FakeClock) -> None:
    svc, _ = cluster
    join = await create_token(svc, CA, now=clock(), randbelow=seeded(), ttl=60,
                              description="ci")
    await svc.create(SECRETS, {"metadata": {"name": "bootstrap-token-opaque"},
                               "stringData": {"token-id": "opaque"}}, namespace="kube-system")
    [info] = await list_tokens(svc)
    assert (info.token, info.expiration, info.description) == (join.credentials, clock() + 60,
                                                               "ci")


async def test_serve_makes_a_token_file_private_to_its_owner(cluster: Any, clock: FakeClock,
                                                            tmp_path: Path) -> None:
    svc, url = cluster
    path = tmp_path / "token"
    note = await ensure_join_token(svc, path, CA, now=clock(), randbelow=seeded())
    assert note == f"made a join token in {path}"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    join = JoinToken.parse(path.read_text())
    assert join.trusts(CA)
    assert (await whoami(url, join))["username"] == f"system:bootstrap:{join.credentials.id}"


async def test_serves_token_never_expires(cluster: Any, clock: FakeClock,
                                          tmp_path: Path) -> None:
    svc, url = cluster
    await ensure_join_token(svc, tmp_path / "token", CA, now=clock(), randbelow=seeded())
    clock.now += 10 * 365 * 86400
    assert await status_of(url, JoinToken.parse((tmp_path / "token").read_text())) == 201


async def test_a_restart_reuses_the_token(cluster: Any, clock: FakeClock,
                                          tmp_path: Path) -> None:
    svc, _ = cluster
    path = tmp_path / "token"
    await ensure_join_token(svc, path, CA, now=clock(), randbelow=seeded())
    before = path.read_text()
    note = await ensure_join_token(svc, path, CA, now=clock(),
                                   randbelow=random.Random(9).randrange)
    assert (note, path.read_text()) == (f"join token in {path}", before)
    assert len(await list_tokens(svc)) == 1


async def test_a_renewed_ca_keeps_the_credentials_with_the_new_hash(
        cluster: Any, clock: FakeClock, tmp_path: Path) -> None:
    svc, _ = cluster
    path = tmp_path / "token"
    await ensure_join_token(svc, path, CA, now=clock(), randbelow=seeded())
    before = JoinToken.parse(path.read_text())
    note = await ensure_join_token(svc, path, RENEWED_CA, now=clock(), randbelow=seeded())
    assert note.endswith("(its CA hash updated: the CA was renewed)")
    assert JoinToken.parse(path.read_text()) == JoinToken.make(RENEWED_CA, before.credentials)


async def test_a_deleted_serve_token_is_replaced_not_brought_back(
        cluster: Any, clock: FakeClock, tmp_path: Path) -> None:
    svc, url = cluster
    path = tmp_path / "token"
    await ensure_join_token(svc, path, CA, now=clock(), randbelow=seeded())
    revoked = JoinToken.parse(path.read_text())
    await delete_token(svc, revoked.credentials.id)
    note = await ensure_join_token(svc, path, CA, now=clock(),
                                   randbelow=random.Random(9).randrange)
    assert note == f"made a new join token in {path} (the one there no longer authenticates)"
    assert await status_of(url, revoked) == 401
    assert await status_of(url, JoinToken.parse(path.read_text())) == 201


@pytest.mark.parametrize("content", ["", "garbage\n", f"K10{'0' * 64}::abcdef.tooshort"])
async def test_an_unreadable_token_file_is_replaced(cluster: Any, clock: FakeClock,
                                                    tmp_path: Path, content: str) -> None:
    svc, _ = cluster
    path = tmp_path / "token"
    path.write_text(content)
    assert await ensure_join_token(svc, path, CA, now=clock(), randbelow=seeded()) == \
        f"made a join token in {path}"
    assert JoinToken.parse(path.read_text()).credentials == \
        BootstrapToken.generate(seeded())
