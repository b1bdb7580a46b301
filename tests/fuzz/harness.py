"""The real HTTP app on loopback over an ApiService on MemoryKV, driven synchronously (one
event loop per fuzz run), with the properties every answer must have checked on each one."""

from __future__ import annotations

import asyncio
import atexit
import copy
import json
import logging
import os
import random
import re
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import uvloop
from aiohttp import web_app
from aiohttp.test_utils import TestServer
from yarl import URL

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.jsontypes import type_object
from minikube_py.apiserver.protocolerrors import ProtocolErrorLog
from minikube_py.apiserver.rest.create import validate_new
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV

from .encodings import Body
from .models import ClientModels

# A request that takes longer than this has hung (the slowest legitimate one, a LIST of
# everything the fuzzer made, takes milliseconds).
DEADLINE = 10.0
# How long a streaming answer (watch) is read before the client walks away.
STREAM_READ = 0.01
STATUS_KEYS = ("kind", "apiVersion", "metadata", "status", "message", "reason", "details",
               "code")
MERGE = "application/merge-patch+json"


class FuzzClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class ErrorRecords(logging.Handler):
    """Every ERROR (or worse) anything in the process logs while the fuzzer runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        out = [self.format(r) for r in self.records]
        self.records.clear()
        return out


@dataclass
class Reply:
    method: str
    url: str
    status: int
    content_type: str
    headers: dict[str, str]
    data: bytes
    request: str  # for failure messages

    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class PropertyFailure(AssertionError):
    pass


class Findings:
    """For long runs by hand (FUZZ_FINDINGS=file): every property failure is written to the
    file, one per root cause (the failing check and the server's innermost frame), and the
    run goes on instead of stopping at the first one."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.seen: set[str] = set()
        self.requests = 0
        if path is not None:
            atexit.register(self._summary)

    def _summary(self) -> None:
        assert self.path is not None
        with open(self.path, "a") as out:
            out.write(f"requests sent: {self.requests}; root causes: {len(self.seen)}\n")

    def report(self, failure: PropertyFailure) -> None:
        if self.path is None:
            raise failure
        text = str(failure)
        frames = re.findall(r'File "([^"]+)", line (\d+)', text)
        ours = [f for f in frames if "/minikube_py/" in f[0]]
        key = text.splitlines()[0][:100] + (f" at {ours[-1]}" if ours else "")
        if key in self.seen:
            return
        self.seen.add(key)
        with open(self.path, "a") as out:
            out.write(f"=== {key}\n{text}\n\n")


FINDINGS = Findings(os.environ.get("FUZZ_FINDINGS"))


def fail(reply: Reply | None, why: str) -> PropertyFailure:
    where = "" if reply is None else (f"\n  request: {reply.request}\n  answer: {reply.status} "
                                      f"{reply.content_type} {reply.data[:600]!r}")
    return PropertyFailure(why + where)


def check_status_object(reply: Reply, status: Any) -> None:
    """An error is a meta/v1 Status with kube's fields, in kube's order, and its code."""
    if not isinstance(status, dict):
        raise fail(reply, "the error body is not a JSON object")
    order = [k for k in status if k in STATUS_KEYS]
    if order != [k for k in STATUS_KEYS if k in status] or list(status) != order:
        raise fail(reply, f"Status fields {list(status)} are not kube's {list(STATUS_KEYS)}")
    for key in ("kind", "apiVersion", "metadata", "status", "message", "reason", "code"):
        if key not in status:
            raise fail(reply, f"the Status has no {key}")
    if (status["kind"], status["apiVersion"], status["status"]) != ("Status", "v1", "Failure"):
        raise fail(reply, "not a Failure Status")
    if not isinstance(status["message"], str) or not isinstance(status["reason"], str) or \
            not status["reason"]:
        raise fail(reply, "the Status has no message or reason")
    if status["code"] != reply.status:
        raise fail(reply, f"Status code {status['code']} differs from the HTTP status")


def _server_timeout(reply: Reply) -> bool:
    """kube's one 5xx for a client's input: a resourceVersion ahead of the store (retry)."""
    if reply.status != 504:
        return False
    try:
        status = reply.json()
    except ValueError:
        return False
    causes = (status.get("details") or {}).get("causes") or []
    return status.get("reason") == "Timeout" and \
        any(c.get("reason") == "ResourceVersionTooLarge" for c in causes)


# What aiohttp's HTTP parser refuses before any handler runs (a method llhttp does not know,
# a compressed body it cannot undo as it arrives) it answers itself with a plain-text 400,
# as Go's net/http does for a request it cannot parse: the one error that is not a Status.
STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                              "TRACE", "CONNECT"})


def _refused_by_parser(reply: Reply, method: str, headers: dict[str, str]) -> bool:
    compressed = headers.get("Content-Encoding", "identity") != "identity"
    unparsable = method not in STANDARD_METHODS or compressed
    return unparsable and reply.status == 400 and reply.content_type == "text/plain"


def check_reply(reply: Reply, method: str = "GET", headers: dict[str, str] | None = None
                ) -> None:
    """No 5xx; every error a JSON Status."""
    if reply.status >= 500 and not _server_timeout(reply):
        raise fail(reply, f"answered {reply.status}")
    if reply.status >= 400 and method != "HEAD" and \
            not _refused_by_parser(reply, method, headers or {}):
        if reply.content_type != "application/json":
            raise fail(reply, "an error that is not application/json")
        try:
            status = reply.json()
        except ValueError:
            raise fail(reply, "an error body that is not JSON") from None
        check_status_object(reply, status)


def collection_path(resource: Resource, namespace: str | None) -> str:
    base = f"/apis/{resource.group}/{resource.version}" if resource.group else \
        f"/api/{resource.version}"
    if resource.namespaced and namespace is not None:
        base += f"/namespaces/{quote(namespace, safe='', errors='surrogatepass')}"
    return f"{base}/{resource.plural}"


def object_path(resource: Resource, namespace: str | None, name: str,
                sub: str | None = None) -> str:
    path = f"{collection_path(resource, namespace)}/{quote(name, safe='', errors='surrogatepass')}"
    return f"{path}/{sub}" if sub else path


def encode_query(query: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='', errors='surrogatepass')}"
                    for k, v in query)


class FuzzServer:
    """One API server for one fuzz run; `send` is synchronous (it runs the loop)."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        self.clock = FuzzClock()
        self.errors = ErrorRecords()
        self.models = ClientModels()
        # A loopback port bound and never listened on: the one kubelet address a fuzzed node
        # may name, so a pods/log request is refused on this machine and goes nowhere else.
        self.dead_port_socket = socket.socket()
        self.dead_port_socket.bind(("127.0.0.1", 0))
        self.kubelet_port: int = self.dead_port_socket.getsockname()[1]
        self.findings = FINDINGS
        self.run(self._start())
        logging.getLogger().addHandler(self.errors)

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    async def _start(self) -> None:
        self.kv = MemoryKV()
        self.svc = ApiService(self.kv, clock=self.clock, rng=random.Random(0),
                              bookmark_interval=0.05)
        await self.svc.start()
        self.srv = TestServer(build_app(self.svc), host="127.0.0.1")
        # As `serve` runs it (composition.py): parser errors are rate-limited warnings.
        await self.srv.start_server(access_log=None, shutdown_timeout=1.0, logger=ProtocolErrorLog(
            logging.getLogger("minikube_py.apiserver")))
        self.base = f"http://127.0.0.1:{self.srv.port}"
        self.session = aiohttp.ClientSession()

    def close(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        try:
            self.run(self._stop())
        finally:
            self.runner.close()
            self.models.close()
            self.dead_port_socket.close()
            # aiohttp memoises each app's middleware chain (1,024 apps): that would keep
            # every finished run's service and store alive through a long fuzz run.
            cached = getattr(web_app, "_cached_build_middleware", None)
            if cached is not None:
                cached.cache_clear()

    async def _stop(self) -> None:
        await self.session.close()
        await self.srv.close()
        await self.svc.stop()
        await self.kv.close()

    # --- requests -------------------------------------------------------------------------

    def send(self, method: str, path: str, body: Body | None = None,
             query: list[tuple[str, str]] | None = None, accept: str | None = None,
             stream: bool = False) -> Reply:
        """One request, checked: no 5xx, errors as Status, done within DEADLINE, and no
        ERROR logged while it ran."""
        url = self.base + path + ("?" + encode_query(query) if query else "")
        headers = dict(body.headers) if body else {}
        skip = []
        if body is not None and body.content_type is not None:
            headers["Content-Type"] = body.content_type
        else:
            skip.append("Content-Type")
        if accept is not None:
            headers["Accept"] = accept
        desc = f"{method} {url} {body.describe() if body else ''} Accept={accept}"
        self.findings.requests += 1
        started = time.monotonic()
        try:
            reply = self.run(self._send(method, url, body.data if body else None, headers,
                                        skip, stream, desc))
        except PropertyFailure as e:
            self.findings.report(e)
            return Reply(method, url, 0, "", {}, b"", desc)  # no answer at all
        # The server shares the client's loop: a handler busy on the CPU also holds off the
        # client's timeout, so the time taken is checked once the answer is in.
        took = time.monotonic() - started
        logged = self.errors.take()
        try:
            if took > DEADLINE:
                raise fail(reply, f"the answer took {took:.1f} s")
            if logged:
                raise fail(reply, "the server logged an error:\n" + "\n".join(logged)[:6000])
            check_reply(reply, method, headers)
        except PropertyFailure as e:
            self.findings.report(e)
        return reply

    async def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str],
                    skip: list[str], stream: bool, desc: str) -> Reply:
        try:
            async with asyncio.timeout(DEADLINE):
                async with self.session.request(method, URL(url, encoded=True), data=data,
                                                headers=headers, skip_auto_headers=skip,
                                                allow_redirects=False) as resp:
                    if stream and resp.status == 200:
                        payload = await _read_briefly(resp)
                    else:
                        payload = await resp.read()
                    return Reply(method, url, resp.status, resp.content_type,
                                 dict(resp.headers), payload, desc)
        except TimeoutError:
            raise fail(None, f"no answer within {DEADLINE} s: {desc}") from None
        except aiohttp.ClientError as e:
            raise fail(None, f"the connection failed ({e!r}): {desc}") from None

    def send_raw(self, data: bytes) -> bytes:
        """Bytes straight onto a connection (what no HTTP client sends): the answer, if
        any, is no 5xx, and nothing is logged as an ERROR."""
        self.findings.requests += 1
        answer = self.run(self._send_raw(data))
        logged = self.errors.take()
        problem = None
        if logged:
            problem = "the server logged an error:\n" + "\n".join(logged)[:6000]
        elif re.match(rb"HTTP/1\.[01] 5", answer):
            problem = "a raw request was answered with a 5xx"
        if problem is not None:
            self.findings.report(PropertyFailure(f"{problem}\n  sent: {data[:300]!r}\n  "
                                                 f"answer: {answer[:300]!r}"))
        return answer

    async def _send_raw(self, data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.srv.port)
        answer = b""
        try:
            writer.write(data)
            await writer.drain()
            async with asyncio.timeout(STREAM_READ * 5):
                while chunk := await reader.read(65536):
                    answer += chunk
        except (TimeoutError, ConnectionError):
            pass  # a request the server still waits on, or a connection it dropped
        finally:
            writer.close()
        return answer

    # --- reading back what was written ----------------------------------------------------

    def strategy(self, resource: Resource) -> Any:
        return self.svc.kinds.strategy(resource)

    def stored(self, resource: Resource, namespace: str | None, name: str) -> Any:
        reply = self.send("GET", object_path(resource, namespace, name))
        return reply.json() if reply.status == 200 else None

    def check_readback(self, resource: Resource, namespace: str | None, name: str) -> None:
        """Every accepted write reads back as a valid object: typed with no unknown field,
        valid for its kind, taken by the official client's model, and still writable."""
        if not name:
            return  # the path names the collection, not an object
        problem = self._readback_problem(resource, namespace, name)
        if problem is not None:
            self.findings.report(problem)

    def _readback_problem(self, resource: Resource, namespace: str | None,
                          name: str) -> PropertyFailure | None:
        path = object_path(resource, namespace, name)
        reply = self.send("GET", path)
        if reply.status == 404:
            return None  # deleted, or a dry run that stored nothing
        if reply.status != 200:
            return fail(reply, "an accepted write does not read back")
        obj = reply.json()
        strategy = self.strategy(resource)
        typed = type_object(strategy.schema, copy.deepcopy(obj))
        if typed.error is not None or typed.unknown:
            return fail(reply, f"the stored object fails the typed pass: {typed}")
        try:
            validate_new(strategy, copy.deepcopy(obj))
        except ApiError as e:
            return fail(reply, f"the stored object is not valid: {e.message}")
        try:
            self.models.deserialize(obj, strategy.schema)
        except Exception as e:
            return fail(reply, f"the kubernetes client's model refuses it: {e!r}")
        table = "application/json;as=Table;v=v1;g=meta.k8s.io"
        if self.send("GET", path, accept=table).status != 200:
            return fail(reply, "the stored object cannot be printed as a Table")
        for patch in (b"{}", b'{"metadata":{"labels":{"fuzz-readback":"ok"}}}'):
            after = self.send("PATCH", path, Body(patch, MERGE))
            if after.status != 200:
                return fail(after, f"a follow-up merge patch {patch!r} of the stored object "
                                   "failed")
        return None


async def _read_briefly(resp: aiohttp.ClientResponse) -> bytes:
    """What a stream sends at once; each complete line a watch event (ERROR a Status)."""
    data = b""
    try:
        async with asyncio.timeout(STREAM_READ):
            while True:
                chunk = await resp.content.readany()
                if not chunk:
                    break
                data += chunk
    except TimeoutError:
        pass
    resp.close()
    return data


def check_watch_lines(reply: Reply) -> None:
    if reply.status != 200 or reply.content_type != "application/json":
        return
    for line in reply.data.split(b"\n")[:-1]:
        event = json.loads(line)
        if event.get("type") not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"):
            raise fail(reply, f"a watch event of type {event.get('type')!r}")
        if event["type"] == "ERROR":
            status = event["object"]
            if status.get("code", 0) >= 500:
                raise fail(reply, "the watch ended with a server error")
