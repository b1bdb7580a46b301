"""HTTP verbs on one resource path: get/list/watch/create/update/patch/delete and subresources."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NAMESPACES, Resource
from minikube_py.api.selectors import build_filter
from minikube_py.apiserver import protobuf, subresources, tables
from minikube_py.apiserver.service import ApiService, RequestOptions, list_body
from minikube_py.apiserver.storage import dumps, parse_rfc3339
from minikube_py.apiserver.watchcache import CachedEvent

DEFAULT_WATCH_TIMEOUT = 1800.0
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml")


@dataclass
class ResourceRequest:
    request: web.Request
    svc: ApiService
    resource: Resource
    namespace: str | None
    name: str | None
    sub: str | None
    watch: bool

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
            return int(raw)
        except ValueError:
            raise errors.bad_request(f"invalid {name} {raw!r}: must be an integer") from None

    def options(self) -> RequestOptions:
        mode = self.q.get("fieldValidation", "")
        if mode and mode not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(f"fieldValidation parameter unsupported: {mode}")
        dry = self.q.getall("dryRun", [])
        if any(d != "All" for d in dry):
            raise errors.bad_request(f"Invalid dryRun value: {dry}")
        return RequestOptions(dry_run=bool(dry), field_validation=mode,
                              field_manager=self.q.get("fieldManager", ""))

    def table_wanted(self) -> bool:
        accept = self.request.headers.get("Accept", "").replace(" ", "")
        first = accept.split(",")[0]
        return "as=Table" in first and "g=meta.k8s.io" in first

    async def body(self, *, patch: bool = False) -> Any:
        raw = await self.request.read()
        ctype = self.request.content_type
        if "Content-Type" not in self.request.headers or ctype == "application/octet-stream":
            ctype = "application/json"  # aiohttp's stand-in for "no Content-Type given"
        if ctype == protobuf.MEDIA_TYPE and not patch:  # kubectl create's typed generators
            return _decode_protobuf(raw) if raw else None
        if "protobuf" in ctype:
            raise errors.unsupported_media_type(ctype)
        if not raw:
            return None
        try:
            if ctype in ("application/yaml", "application/apply-patch+yaml") or \
                    ctype.endswith("yaml"):
                return yaml.safe_load(raw)
            if ctype == "application/json" or ctype in _PATCH_TYPES or ctype.endswith("json"):
                return json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            msg = str(e).splitlines()[0]
            raise errors.bad_request(f"error decoding request body: {msg}") from None
        raise errors.unsupported_media_type(ctype)


def _decode_protobuf(raw: bytes) -> dict[str, Any]:
    try:
        return protobuf.decode_object(raw)
    except protobuf.UnsupportedKindError as e:
        raise ApiError(415, "UnsupportedMediaType", str(e)) from None
    except protobuf.ProtobufDecodeError as e:
        raise errors.bad_request(f"error decoding request body: {e}") from None


def respond(obj: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=dumps(obj).encode(), status=status,
                        content_type="application/json")
    for w in warnings or []:
        resp.headers.add("Warning", f'299 - {json.dumps(w)}')
    return resp


async def serve_resource(req: ResourceRequest) -> web.StreamResponse:
    method = req.request.method
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
    if method == "POST" and req.sub in ("binding", "eviction"):
        opts = req.options()
        body = await req.body()
        out = await subresources.create_subresource(req.svc, req.resource, req.name, req.sub,
                                                    body or {}, req.namespace, opts)
        return respond(out, 201)
    raise errors.method_not_allowed(f"the server does not allow this method on the requested "
                                    f"resource ({method} {req.resource.plural}/{req.sub})")


def _list_meta(res: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(res.revision)}
    if res.continue_token:
        meta["continue"] = res.continue_token
        if res.remaining is not None:
            meta["remainingItemCount"] = res.remaining
    return meta


async def serve_list(req: ResourceRequest) -> web.Response:
    r = req.resource
    flt = build_filter(r.group, r.plural, req.q.get("labelSelector", ""),
                       req.q.get("fieldSelector", ""))
    res = await req.svc.list_objects(
        r, req.namespace, flt, limit=req.int_param("limit") or 0,
        continue_token=req.q.get("continue", ""),
        resource_version=req.q.get("resourceVersion", ""),
        resource_version_match=req.q.get("resourceVersionMatch", ""))
    if req.table_wanted():
        return respond(tables.table(r, res.items, req.svc.clock(),
                                    include_object=req.q.get("includeObject", "Metadata"),
                                    list_meta=_list_meta(res)))
    return respond(list_body(r, res))


async def serve_get(req: ResourceRequest) -> web.StreamResponse:
    r, name = req.resource, req.name or ""
    if req.sub == "log":
        return await serve_log(req)
    if req.sub == "scale":
        obj = await subresources.get_subresource(req.svc, r, name, "scale", req.namespace)
        return respond(obj)
    obj = await req.svc.get_object(r, name, req.namespace, req.q.get("resourceVersion", ""))
    if req.table_wanted():
        return respond(tables.table(r, [obj], req.svc.clock(),
                                    include_object=req.q.get("includeObject", "Metadata"),
                                    list_meta={"resourceVersion":
                                               obj["metadata"]["resourceVersion"]}))
    return respond(obj)


async def serve_create(req: ResourceRequest) -> web.Response:
    opts = req.options()
    body = await req.body()
    if body is None:
        raise errors.bad_request("the request body is empty: an object is required")
    obj = await req.svc.create_object(req.resource, body, req.namespace, opts)
    return respond(obj, 201, opts.warnings)


async def serve_update(req: ResourceRequest) -> web.Response:
    opts = req.options()
    body = await req.body()
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be an object")
    name = req.name or ""
    if req.sub == "scale":
        out = await subresources.update_scale(req.svc, req.resource, body, req.namespace,
                                              opts, name)
        return respond(out)
    body_name = (body.get("metadata") or {}).get("name")
    if req.sub is None and body_name and body_name != name:
        raise errors.bad_request(f"the name of the object ({body_name}) does not match the name "
                                 f"on the URL ({name})")
    if req.sub == "finalize" and req.resource is not NAMESPACES:
        raise errors.not_found(f"{req.resource.plural}/finalize", name)
    obj = await req.svc.update_object(req.resource, body, req.namespace, req.sub, opts,
                                      name=name)
    return respond(obj, 200, opts.warnings)


async def serve_patch(req: ResourceRequest) -> web.Response:
    opts = req.options()
    ctype = req.request.content_type
    if ctype not in _PATCH_TYPES:
        raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown "
                       f"format - accepted media types include: {', '.join(_PATCH_TYPES)}")
    patch = await req.body(patch=True)
    if patch is None:
        raise errors.bad_request("the patch body is empty")
    name = req.name or ""
    if req.sub == "scale":
        out = await subresources.patch_scale(req.svc, req.resource, name, patch, ctype,
                                             req.namespace, opts)
        return respond(out)
    existed = True
    if ctype == "application/apply-patch+yaml":
        try:
            await req.svc.get_object(req.resource, name, req.namespace)
        except ApiError as e:
            existed = e.code != 404
    obj = await req.svc.patch_object(req.resource, name, patch, ctype, req.namespace, req.sub,
                                     opts)
    return respond(obj, 200 if existed else 201, opts.warnings)


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
    body = await req.body()
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
    opts = _delete_options(req, await req.body())
    flt = build_filter(r.group, r.plural, req.q.get("labelSelector", ""),
                       req.q.get("fieldSelector", ""))
    items = await req.svc.delete_collection(
        r, req.namespace, flt, grace_period_seconds=opts.get("gracePeriodSeconds"),
        propagation_policy=opts.get("propagationPolicy"), opts=ropts)
    return respond({"kind": r.list_kind, "apiVersion": r.api_version,
                    "metadata": {}, "items": items})


def _watch_line(req: ResourceRequest, kind: str, ev: CachedEvent | dict[str, Any],
                as_table: bool, first: bool) -> bytes:
    if not as_table or kind == "BOOKMARK":
        if isinstance(ev, CachedEvent):
            return ev.line(kind)
        return (dumps({"type": kind, "object": ev}) + "\n").encode()
    obj = ev.object() if isinstance(ev, CachedEvent) else ev
    tbl = tables.table(req.resource, [obj], req.svc.clock(),
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
    flt = build_filter(r.group, r.plural, req.q.get("labelSelector", ""), fs)
    timeout = req.int_param("timeoutSeconds")
    causes = _watch_option_errors(req)
    if causes:
        raise errors.invalid("ListOptions", "", causes, "meta.k8s.io")
    rv = req.q.get("resourceVersion", "")
    initial_end = req.flag("sendInitialEvents")
    if initial_end:
        rv = ""
    events = req.svc.watch_events(
        r, req.namespace, flt, rv, allow_bookmarks=req.flag("allowWatchBookmarks"),
        timeout_seconds=float(timeout) if timeout else DEFAULT_WATCH_TIMEOUT,
        initial_events_end=initial_end)
    as_table = req.table_wanted()
    resp = web.StreamResponse(status=200)
    resp.content_type = "application/json"
    resp.enable_chunked_encoding()
    try:
        await resp.prepare(req.request)
        first = True
        async for kind, ev in events:
            await resp.write(_watch_line(req, kind, ev, as_table, first))
            first = False
        await resp.write_eof()
    except ApiError as e:
        line = dumps({"type": "ERROR", "object": e.to_status()}) + "\n"
        with contextlib.suppress(ConnectionResetError):
            await resp.write(line.encode())
            await resp.write_eof()
    except ConnectionResetError:
        pass  # the client went away; CancelledError propagates (the handler is being stopped)
    finally:
        await events.aclose()
    return resp


async def serve_log(req: ResourceRequest) -> web.StreamResponse:
    since = req.int_param("sinceSeconds")
    if since is None and req.q.get("sinceTime"):
        since = max(1, int(req.svc.clock() - parse_rfc3339(req.q["sinceTime"])))
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
        async for chunk in stream:
            await resp.write(chunk)
        await resp.write_eof()
    except ConnectionResetError:
        pass  # the client went away; CancelledError propagates (the handler is being stopped)
    finally:
        await stream.aclose()
    return resp
