"""Before the first scenario: release what test clusters of an earlier, killed run still hold
on the host. A run killed mid-scenario cannot clean up after itself; its bridge would refuse
the next run's cluster of the same slot, and its rules would sit in every packet's path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minikube_py.datalock import DataDirBusy, DataDirLock
from minikube_py.runtime.hostnet import parse_alias

# Where test clusters keep their data dirs (pytest's tmp_path, the runtime fixture's).
TEST_ROOTS = ("/tmp/pytest-of-", "/tmp/mkpy-e2e-")


def stale_test_clusters() -> list[Path]:
    """Data dirs under the test roots that a bridge on the host names and no serve holds."""
    out = subprocess.run(["ip", "-j", "-d", "link", "show"], capture_output=True, text=True,
                         timeout=30, check=False).stdout
    stale: list[Path] = []
    for link in json.loads(out or "[]"):
        found = parse_alias(str(link.get("ifalias") or ""))
        if found is None or not found[1].startswith(TEST_ROOTS):
            continue
        data_dir = Path(found[1])
        if data_dir.exists():
            lock = DataDirLock(data_dir)
            try:
                lock.acquire()
            except DataDirBusy:
                continue  # a live serve (another run's): not ours to touch
            lock.release()
        stale.append(data_dir)
    return stale


@pytest.fixture(scope="session", autouse=True)
def release_stale_test_clusters() -> None:
    if os.geteuid() != 0:
        return
    for data_dir in stale_test_clusters():
        result = subprocess.run([sys.executable, "-m", "minikube_py", "delete", "--data-dir",
                                 str(data_dir)], capture_output=True, text=True, timeout=120,
                                check=False)
        print(f"released a killed run's test cluster {data_dir}:\n{result.stdout}"
              f"{result.stderr}", file=sys.stderr)
