"""HTTP verbs on one resource path: get/list/watch/create/update/patch/delete and subresources."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.apiserver import protobuf, tables
from minikube_py.apiserver.authn import USER_KEY
from minikube_py.apiserver.bodies import strict_duplicates
from minikube_py.apiserver.decode import PATCH_TYPES, decode_body
from minikube_py.apiserver.jsonvalues import INT64
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.metricsapi.objects import watch_not_supported
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest.read import list_body, list_json, list_meta
from minikube_py.apiserver.service import ApiService
from minikube_py.apiserver.storage import dumps, parse_rfc3339
from minikube_py.apiserver.watchcache import CachedEvent

DEFAULT_WATCH_TIMEOUT = 1800.0


@dataclass
class ResourceRequest:
    request: web.Request
    svc: ApiService
    strategy: Strategy
    namespace: str | None
    name: str | None
    sub: str | None
    watch: bool

    @property
    def resource(self) -> Resource:
        return self.strategy.resource

    @property
    def q(self) -> Any:
        return self.request.query

    def flag(self, name: str) -> bool:
        return self.q.get(name, "").lower() in ("true", "1")

    def int_param(self, name: str) -> int | None:
        raw = self.q.get(name)
        if raw in (None, ""):
            return None
        try:
            value = int(raw) if len(raw) <= 20 else None
        except ValueError:
            value = None
        if value is None or not INT64[0] <= value < 2**63:
            raise errors.bad_request(f"invalid {name} {raw[:40]!r}: must be an integer")
        return value

    def options(self) -> RequestOptions:
        mode = self.q.get("fieldValidation", "")
        if mode and mode not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(f"fieldValidation parameter unsupported: {mode}")
        dry = self.q.getall("dryRun", [])
        if any(d != "All" for d in dry):
            raise errors.bad_request(f"Invalid dryRun value: {dry}")
        # An HTTP request without fieldValidation gets kube's default: Warn.
        return RequestOptions(dry_run=bool(dry), field_validation=mode or "Warn",
                              field_manager=self.q.get("fieldManager", ""),
                              user_agent=self.request.headers.get("User-Agent", ""),
                              force="force" in self.q and self.flag("force"),
                              user=self.request.get(USER_KEY))

    def filter(self, field_selector: str | None = None) -> ObjectFilter:
        fs = self.q.get("fieldSelector", "") if field_selector is None else field_selector
        return self.svc.filter(self.resource, self.q.get("labelSelector", ""), fs)

    def table_wanted(self) -> bool:
        accept = self.request.headers.get("Accept", "").replace(" ", "")
        first = accept.split(",")[0]
        return "as=Table" in first and "g=meta.k8s.io" in first

    async def body(self, opts: RequestOptions, *, patch: bool = False) -> Any:
        """The decode stage: the body as plain JSON values (None when empty)."""
        try:
            raw = await self.request.read()
        except web.RequestPayloadError as e:  # e.g. a Content-Encoding the body does not match
            raise errors.bad_request(f"error reading request body: {e}".replace("\n", "")) \
                from None
        ctype = self.request.content_type
        if "Content-Type" not in self.request.headers or ctype == "application/octet-stream":
            ctype = "application/json"  # aiohttp's stand-in for "no Content-Type given"
        if "protobuf" in ctype and (patch or ctype != protobuf.MEDIA_TYPE):
            raise errors.unsupported_media_type(ctype)
        value = decode_body(raw, ctype, message_for=self.svc.kinds.message_for)
        if opts.field_validation == "Strict" and ctype.endswith("json") and raw:
            duplicates = strict_duplicates(raw)
            if duplicates:
                detail = ", ".join(f'json: duplicate field "{d}"' for d in duplicates)
                raise errors.bad_request(f"strict decoding error: {detail}")
        return value


def raw_response(body: bytes, status: int = 200,
                 warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=body, status=status, content_type="application/json")
    for w in warnings or []:
        resp.headers.add("Warning", f'299 - {json.dumps(w)}')
    return resp


def respond(obj: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=dumps(obj).encode(errors="replace"), status=status,
                        content_type="application/json")
    for w in warnings or []:
        resp.headers.add("Warning", f'299 - {json.dumps(w)}')
    return resp


async def serve_resource(req: ResourceRequest) -> web.StreamResponse:
    resp = await _serve_verb(req)
    if req.strategy.deprecation and not resp.prepared:
        resp.headers.add("Warning", f"299 - {json.dumps(req.strategy.deprecation)}")
    return resp


async def _serve_verb(req: ResourceRequest) -> web.StreamResponse:
    method = req.request.method
    if req.strategy.reads is not None:
        return await _serve_read_only(req)
    if not req.strategy.stored and not (method == "POST" and req.name is None):
        raise errors.method_not_allowed(f"the server does not allow this method on the "
                                        f"requested resource ({req.resource.plural})")
    if req.name is None:
        if method == "GET":
            if req.watch or req.flag("watch"):
                return await serve_watch(req)
            return await serve_list(req)
        if method == "POST" and (req.namespace is not None or not req.resource.namespaced):
            return await serve_create(req)
        if method == "DELETE" and (req.namespace is not None or not req.resource.namespaced):
            return await serve_delete_collection(req)
        raise errors.method_not_allowed(f"the server does not allow this method on the "
                                        f"requested resource ({method} {req.resource.plural})")
    if method == "GET" and (req.watch or req.flag("watch")):
        return await serve_watch(req)
    if method == "GET":
        return await serve_get(req)
    if method == "PUT":
        return await serve_update(req)
    if method == "PATCH":
        return await serve_patch(req)
    if method == "DELETE" and req.sub is None:
        return await serve_delete(req)
    if method == "POST" and req.sub in req.strategy.post_subresources:
        opts = req.options()
        body = await req.body(opts)
        out = await req.svc.post_subresource(req.resource, req.name, req.sub or "", body or {},
                                             req.namespace, opts)
        return respond(out, 201, opts.warnings)
    raise errors.method_not_allowed(f"the server does not allow this method on the requested "
                                    f"resource ({method} {req.resource.plural}/{req.sub})")


async def _serve_read_only(req: ResourceRequest) -> web.Response:
    """A kind read from elsewhere (the resource metrics): get and list; a watch is
    refused as a storage that cannot watch refuses it, any other method as one without it."""
    if req.request.method != "GET" or req.sub is not None:
        raise errors.method_not_allowed(f"the server does not allow this method on the "
                                        f"requested resource ({req.resource.plural})")
    if req.watch or req.flag("watch"):
        raise watch_not_supported(req.resource.plural)
    if req.name is None:
        return await serve_list(req)
    obj = await req.svc.get_object(req.resource, req.name, req.namespace)
    if req.table_wanted():
        return respond(tables.table(req.strategy, [obj], req.svc.clock(),
                                    include_object=req.q.get("includeObject", "Metadata")))
    return respond(obj)


async def serve_list(req: ResourceRequest) -> web.Response:
    r = req.resource
    flt = req.filter()
    res = await req.svc.list_objects(
        r, req.namespace, flt, limit=req.int_param("limit") or 0,
        continue_token=req.q.get("continue", ""),
        resource_version=req.q.get("resourceVersion", ""),
        resource_version_match=req.q.get("resourceVersionMatch", ""))
    if req.table_wanted():
        return respond(tables.table(req.strategy, res.items, req.svc.clock(),
                                    include_object=req.q.get("includeObject", "Metadata"),
                                    list_meta=list_meta(res)))
    if req.strategy.reads is not None:
        return respond(list_body(r, res))
    return raw_response(list_json(r, res, req.strategy.served_json))


async def serve_get(req: ResourceRequest) -> web.StreamResponse:
    r, name = req.resource, req.name or ""
    if req.sub == "log":
        return await serve_log(req)
    if req.sub is not None:
        return respond(await req.svc.get_subresource(r, name, req.sub, req.namespace))
    if not req.table_wanted():
        return raw_response(req.strategy.served_json(await req.svc.get_json(
            r, name, req.namespace, req.q.get("resourceVersion", ""))))
    obj = await req.svc.get_object(r, name, req.namespace, req.q.get("resourceVersion", ""))
    if req.table_wanted():
        return respond(tables.table(req.strategy, [obj], req.svc.clock(),
                                    include_object=req.q.get("includeObject", "Metadata"),
                                    list_meta={"resourceVersion":
                                               obj["metadata"]["resourceVersion"]}))
    return respond(obj)


async def serve_create(req: ResourceRequest) -> web.Response:
    opts = req.options()
    body = await req.body(opts)
    if body is None:
        raise errors.bad_request("the request body is empty: an object is required")
    written = await req.svc.create_object(req.resource, body, req.namespace, opts)
    return raw_response(req.strategy.served_json(written.json()), 201, opts.warnings)


async def serve_update(req: ResourceRequest) -> web.Response:
    opts = req.options()
    body = await req.body(opts)
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be an object")
    name = req.name or ""
    meta = body.get("metadata")
    body_name = meta.get("name") if isinstance(meta, dict) else None
    if req.sub is None and body_name and body_name != name:
        raise errors.bad_request(f"the name of the object ({body_name}) does not match the name "
                                 f"on the URL ({name})")
    written = await req.svc.update_object(req.resource, body, req.namespace, req.sub, opts,
                                          name=name)
    return raw_response(req.strategy.served_json(written.json()), 200, opts.warnings)


async def serve_patch(req: ResourceRequest) -> web.Response:
    opts = req.options()
    ctype = req.request.content_type
    if ctype not in PATCH_TYPES:
        raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown "
                       f"format - accepted media types include: {', '.join(PATCH_TYPES)}")
    patch = await req.body(opts, patch=True)
    if patch is None:
        raise errors.bad_request("the patch body is empty")
    written = await req.svc.patch_object(req.resource, req.name or "", patch, ctype,
                                         req.namespace, req.sub, opts)
    return raw_response(req.strategy.served_json(written.json()),
                        201 if written.created else 200, opts.warnings)


def _delete_options(req: ResourceRequest, body: Any) -> dict[str, Any]:
    opts = dict(body) if isinstance(body, dict) else {}
    if req.q.get("gracePeriodSeconds"):
        opts["gracePeriodSeconds"] = req.int_param("gracePeriodSeconds")
    if req.q.get("propagationPolicy"):
        opts["propagationPolicy"] = req.q["propagationPolicy"]
    orphan = req.q.get("orphanDependents") or opts.get("orphanDependents")
    if orphan in (True, "true") and not opts.get("propagationPolicy"):
        opts["propagationPolicy"] = "Orphan"
    policy = opts.get("propagationPolicy")
    if policy not in (None, "Orphan", "Foreground", "Background"):
        raise errors.invalid("DeleteOptions", "", [errors.Cause(
            "FieldValueNotSupported", f'Unsupported value: "{policy}": supported values: '
            '"Foreground", "Background", "Orphan"', "propagationPolicy")])
    return opts


async def serve_delete(req: ResourceRequest) -> web.Response:
    ropts = req.options()
    body = await req.body(ropts)
    opts = _delete_options(req, body)
    obj, gone = await req.svc.delete_object(
        req.resource, req.name or "", req.namespace,
        grace_period_seconds=opts.get("gracePeriodSeconds"),
        propagation_policy=opts.get("propagationPolicy"),
        preconditions=opts.get("preconditions"), opts=ropts)
    return respond(obj, 200 if gone else 202)


async def serve_delete_collection(req: ResourceRequest) -> web.Response:
    r = req.resource
    ropts = req.options()
    opts = _delete_options(req, await req.body(ropts))
    flt = req.filter()
    items = await req.svc.delete_collection(
        r, req.namespace, flt, grace_period_seconds=opts.get("gracePeriodSeconds"),
        propagation_policy=opts.get("propagationPolicy"), opts=ropts)
    return respond({"kind": r.list_kind, "apiVersion": r.api_version,
                    "metadata": {}, "items": items})


def _watch_line(req: ResourceRequest, kind: str, ev: CachedEvent | dict[str, Any],
                as_table: bool, first: bool) -> bytes:
    if not as_table or kind == "BOOKMARK":
        if isinstance(ev, CachedEvent):
            return req.strategy.served_json(ev.line(kind))
        return (dumps({"type": kind, "object": ev}) + "\n").encode()
    obj = ev.object() if isinstance(ev, CachedEvent) else ev
    tbl = tables.table(req.strategy, [obj], req.svc.clock(),
                       include_object=req.q.get("includeObject", "Metadata"),
                       list_meta={"resourceVersion": obj["metadata"].get("resourceVersion")},
                       with_columns=first)
    return (dumps({"type": kind, "object": tbl}) + "\n").encode()


def _watch_option_errors(req: ResourceRequest) -> list[errors.Cause]:
    """validateWatchOptions: resourceVersionMatch only with sendInitialEvents, and back."""
    match = req.q.get("resourceVersionMatch", "")
    field = "resourceVersionMatch"
    causes = []
    if "sendInitialEvents" in req.q and match != "NotOlderThan":
        causes.append(errors.Cause("FieldValueForbidden", "Forbidden: sendInitialEvents "
                                   "requires setting resourceVersionMatch to NotOlderThan", field))
    if match:
        if "sendInitialEvents" not in req.q:
            causes.append(errors.Cause("FieldValueForbidden", "Forbidden: resourceVersionMatch "
                                       "is forbidden for watch unless sendInitialEvents is "
                                       "provided", field))
        if match != "NotOlderThan":
            causes.append(errors.Cause("FieldValueNotSupported", f'Unsupported value: "{match}"'
                                       ': supported values: "NotOlderThan"', field))
    return causes


async def serve_watch(req: ResourceRequest) -> web.StreamResponse:
    r = req.resource
    fs = req.q.get("fieldSelector", "")
    if req.name:
        fs = f"metadata.name={req.name}" + ("," + fs if fs else "")
    # Everything a client can get wrong is answered before the 200 starts streaming.
    flt = req.filter(fs)
    timeout = req.int_param("timeoutSeconds")
    causes = _watch_option_errors(req)
    if causes:
        raise errors.invalid("ListOptions", "", causes, "meta.k8s.io")
    rv = req.q.get("resourceVersion", "")
    initial_end = req.flag("sendInitialEvents")
    if initial_end:
        rv = ""
    batches = req.svc.watch_batches(
        r, req.namespace, flt, rv, allow_bookmarks=req.flag("allowWatchBookmarks"),
        timeout_seconds=float(timeout) if timeout else DEFAULT_WATCH_TIMEOUT,
        initial_events_end=initial_end)
    as_table = req.table_wanted()
    resp = web.StreamResponse(status=200)
    resp.content_type = "application/json"
    if req.strategy.deprecation:  # headers go before the stream starts
        resp.headers.add("Warning", f"299 - {json.dumps(req.strategy.deprecation)}")
    resp.enable_chunked_encoding()
    try:
        await resp.prepare(req.request)
        first = True
        async for batch in batches:
            # One write (one chunk) for whatever was ready at once.
            lines = []
            for kind, ev in batch:
                lines.append(_watch_line(req, kind, ev, as_table, first))
                first = False
            await resp.write(b"".join(lines))
        await resp.write_eof()
    except ApiError as e:
        line = dumps({"type": "ERROR", "object": e.to_status()}) + "\n"
        with contextlib.suppress(ConnectionResetError):
            await resp.write(line.encode())
            await resp.write_eof()
    except ConnectionResetError:
        pass  # the client went away; CancelledError propagates (the handler is being stopped)
    finally:
        await batches.aclose()
    return resp


async def serve_log(req: ResourceRequest) -> web.StreamResponse:
    since = req.int_param("sinceSeconds")
    if since is None and req.q.get("sinceTime"):
        try:
            since_time = parse_rfc3339(req.q["sinceTime"])
        except ValueError:
            raise errors.bad_request(f'parsing time "{req.q["sinceTime"][:64]}" as RFC3339: '
                                     "cannot parse") from None
        since = max(1, int(req.svc.clock() - since_time))
    stream = await req.svc.read_log(
        req.namespace or "default", req.name or "", req.q.get("container") or None,
        follow=req.flag("follow"), tail_lines=req.int_param("tailLines"),
        timestamps=req.flag("timestamps"), since_seconds=since,
        limit_bytes=req.int_param("limitBytes"), previous=req.flag("previous"))
    resp = web.StreamResponse(status=200)
    resp.content_type = "text/plain"
    resp.enable_chunked_encoding()
    try:
        await resp.prepare(req.request)
        async for chunk in while_connected(stream, req.request):
            await resp.write(chunk)
        await resp.write_eof()
    except ConnectionResetError:
        pass  # the client went away; CancelledError propagates (the handler is being stopped)
    finally:
        await stream.aclose()
    return resp


async def while_connected(chunks: AsyncIterator[bytes], request: web.BaseRequest, *,
                          poll: float = 1.0) -> AsyncIterator[bytes]:
    """The chunks of a stream until it ends or its client has gone. A follow of a silent
    container writes nothing, so a write never fails to say so: look at the connection
    every `poll` seconds instead, and end (the caller closes the stream to the kubelet)."""
    it = chunks.__aiter__()
    while True:
        pending = asyncio.ensure_future(it.__anext__())
        try:
            while not (await asyncio.wait({pending}, timeout=poll))[0]:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return
            try:
                chunk = pending.result()
            except StopAsyncIteration:
                return
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
        yield chunk
