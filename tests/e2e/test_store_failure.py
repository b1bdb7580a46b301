"""`serve` stops in one plain line when its store can no longer write, as etcd does."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess

pytestmark = NEEDS_CONTAINERD

SLOT = 27


def fill(directory: Path) -> None:
    """Write until the file system is full."""
    # Unbuffered: a buffered file would try to write what did not fit once more when it
    # closes, and fail there, outside the `try`.
    with (directory / "filler").open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e


def test_serve_stops_with_one_plain_line_when_the_store_cannot_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = data / "store"
    store.mkdir(parents=True)
    # the store's directory on a small file system of its own, filled once serve is up
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(store)], check=True)
    serve = ServeProcess(data, pod_cidr=f"10.244.{200 + SLOT}.0/24", bridge=f"mkpyt{SLOT}",
                         service_cidr=f"10.112.{SLOT}.0/24")
    try:
        serve.start()
        fill(store)
        assert serve.proc is not None
        # The WAL's last page may still hold a few small entries: writes bigger than a page
        # need a new one, which the full file system refuses (bounded: 40 at most).
        for i in range(40):
            if serve.proc.poll() is not None:
                break
            serve.kubectl("create", "configmap", f"one-too-many-{i}",
                          f"--from-literal=k={'x' * 8192}", check=False, timeout=30)
        code = serve.proc.wait(timeout=60)
        log = serve.log
        assert code == 2, log
        assert ("error: store: write to the WAL failed: [Errno 28] No space left on device; "
                "stopping") in log, log
        assert log.rstrip().endswith("stopped"), log
        assert "Traceback" not in log, log
    finally:
        serve.stop()
        subprocess.run(["umount", str(store)], check=False)
        serve.delete()
