"""A finished container's termination message: its termination-log file, else (with
FallbackToLogsOnError and a failure) the tail of its log."""

from __future__ import annotations

from pathlib import Path

from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.termination import MAX_MESSAGE, termination_message

PATH = "/dev/termination-log"


def status(tmp_path: Path, *, message: bytes | None, exit_code: int,
           log: str = "") -> cri.ContainerStatus:
    host = tmp_path / "termination"
    if message is not None:
        host.write_bytes(message)
    log_path = tmp_path / "0.log"
    log_path.write_text(log)
    return cri.ContainerStatus(exit_code=exit_code, log_path=str(log_path), mounts=[
        cri.Mount(container_path=PATH, host_path=str(host))])


def test_the_file_the_container_wrote_is_the_message(tmp_path: Path) -> None:
    assert termination_message(status(tmp_path, message=b"bye", exit_code=0), PATH,
                               "File") == "bye"


def test_only_the_last_4096_bytes_are_kept(tmp_path: Path) -> None:
    got = termination_message(status(tmp_path, message=b"x" * 5000 + b"END", exit_code=0),
                              PATH, "File")
    assert len(got) == MAX_MESSAGE and got.endswith("END")


LOG = ("2024-01-01T00:00:00.000000000Z stderr F first\n"
       "2024-01-01T00:00:01.000000000Z stderr F panic: boom\n")


def test_a_failure_with_an_empty_file_falls_back_to_the_log(tmp_path: Path) -> None:
    got = termination_message(status(tmp_path, message=b"", exit_code=2, log=LOG), PATH,
                              "FallbackToLogsOnError")
    assert got == "first\npanic: boom\n"


def test_no_fallback_on_success_or_with_the_file_policy(tmp_path: Path) -> None:
    assert termination_message(status(tmp_path, message=b"", exit_code=0, log=LOG), PATH,
                               "FallbackToLogsOnError") == ""
    assert termination_message(status(tmp_path, message=None, exit_code=2, log=LOG), PATH,
                               "File") == ""
