"""The AtomicWriter layout: a timestamped directory, the `..data` link swapped to it, one
visible link per top-level name; updates in place; payload paths that are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minikube_py.kubelet.atomic_writer import DATA_DIR, validate_path, write_atomically
from minikube_py.kubelet.pod_objects import ConfigError
from minikube_py.kubelet.volume_payloads import FileProjection

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def files(target: Path) -> dict[str, bytes]:
    """What a reader of the mounted volume sees (through the visible links)."""
    out = {}
    for root, dirs, names in os.walk(target, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith("..")]
        for name in names:
            if not name.startswith(".."):
                path = Path(root) / name
                out[str(path.relative_to(target))] = path.read_bytes()
    return out


def hidden(target: Path) -> list[str]:
    return sorted(p.name for p in target.iterdir() if p.name.startswith(".."))


def test_first_write_makes_a_timestamped_dir_the_data_link_and_visible_links(
        tmp_path: Path) -> None:
    assert write_atomically(tmp_path, {"a": FileProjection(b"1", 0o644),
                                       "dir/b": FileProjection(b"2", 0o400)}, now=NOW)
    data = os.readlink(tmp_path / DATA_DIR)
    assert data.startswith("..2023_11_14_22_13_20.")
    assert hidden(tmp_path) == sorted([DATA_DIR, data])
    assert os.readlink(tmp_path / "a") == "..data/a"
    assert os.readlink(tmp_path / "dir") == "..data/dir"
    assert files(tmp_path) == {"a": b"1", "dir/b": b"2"}
    assert (tmp_path / data / "dir" / "b").stat().st_mode & 0o777 == 0o400
    assert (tmp_path / data / "a").stat().st_mode & 0o777 == 0o644


def test_an_unchanged_payload_writes_nothing(tmp_path: Path) -> None:
    payload = {"a": FileProjection(b"1", 0o644)}
    write_atomically(tmp_path, payload, now=NOW)
    before = os.readlink(tmp_path / DATA_DIR)
    assert not write_atomically(tmp_path, payload, now=NOW + 60)
    assert os.readlink(tmp_path / DATA_DIR) == before


def test_a_change_swaps_to_a_new_dir_and_removes_the_old(tmp_path: Path) -> None:
    write_atomically(tmp_path, {"a": FileProjection(b"1", 0o644),
                                "gone": FileProjection(b"x", 0o644)}, now=NOW)
    old = os.readlink(tmp_path / DATA_DIR)
    assert write_atomically(tmp_path, {"a": FileProjection(b"2", 0o644),
                                       "new": FileProjection(b"n", 0o644)}, now=NOW + 1)
    new = os.readlink(tmp_path / DATA_DIR)
    assert new != old and not (tmp_path / old).exists()
    assert files(tmp_path) == {"a": b"2", "new": b"n"}
    assert not os.path.lexists(tmp_path / "gone")
    assert hidden(tmp_path) == sorted([DATA_DIR, new])


def test_a_mode_change_alone_is_a_change(tmp_path: Path) -> None:
    write_atomically(tmp_path, {"a": FileProjection(b"1", 0o644)}, now=NOW)
    assert write_atomically(tmp_path, {"a": FileProjection(b"1", 0o600)}, now=NOW)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o600


def test_an_empty_payload_leaves_an_empty_volume(tmp_path: Path) -> None:
    write_atomically(tmp_path, {}, now=NOW)
    assert files(tmp_path) == {} and (tmp_path / DATA_DIR).is_symlink()


def test_the_umask_does_not_trim_the_mode(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_atomically(tmp_path, {"a": FileProjection(b"1", 0o644)}, now=NOW)
    finally:
        os.umask(old)
    data = tmp_path / os.readlink(tmp_path / DATA_DIR)
    assert data.stat().st_mode & 0o777 == 0o755
    assert (data / "a").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(("path", "message"), [
    ("", "must not be empty"),
    ("/etc/passwd", "must be relative path"),
    ("a/../../b", "must not contain '..'"),
    ("..x", "must not start with '..'"),
    ("a" * 256, "filenames must be less than or equal to 255 characters"),
])
def test_paths_a_payload_may_not_have(path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_path(path)


@pytest.mark.parametrize("path", ["a", "a/b/c", "a..b", ".hidden"])
def test_paths_a_payload_may_have(path: str) -> None:
    validate_path(path)


def test_a_file_with_an_owner_is_given_to_it(tmp_path: Path) -> None:
    write_atomically(tmp_path, {"token": FileProjection(b"t", 0o600, fs_user=1000)}, now=NOW)
    assert os.stat(tmp_path / "token").st_uid == 1000
