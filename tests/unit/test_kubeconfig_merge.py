"""Merging our cluster, user and context into someone's kubeconfig, and taking them out again:
everything else in the file survives byte for byte, and merge then unmerge is the original."""

from __future__ import annotations

import os
import random
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from minikube_py.kubeconfigmerge import (
    SECTIONS,
    Entries,
    MergeRecord,
    MergeRefused,
    entry_name,
    merge_text,
    target_path,
    unmerge_text,
)
from minikube_py.merged_kubeconfig import RECORD_FILE, merge_kubeconfig, unmerge_kubeconfig

KUBECTL = "/usr/bin/kubectl"
ENTRIES = Entries(
    cluster={"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0E="},
    user={"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"})

HAND_WRITTEN = """\
# my clusters, by hand
apiVersion: v1
kind: Config
clusters:
    # the work one
    -   name: work
        cluster:
            server: https://work.example:443   # behind the VPN
            insecure-skip-tls-verify: true
    -   cluster: {server: "https://home.example"}
        name: home

users:
  - name: me
    user:
      token: abc   # rotate me
contexts:
- context: {cluster: work, user: me}
  name: work
current-context: work # default
preferences: {}
# the end
"""

KUBECTL_NULLS = """\
apiVersion: v1
clusters:
- cluster:
    server: https://a.example
  name: a
contexts: null
current-context: ""
kind: Config
preferences: {}
users: null
"""


def record(name: str = "minikube-py") -> MergeRecord:
    return MergeRecord("kubeconfig", name)


def round_trip(text: str, name: str = "minikube-py") -> str:
    merged, rec = merge_text(text, ENTRIES, record(name))
    return unmerge_text(merged, rec)


def parsed_names(text: str, section: str) -> list[str]:
    return [e["name"] for e in yaml.safe_load(text)[section] or []]


@pytest.mark.parametrize("text", [
    HAND_WRITTEN, KUBECTL_NULLS, "", "apiVersion: v1\nkind: Config\n",
    "apiVersion: v1\nclusters: []\ncurrent-context: x", HAND_WRITTEN.replace("\n", "\r\n"),
    "current-context:\n  kind-a  # on its own line\nusers: ~ # none yet\nkind: Config\n",
], ids=["hand-written", "kubectl-nulls", "empty", "no-sections", "no-final-newline", "crlf",
        "value-on-the-next-line"])
def test_merge_then_unmerge_gives_back_the_file_byte_for_byte(text: str) -> None:
    assert round_trip(text) == text


def test_merge_adds_our_entries_beside_the_others_and_makes_ours_current() -> None:
    merged, _ = merge_text(HAND_WRITTEN, ENTRIES, record())
    doc = yaml.safe_load(merged)
    assert parsed_names(merged, "clusters") == ["work", "home", "minikube-py"]
    assert parsed_names(merged, "users") == ["me", "minikube-py"]
    assert parsed_names(merged, "contexts") == ["work", "minikube-py"]
    assert doc["current-context"] == "minikube-py"
    ours = next(c for c in doc["clusters"] if c["name"] == "minikube-py")
    assert ours["cluster"] == ENTRIES.cluster
    # every line of the original is still there, in order, as it was
    lines = iter(merged.splitlines())
    assert all(any(line == have for have in lines) for line in HAND_WRITTEN.splitlines()
               if not line.startswith("current-context"))


def test_entries_follow_the_indentation_of_the_list_they_join() -> None:
    merged, _ = merge_text(HAND_WRITTEN, ENTRIES, record())
    assert "\n    - name: minikube-py\n      cluster:\n" in merged
    assert "\n  - name: minikube-py\n    user:\n" in merged


def test_a_current_context_on_the_line_after_its_key_is_replaced_whole() -> None:
    merged, _ = merge_text("current-context:\n  kind-a\nkind: Config\n", ENTRIES, record())
    assert yaml.safe_load(merged)["current-context"] == "minikube-py"


def test_null_sections_become_lists_and_back() -> None:
    merged, rec = merge_text(KUBECTL_NULLS, ENTRIES, record())
    assert parsed_names(merged, "users") == ["minikube-py"]
    assert rec.sections == {"contexts": " null", "users": " null"}
    assert rec.previous_context == ' ""'
    assert unmerge_text(merged, rec) == KUBECTL_NULLS


def test_a_second_merge_replaces_our_entries_and_still_unmerges_to_the_original() -> None:
    merged, rec = merge_text(HAND_WRITTEN, ENTRIES, record())
    moved = Entries({**ENTRIES.cluster, "server": "https://127.0.0.1:7443"}, ENTRIES.user)
    again, rec2 = merge_text(merged, moved, rec)
    assert parsed_names(again, "clusters") == ["work", "home", "minikube-py"]
    assert "7443" in again and ":6443" not in again
    assert rec2.previous_context == " work # default"
    assert unmerge_text(again, rec2) == HAND_WRITTEN


def test_unmerge_leaves_a_context_the_user_switched_to() -> None:
    merged, rec = merge_text(HAND_WRITTEN, ENTRIES, record())
    switched = merged.replace("current-context: minikube-py", "current-context: home")
    out = unmerge_text(switched, rec)
    assert yaml.safe_load(out)["current-context"] == "home"
    assert "minikube-py" not in out


def test_entries_added_after_the_merge_survive_the_unmerge() -> None:
    merged, rec = merge_text(KUBECTL_NULLS, ENTRIES, record())
    later = merged.replace("users:\n", "users:\n- name: later\n  user: {token: t}\n")
    out = unmerge_text(later, rec)
    assert parsed_names(out, "users") == ["later"]
    assert "minikube-py" not in out


def test_a_flow_list_with_entries_is_refused() -> None:
    with pytest.raises(MergeRefused, match="clusters are not a YAML block list"):
        merge_text("clusters: [{name: a, cluster: {server: x}}]\n", ENTRIES, record())


def test_the_name_tells_data_dirs_apart() -> None:
    default = Path("/var/lib/minikube-py")
    assert entry_name(default, default) == "minikube-py"
    assert entry_name(Path("/tmp/dev"), default) == "minikube-py-dev"


def test_the_target_is_the_first_kubeconfig_file_else_home() -> None:
    home = Path("/home/u")
    assert target_path({"KUBECONFIG": f"/a/one{os.pathsep}/b/two"}, home) == Path("/a/one")
    assert target_path({}, home) == Path("/home/u/.kube/config")


# --- on files ---------------------------------------------------------------------------

def test_a_missing_file_is_made_0600_and_removed_by_the_unmerge(tmp_path: Path) -> None:
    target = tmp_path / "kube" / "config"
    rec = merge_kubeconfig(target, ENTRIES, tmp_path, "minikube-py")
    assert rec.created_file
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert yaml.safe_load(target.read_text())["current-context"] == "minikube-py"
    assert unmerge_kubeconfig(tmp_path) == f"removed {target} (made for context minikube-py)"
    assert not target.exists()
    assert not (tmp_path / RECORD_FILE).exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="gives files to another user: needs root")
def test_as_root_a_new_file_and_directory_are_the_home_owners(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 1234, 1234)  # someone running serve with sudo
    target = home / ".kube" / "config"
    merge_kubeconfig(target, ENTRIES, tmp_path, "minikube-py")
    for made in (target, target.parent):
        assert (made.stat().st_uid, made.stat().st_gid) == (1234, 1234)
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_the_file_keeps_its_mode_and_no_lock_is_left(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text(HAND_WRITTEN)
    target.chmod(0o640)
    merge_kubeconfig(target, ENTRIES, tmp_path, "minikube-py")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", RECORD_FILE]
    unmerge_kubeconfig(tmp_path)
    assert target.read_bytes() == HAND_WRITTEN.encode()


def test_a_name_someone_else_uses_gets_a_suffix(tmp_path: Path) -> None:
    target = tmp_path / "config"
    theirs = KUBECTL_NULLS.replace("name: a", "name: minikube-py")
    target.write_text(theirs)
    (tmp_path / "data").mkdir()
    rec = merge_kubeconfig(target, ENTRIES, tmp_path / "data", "minikube-py")
    assert rec.name == "minikube-py-2"
    assert parsed_names(target.read_text(), "clusters") == ["minikube-py", "minikube-py-2"]
    unmerge_kubeconfig(tmp_path / "data")
    assert target.read_text() == theirs


def test_a_held_kubectl_lock_refuses_the_merge(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import minikube_py.merged_kubeconfig as merge
    monkeypatch.setattr(merge, "LOCK_TIMEOUT", 0.1)
    (tmp_path / "config.lock").touch()
    with pytest.raises(MergeRefused, match="is locked"):
        merge.merge_kubeconfig(tmp_path / "config", ENTRIES, tmp_path, "minikube-py")


@pytest.mark.skipif(not os.path.exists(KUBECTL), reason=f"no kubectl at {KUBECTL}")
def test_a_file_kubectl_wrote_round_trips_and_kubectl_reads_the_merge(tmp_path: Path) -> None:
    target = tmp_path / "config"
    env = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": str(target),
           "HOME": str(tmp_path)}

    def kubectl(*args: str) -> str:
        return subprocess.run([KUBECTL, "config", *args], env=env, capture_output=True,
                              text=True, check=True).stdout

    kubectl("set-cluster", "kind-a", "--server=https://10.0.0.1:6443")
    kubectl("set-credentials", "kind-a", "--token=secret")
    kubectl("set-context", "kind-a", "--cluster=kind-a", "--user=kind-a")
    kubectl("set-context", "other", "--cluster=kind-a", "--user=kind-a", "--namespace=x")
    kubectl("use-context", "kind-a")
    original = target.read_bytes()
    data = tmp_path / "data"
    data.mkdir()
    merge_kubeconfig(target, ENTRIES, data, "minikube-py")
    assert kubectl("current-context").strip() == "minikube-py"
    contexts = kubectl("get-contexts", "-o", "name").split()
    assert sorted(contexts) == ["kind-a", "minikube-py", "other"]
    assert kubectl("view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}") \
        == "https://127.0.0.1:6443"
    unmerge_kubeconfig(data)
    assert target.read_bytes() == original
    shutil.rmtree(data)


def random_kubeconfig(rng: random.Random) -> str:
    """A kubeconfig in one of the many shapes people and tools write: any indentation,
    comments between and after entries, sections missing, null, empty or in any order."""
    dash = rng.choice([0, 2, 4])
    gap = rng.choice([1, 3])
    lines: list[str] = []
    if rng.random() < 0.5:
        lines.append("# written by hand")
    parts = ["apiVersion: v1", "kind: Config"]
    for section in ("clusters", "users", "contexts"):
        shape = rng.choice(["missing", "null", "empty", "tilde", "bare", "entries"])
        if shape == "missing":
            continue
        if shape != "entries":
            value = {"null": " null", "empty": " []", "tilde": " ~", "bare": ""}[shape]
            comment = rng.choice(["", "  # none"]) if shape != "bare" else ""
            parts.append(f"{section}:{value}{comment}")
            continue
        block = [f"{section}:"]
        for i in range(rng.randint(1, 3)):
            pad = " " * dash
            inner = " " * (dash + gap + 1)
            kind = section[:-1]
            if rng.random() < 0.3:
                block.append(f"{pad}# entry {i}")
            if rng.random() < 0.5:
                block += [f"{pad}-{' ' * gap}name: {kind}-{i}", f"{inner}{kind}:",
                          f"{inner}  field: value-{i}  # why"]
            else:
                block += [f"{pad}-{' ' * gap}{kind}: {{field: v{i}}}", f"{inner}name: {kind}-{i}"]
            if rng.random() < 0.3:
                block.append("")
        parts.append("\n".join(block))
    cc = rng.choice(["missing", '""', "cluster-0", "\n  cluster-0"])
    if cc != "missing":
        parts.append(f"current-context: {cc}" if not cc.startswith("\n")
                     else f"current-context:{cc}")
    rng.shuffle(parts)
    lines += parts
    if rng.random() < 0.3:
        lines.append("# the end")
    text = "\n".join(lines)
    return text + ("\n" if rng.random() < 0.8 else "")


@pytest.mark.parametrize("seed", range(150))
def test_any_shape_of_kubeconfig_round_trips_and_keeps_its_meaning(seed: int) -> None:
    text = random_kubeconfig(random.Random(seed))
    before = yaml.safe_load(text) or {}
    merged, rec = merge_text(text, ENTRIES, record())
    after = yaml.safe_load(merged)
    for section in ("clusters", "users", "contexts"):
        theirs = before.get(section) or []
        assert after[section][:len(theirs)] == theirs, (section, merged)
        assert after[section][len(theirs):][0]["name"] == "minikube-py"
    assert after["current-context"] == "minikube-py"
    assert {k: v for k, v in after.items() if k not in (*SECTIONS, "current-context")} == \
        {k: v for k, v in before.items() if k not in (*SECTIONS, "current-context")}
    assert unmerge_text(merged, rec) == text, merged
    moved = Entries({**ENTRIES.cluster, "server": "https://127.0.0.1:7443"}, ENTRIES.user)
    again, rec = merge_text(merged, moved, rec)  # a restart on another port
    assert [c["cluster"]["server"] for c in yaml.safe_load(again)["clusters"]
            if c["name"] == "minikube-py"] == ["https://127.0.0.1:7443"]
    assert unmerge_text(again, rec) == text, again
