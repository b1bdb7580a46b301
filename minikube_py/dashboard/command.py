"""`minikube-py dashboard`: start the dashboard's server as DATA/kubeconfig's admin, print
or open its URL, and serve until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import asyncio
import signal
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path

from minikube_py.client.http import HttpClient
from minikube_py.dashboard.server import DashboardServer
from minikube_py.token_commands import TokenCommandFailed, admin_of, admin_tls


class DashboardFailed(Exception):
    """The dashboard cannot start: no cluster, unusable credentials, a busy port."""


def has_display(environ: Mapping[str, str]) -> bool:
    """Whether a browser could open here (X11 or Wayland), as xdg-open needs."""
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


async def run_dashboard(data_dir: Path, *, port: int, url_only: bool,
                        say: Callable[[str], None],
                        open_url: Callable[[str], bool]) -> None:
    try:
        admin = admin_of(data_dir)
        tls = admin_tls(admin.credentials)
    except TokenCommandFailed as e:
        raise DashboardFailed(str(e)) from None
    except (ssl.SSLError, ValueError) as e:
        raise DashboardFailed(f"{data_dir / 'kubeconfig'}: unusable credentials ({e})") \
            from None
    client = HttpClient(admin.server, tls=tls)
    server = DashboardServer(client, admin.server, tls, cluster=str(data_dir), port=port)
    # Ctrl-C is a clean stop from before the URL is printed: whoever reads it may stop us
    # at once.
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        try:
            url = await server.start()
        except OSError as e:
            raise DashboardFailed(f"cannot listen on 127.0.0.1:{port}: "
                                  f"{e.strerror or e}") from None
        if url_only:
            say(url)
        elif open_url(url):
            say(f"Opening {url} in your default browser... (Ctrl-C stops the dashboard)")
        else:
            say(f"Open {url} in a browser on this machine (no display to open one here; "
                "Ctrl-C stops the dashboard)")
        await _until(stopped, server)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.close()
        await client.close()


async def _until(stopped: asyncio.Event, server: DashboardServer) -> None:
    """Serve until `stopped` is set, or raise why a part of the server failed."""
    running = asyncio.ensure_future(server.run())
    waiting = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (running, waiting):
            task.cancel()
        await asyncio.gather(running, waiting, return_exceptions=True)
    if not running.cancelled() and (failure := running.exception()) is not None:
        raise DashboardFailed(str(failure))
