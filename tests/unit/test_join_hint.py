"""serve's closing hint for joining another machine: where the token is, and honest that
`join` is not built yet."""

from __future__ import annotations

from pathlib import Path

from minikube_py.composition import join_hint
from minikube_py.config import ServeConfig


def test_the_hint_names_the_token_file_and_that_join_is_not_here_yet() -> None:
    hint = join_hint(ServeConfig(data_dir=Path("/var/lib/mkpy")))
    assert hint == ("  The token for joining other machines is in /var/lib/mkpy/token "
                    "(`minikube-py join` comes in a later version).\n")
