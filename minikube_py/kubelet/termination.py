"""A finished container's termination message, as kube's kubelet reads it: the end of the file
it wrote at terminationMessagePath, or with FallbackToLogsOnError and a failure, the tail of
its log. Blocking IO: call from a thread."""

from __future__ import annotations

import os

from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.logs import LogOptions, parse_log_lines, render_lines, select_lines

MAX_MESSAGE = 4096
LOG_TAIL_LINES = 80
LOG_TAIL_BYTES = 2048


def read_tail(path: str, limit: int) -> bytes:
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - limit))
        return f.read()


def termination_message(status: cri.ContainerStatus, path: str, policy: str) -> str:
    fallback = (policy == "FallbackToLogsOnError" and status.exit_code != 0
                and status.reason != "ContainerCannotRun")
    host = next((m.host_path for m in status.mounts if m.container_path == path), "")
    message = b""
    if host:
        try:
            message = read_tail(host, MAX_MESSAGE)
        except FileNotFoundError:
            pass
        except OSError as e:
            return f"Error on reading termination log {host}: {e}"
    if not message and fallback and status.log_path:
        try:
            with open(status.log_path, errors="replace") as f:
                lines = select_lines(parse_log_lines(f), LogOptions(tail_lines=LOG_TAIL_LINES))
            message = render_lines(lines, LogOptions(limit_bytes=LOG_TAIL_BYTES))
        except OSError:
            pass
    return message.decode(errors="replace")
