"""What a failed pull says, and `minikube-py image ls`'s table."""

from __future__ import annotations

from minikube_py.kubelet.pod_sync import pull_failure_message
from minikube_py.runtime.images import image_table


def test_an_unreachable_registry_says_how_to_bring_the_image() -> None:
    error = ('failed to pull and unpack image "docker.io/library/nginx:1.25": failed to resolve '
             'reference: dial tcp: lookup registry-1.docker.io: no such host')
    message = pull_failure_message("nginx:1.25", error)
    assert message.startswith(error + ": no registry was reachable for image nginx:1.25; ")
    assert "`minikube-py image load FILE`" in message


def test_other_pull_errors_are_passed_on_as_they_are() -> None:
    error = 'failed to pull image "x": pull access denied, repository does not exist'
    assert pull_failure_message("x", error) == error


def test_image_table_has_a_row_per_name() -> None:
    table = image_table([(["docker.io/library/busybox:latest", "busybox:latest"],
                          "sha256:0123456789abcdef0123", 1_234_567),
                         ([], "sha256:fedcba9876543210", 512)])
    assert table.splitlines() == [
        "IMAGE                              IMAGE ID        SIZE",
        "busybox:latest                     0123456789abc   1.23MB",
        "docker.io/library/busybox:latest   0123456789abc   1.23MB",
        "<none>                             fedcba9876543   512B",
    ]
