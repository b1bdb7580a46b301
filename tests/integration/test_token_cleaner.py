"""The token cleaner on the in-process control plane: bootstrap-token Secrets are deleted
once their expiration passes (also one that expires while it watches); a token without an
expiration, and Secrets of other types, stay."""

from __future__ import annotations

import random
import time

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import SECRETS
from minikube_py.controllers.tokencleaner import TokenCleaner
from minikube_py.pki.jointoken import BootstrapToken, token_secret
from tests.integration.harness import ControlPlane, control_plane, eventually


async def present(plane: ControlPlane, name: str) -> bool:
    try:
        await plane.api.get(SECRETS, name, namespace="kube-system")
    except ApiError as e:
        assert e.code == 404
        return False
    return True


async def test_expired_tokens_are_deleted_and_the_rest_stay() -> None:
    rng = random.Random(7)
    now = time.time()
    expired, soon, forever = (BootstrapToken.generate(rng.randrange) for _ in range(3))
    async with control_plane(nodes=0, scheduler=False) as plane:
        for token, ttl in ((expired, -60.0), (soon, 5.0), (forever, None)):
            await plane.api.create(SECRETS, token_secret(token, now=now, ttl=ttl),
                                   namespace="kube-system")
        await plane.api.create(SECRETS, {"metadata": {"name": "not-a-token"},
                                         "data": {"expiration": "MjAwMC0wMS0wMVQwMDowMDowMFo="}},
                               namespace="kube-system")
        plane.start("token-cleaner", TokenCleaner(plane.ctx).run)

        async def gone(name: str) -> bool:
            return not await present(plane, name)

        await eventually(lambda: gone(expired.secret_name), plane=plane,
                         what="the expired token's Secret to go")
        assert await present(plane, soon.secret_name)
        await eventually(lambda: gone(soon.secret_name), plane=plane, timeout=15,
                         what="the token that expired while watched to go")
        assert await present(plane, forever.secret_name)
        assert await present(plane, "not-a-token")
