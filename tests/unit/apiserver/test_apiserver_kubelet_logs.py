"""pods/log's side of the kubelet: a kubelet's refusal becomes kube's Status."""

from __future__ import annotations

import json

import pytest

from minikube_py.apiserver.logs import kubelet_error

NOT_FOUND_STATUS = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "code": 404, "reason": "NotFound", "message": "pods \"x\" not found"})


@pytest.mark.parametrize(("code", "body", "expected"), [
    (400, 'previous terminated container "main" in pod "web" not found\n',
     (400, "BadRequest", 'previous terminated container "main" in pod "web" not found')),
    (404, 'container "main" in pod "web" not found\n',
     (404, "NotFound", 'container "main" in pod "web" not found')),
    (500, "CRI ContainerStatus failed\n", (500, "InternalError", "CRI ContainerStatus failed")),
    (503, "", (500, "InternalError", "the kubelet answered 503")),
    (404, NOT_FOUND_STATUS, (404, "NotFound", 'pods "x" not found')),
    (400, '"just a JSON string"', (400, "BadRequest", '"just a JSON string"')),
], ids=["bad request", "not found", "internal", "empty body", "a Status passes through",
        "JSON that is no Status"])
def test_kubelet_refusals_become_kube_statuses(code: int, body: str,
                                               expected: tuple[int, str, str]) -> None:
    error = kubelet_error(code, body)
    assert (error.code, error.reason, error.message) == expected
