"""containerd config rendering and the deterministic busybox images."""

from __future__ import annotations

import io
import json
import tarfile
import tomllib
from pathlib import Path

from minikube_py.runtime.containerd import (
    ContainerdConfig,
    render_cni_conflist,
    render_containerd_toml,
)
from minikube_py.runtime.images import (
    BUILTIN_IMAGES,
    build_busybox_layer,
    build_oci_archive,
    parse_ctr_import_output,
)


def test_containerd_toml_keeps_everything_under_the_data_dir() -> None:
    cfg = ContainerdConfig(Path("/data"))
    doc = tomllib.loads(render_containerd_toml(cfg))
    cri = doc["plugins"]["io.containerd.grpc.v1.cri"]
    assert doc["root"] == "/data/containerd/root" and doc["state"] == "/data/containerd/state"
    assert doc["grpc"]["address"] == "/data/containerd/containerd.sock"
    assert cri["restrict_oom_score_adj"] is True
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["cni"]["conf_dir"] == "/data/containerd/cni"


def test_cni_never_masquerades() -> None:
    plugins = render_cni_conflist(ContainerdConfig(Path("/d"), bridge_name="b0"))["plugins"]
    bridge = plugins[0]
    assert bridge["bridge"] == "b0" and bridge["ipMasq"] is False and bridge["isGateway"]
    assert [p["type"] for p in plugins] == ["bridge", "portmap", "loopback"]


def test_image_archive_is_deterministic_and_names_both_images() -> None:
    layer = build_busybox_layer(b"\x7fELF", ["sh", "httpd", "busybox"])
    assert layer == build_busybox_layer(b"\x7fELF", ["httpd", "sh"])
    archive = build_oci_archive(layer, BUILTIN_IMAGES)
    assert archive == build_oci_archive(layer, BUILTIN_IMAGES)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    names = [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]]
    assert names == ["docker.io/library/busybox:latest", "registry.k8s.io/pause:3.9"]


def test_layer_links_applets_to_busybox() -> None:
    with tarfile.open(fileobj=io.BytesIO(build_busybox_layer(b"x", ["sh"]))) as tar:
        sh = tar.getmember("bin/sh")
        assert sh.issym() and sh.linkname == "busybox"
        assert tar.getmember("tmp").mode == 0o1777


def test_parse_ctr_import_output() -> None:
    out = "unpacking docker.io/library/a:1 (sha256:abc)...done\nunpacking b:2 (sha256:d)...done\n"
    assert parse_ctr_import_output(out) == ["docker.io/library/a:1", "b:2"]
