"""Which default service accounts a namespace lacks."""

from __future__ import annotations

import pytest

from minikube_py.controllers.serviceaccount import missing_service_accounts


@pytest.mark.parametrize(("namespace", "existing", "missing"), [
    ({"metadata": {}, "status": {"phase": "Active"}}, set(), ["default"]),
    ({"metadata": {}, "status": {"phase": "Active"}}, {"default"}, []),
    ({"metadata": {}, "status": {"phase": "Terminating"}}, set(), []),
    ({"metadata": {"deletionTimestamp": "t"}}, set(), []),
])
def test_missing_service_accounts(namespace: dict[str, object], existing: set[str],
                                  missing: list[str]) -> None:
    assert missing_service_accounts(namespace, existing) == missing
