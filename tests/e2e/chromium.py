"""A real headless Chromium driven over the DevTools protocol (CDP) from Python: aiohttp's
websocket client speaks it, so no playwright. One page; navigate, evaluate, screenshot."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conditions import until

CHROMIUM = shutil.which("chromium")
NEEDS_CHROMIUM = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed "
                                    "(scripts/setup.sh --test installs it)")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--window-size=1400,1000")


class CdpError(Exception):
    pass


class Page:
    """One page target's CDP session."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            waiter = self._answers.pop(data.get("id", -1), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
        for waiter in self._answers.values():
            if not waiter.done():
                waiter.set_exception(CdpError("the browser closed the connection"))

    async def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[ident] = answer
        await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        data = await asyncio.wait_for(answer, timeout)
        if "error" in data:
            raise CdpError(f"{method}: {data['error']}")
        return dict(data.get("result") or {})

    async def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """The expression's value (awaited when it is a promise), or CdpError with the
        page's exception."""
        result = await self.send("Runtime.evaluate", timeout=timeout, expression=expression,
                                 awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(details.get("exception", {}).get("description")
                           or details.get("text", "exception"))
        return result.get("result", {}).get("value")

    async def navigate(self, url: str) -> None:
        answer = await self.send("Page.navigate", url=url)
        if answer.get("errorText"):
            raise CdpError(f"navigate to {url}: {answer['errorText']}")

    async def wait_for(self, expression: str, *, timeout: float, what: str) -> Any:
        """Evaluate until the value is truthy; fail naming `what` after `timeout` s."""
        return await until(lambda: self.evaluate(expression), what, timeout, interval=0.05)

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        png = base64.b64decode(shot["data"])

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png)

        await asyncio.to_thread(write)
        return path

    async def close(self) -> None:
        self._reader.cancel()
        await self._ws.close()


async def _active_port(profile: Path, proc: asyncio.subprocess.Process,
                       timeout: float) -> int:
    port_file = profile / "DevToolsActivePort"

    async def port() -> int | None:
        if proc.returncode is not None:
            raise CdpError(f"chromium exited with {proc.returncode} before it listened")
        try:
            return int((await asyncio.to_thread(port_file.read_text)).split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    found: int | None = await until(port, f"chromium to write {port_file}", timeout, interval=0.05)
    assert found is not None  # until returns only a truthy port
    return found


@asynccontextmanager
async def headless_chromium(*, timeout: float = 30) -> AsyncIterator[Page]:
    """A fresh headless Chromium (a new profile, in its own process group: killed with all
    its children after) and its first page."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="mkpy-chromium-") as tmp:
        profile = Path(tmp)
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port = await _active_port(profile, proc, timeout)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
                    targets = await resp.json()
                target = next(t for t in targets if t.get("type") == "page")
                async with http.ws_connect(target["webSocketDebuggerUrl"],
                                           max_msg_size=0) as ws:
                    page = Page(ws)
                    try:
                        await page.send("Page.enable")
                        await page.send("Runtime.enable")
                        yield page
                    finally:
                        await page.close()
        finally:
            await _stop_group(proc)


async def _stop_group(proc: asyncio.subprocess.Process) -> None:
    """Chromium and the processes it started (its own process group, this test's)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
    except ProcessLookupError:
        pass
    # Its children (renderers, zygote) are in the group too: anything left goes now.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def artifacts_dir(tmp_path: Path) -> Path:
    """$MINIKUBE_PY_ARTIFACTS when set (CI keeps it), else tests/e2e/artifacts in the
    test's tmp dir."""
    env = os.environ.get("MINIKUBE_PY_ARTIFACTS")
    return Path(env) if env else tmp_path / "tests" / "e2e" / "artifacts"
