"""serve's closing hint for joining another machine: the command with the API's URL and
DATA/token, honest that `join` is not built yet and when other machines cannot reach the
API at all."""

from __future__ import annotations

from pathlib import Path

from minikube_py.composition import join_hint
from minikube_py.config import ServeConfig

DATA = Path("/var/lib/mkpy")


def test_the_hint_is_the_join_command_with_the_api_url_and_the_token_file() -> None:
    hint = join_hint(ServeConfig(data_dir=DATA, api_host="10.200.0.1", api_port=6443))
    assert "    minikube-py join https://10.200.0.1:6443 --token $(cat /var/lib/mkpy/token)\n" \
        in hint
    assert "`minikube-py join` is coming: not in this version yet" in hint
    assert "cannot reach" not in hint


def test_an_api_on_every_address_is_named_by_this_machines_address() -> None:
    hint = join_hint(ServeConfig(data_dir=DATA, api_host="0.0.0.0", api_port=7443))
    assert "minikube-py join https://<this machine's address>:7443 --token" in hint


def test_an_api_on_loopback_says_other_machines_cannot_reach_it() -> None:
    hint = join_hint(ServeConfig(data_dir=DATA, api_host="127.0.0.1"))
    assert "(the API listens on 127.0.0.1 only: other machines cannot reach it there)" in hint
