"""Protobuf request bodies: the pure decoder, and kubectl's typed `create` commands end to end."""

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.protobuf import (
    ProtobufDecodeError,
    UnsupportedKindError,
    decode_message,
    decode_object,
)
from tests.unit.apiserver.kinds import KINDS
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

# Bodies captured from kubectl 1.32 (`kubectl create ...` against this server).
CREATE_NAMESPACE_TEAM_A = bytes.fromhex(
    "6b3873000a0f0a02763112094e616d657370616365121e0a160a067465616d2d6112001a0022002a0032003800"
    "420012001a020a001a002200")
CREATE_DEPLOYMENT_ZERO = bytes.fromhex(  # --image=busybox --replicas=0
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b4010a210a047a65726f12001a0022002a"
    "003200380042005a0b0a0361707012047a65726f1280010800120d0a0b0a0361707012047a65726f1a650a1d0a"
    "0012001a0022002a003200380042005a0b0a0361707012047a65726f124412260a0762757379626f7812076275"
    "7379626f782a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a"
    "01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200")
CREATE_SECRET_GENERIC = bytes.fromhex(  # s --from-literal=p=x
    "6b3873000a0c0a0276311206536563726574121d0a110a017312001a0022002a0032003800420012060a017012"
    "01781a001a002200")
CREATE_SERVICE_CLUSTERIP = bytes.fromhex(  # svc --tcp=80:8080
    "6b3873000a0d0a02763112075365727669636512690a1f0a0373766312001a0022002a003200380042005a0a0a"
    "03617070120373766312420a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a0361"
    "707012037376631a002209436c757374657249503a00420052005a00600068001a020a001a002200")
CREATE_JOB_FROM_CRONJOB = bytes.fromhex(  # j2 --from=cronjob/c: a server-defaulted template
    "6b3873000a0f0a0862617463682f763112034a6f62128a030a7f0a026a3212001a0022002a0032003800420062"
    "2b0a2163726f6e6a6f622e6b756265726e657465732e696f2f696e7374616e746961746512066d616e75616c6a"
    "3e0a0743726f6e4a6f621a0163222437336130393165642d613365342d343662662d396235392d343661636131"
    "3165636566642a0862617463682f7631300112fc010801100132d0010a100a0012001a0022002a003200380042"
    "0012bb0112480a0163120762757379626f781a046563686f1a0268692a0042006a142f6465762f7465726d696e"
    "6174696f6e2d6c6f677206416c77617973800100880100900100a2010446696c651a094f6e4661696c75726520"
    "1e320c436c75737465724669727374420764656661756c744a0764656661756c74520058006000680072008201"
    "008a01009a011164656661756c742d7363686564756c6572c20100c80100f00101fa0114507265656d70744c6f"
    "7765725072696f7269747938064a0a4e6f6e496e6465786564500072135465726d696e6174696e674f72466169"
    "6c65641a082000280030003a001a002200")


# A tiny encoder for the cases kubectl does not happen to send.

def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: int | str | bytes) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + field(1, field(1, api_version) + field(2, kind)) + field(2, raw)


def test_kubectl_namespace_decodes_to_its_json_form() -> None:
    assert decode_object(CREATE_NAMESPACE_TEAM_A, KINDS.message_for) == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"},
        "spec": {}, "status": {}}


def test_zero_replicas_is_kept_because_the_go_field_is_a_pointer() -> None:
    deploy = decode_object(CREATE_DEPLOYMENT_ZERO, KINDS.message_for)
    assert deploy["spec"]["replicas"] == 0
    assert deploy["spec"]["selector"] == {"matchLabels": {"app": "zero"}}
    # Empty non-pointer strings on the wire (imagePullPolicy "", workingDir "") are dropped.
    assert deploy["spec"]["template"]["spec"]["containers"] == [
        {"name": "busybox", "image": "busybox", "resources": {}}]


def test_secret_bytes_become_base64() -> None:
    secret = decode_object(CREATE_SECRET_GENERIC, KINDS.message_for)
    assert secret["data"] == {"p": base64.b64encode(b"x").decode()}


def test_service_target_port_is_an_int_or_string() -> None:
    spec = decode_object(CREATE_SERVICE_CLUSTERIP, KINDS.message_for)["spec"]
    assert spec["ports"] == [{"name": "80-8080", "protocol": "TCP", "port": 80,
                              "targetPort": 8080}]
    assert spec["type"] == "ClusterIP" and spec["selector"] == {"app": "svc"}


def test_defaulted_job_keeps_present_zero_pointers_and_owner_references() -> None:
    job = decode_object(CREATE_JOB_FROM_CRONJOB, KINDS.message_for)
    owner = job["metadata"]["ownerReferences"][0]
    assert owner == {"kind": "CronJob", "name": "c", "apiVersion": "batch/v1",
                     "uid": "73a091ed-a3e4-46bf-9b59-46aca11ecefd", "controller": True}
    pod = job["spec"]["template"]["spec"]
    assert (job["spec"]["suspend"], pod["priority"], pod["securityContext"]) == (False, 0, {})
    assert pod["terminationGracePeriodSeconds"] == 30 and pod["enableServiceLinks"] is True


def test_inlined_structs_merge_into_their_parent() -> None:
    volume = field(1, "data") + field(2, field(2, b""))  # Volume{name, VolumeSource{emptyDir}}
    http_get = field(1, "/healthz") + field(2, field(1, 1) + field(3, "http"))
    probe = field(1, field(2, http_get))  # Probe{ProbeHandler{httpGet}}
    container = field(1, "c") + field(10, probe)
    pod_spec = field(1, volume) + field(2, container)
    assert decode_message(pod_spec, "core.PodSpec") == {
        "volumes": [{"name": "data", "emptyDir": {}}],
        "containers": [{"name": "c", "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"}}}]}


def test_quantities_times_and_negative_ints() -> None:
    limits = field(1, field(1, "memory") + field(2, field(1, "64Mi")))
    container = field(1, "c") + field(8, limits)
    assert decode_message(container, "core.Container")["resources"] == {
        "limits": {"memory": "64Mi"}}
    meta = field(8, field(1, 1_700_000_000) + field(2, 5)) + field(10, -1)
    assert decode_message(meta, "meta.ObjectMeta") == {
        "creationTimestamp": "2023-11-14T22:13:20Z", "deletionGracePeriodSeconds": -1}
    event_time = field(10, field(1, 1_700_000_000) + field(2, 123_456_789))
    assert decode_message(event_time, "core.Event")["eventTime"] == "2023-11-14T22:13:20.123456Z"


def test_unknown_field_numbers_are_skipped() -> None:
    body = field(99, "from the future") + field(1, field(1, "x")) + field(98, 7)
    assert decode_object(envelope("v1", "ConfigMap", body), KINDS.message_for) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


def test_repeated_fields_accumulate_unpacked_or_packed() -> None:
    unpacked = field(1, "x") + field(1, "y")  # ExecAction.command
    assert decode_message(unpacked, "core.ExecAction") == {"command": ["x", "y"]}
    packed = field(4, varint(1000) + varint(5))  # PodSecurityContext.supplementalGroups
    assert decode_message(packed, "core.PodSecurityContext") == {
        "supplementalGroups": [1000, 5]}


def test_delete_options_decode_under_any_group_version() -> None:
    body = field(1, 0) + field(4, "Foreground")
    assert decode_object(envelope("apps/v1", "DeleteOptions", body), KINDS.message_for) == {
        "apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
        "propagationPolicy": "Foreground"}


def test_unknown_kind_is_named_in_the_error() -> None:
    with pytest.raises(UnsupportedKindError, match="'Widget'"):
        decode_object(envelope("example.com/v1", "Widget", b""),
                      KINDS.message_for)


@pytest.mark.parametrize("body", [
    b"k8s\x00\x0a\x05\x0a\x02v1",  # truncated typeMeta
    b"not protobuf",
    envelope("v1", "ConfigMap", field(1, 5)),  # metadata as a varint
    envelope("v1", "ConfigMap", field(1, field(1, b"\xff"))),  # name is not UTF-8
    envelope("v1", "ConfigMap", b"\x0b"),  # wire type 3 (groups)
])
def test_malformed_bodies_raise_decode_errors(body: bytes) -> None:
    with pytest.raises(ProtobufDecodeError):
        decode_object(body, KINDS.message_for)


# Over HTTP, with the real kubectl.


async def get_json(kubeconfig: Path, *args: str) -> Any:
    rc, out, err = await kubectl(kubeconfig, "get", *args, "-o", "json")
    assert rc == 0, err
    return json.loads(out)


@needs_kubectl
async def test_kubectl_create_namespace(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "namespace", "team-a")
    assert (rc, out.strip()) == (0, "namespace/team-a created"), err
    assert (await get_json(kubeconfig, "ns", "team-a"))["status"]["phase"] == "Active"


@needs_kubectl
async def test_kubectl_create_deployment_with_command(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "deployment", "web", "--image=busybox",
                                 "--replicas=2", "--", "httpd", "-f", "-p", "8080")
    assert (rc, out.strip()) == (0, "deployment.apps/web created"), err
    deploy = await get_json(kubeconfig, "deploy", "web")
    assert deploy["spec"]["replicas"] == 2
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["httpd", "-f", "-p", "8080"]
    assert container["imagePullPolicy"] == "Always"  # server defaulting still ran


@needs_kubectl
async def test_kubectl_create_configmap(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "configmap", "cfg", "--from-literal=a=1")
    assert (rc, out.strip()) == (0, "configmap/cfg created"), err
    assert (await get_json(kubeconfig, "configmap", "cfg"))["data"] == {"a": "1"}


@needs_kubectl
async def test_kubectl_create_secret_generic(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "secret", "generic", "s",
                                 "--from-literal=p=x")
    assert (rc, out.strip()) == (0, "secret/s created"), err
    secret = await get_json(kubeconfig, "secret", "s")
    assert base64.b64decode(secret["data"]["p"]) == b"x" and secret["type"] == "Opaque"


@needs_kubectl
async def test_kubectl_create_service_clusterip(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "service", "clusterip", "svc",
                                 "--tcp=80:8080")
    assert (rc, out.strip()) == (0, "service/svc created"), err
    spec = (await get_json(kubeconfig, "service", "svc"))["spec"]
    assert (spec["ports"][0]["port"], spec["ports"][0]["targetPort"]) == (80, 8080)
    assert spec["clusterIP"] not in ("", None)


@needs_kubectl
async def test_kubectl_create_job(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "job", "j", "--image=busybox", "--",
                                 "echo", "hi")
    assert (rc, out.strip()) == (0, "job.batch/j created"), err
    pod = (await get_json(kubeconfig, "job", "j"))["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"] == ["echo", "hi"]
    assert pod["restartPolicy"] == "Never"


@needs_kubectl
async def test_kubectl_create_cronjob(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "cronjob", "c", "--image=busybox",
                                 "--schedule=*/5 * * * *", "--", "echo", "hi")
    assert (rc, out.strip()) == (0, "cronjob.batch/c created"), err
    spec = (await get_json(kubeconfig, "cronjob", "c"))["spec"]
    assert spec["schedule"] == "*/5 * * * *"
    job_pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert job_pod["containers"][0]["command"] == ["echo", "hi"]


@needs_kubectl
async def test_kubectl_create_serviceaccount(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "serviceaccount", "sa")
    assert (rc, out.strip()) == (0, "serviceaccount/sa created"), err
    assert (await get_json(kubeconfig, "serviceaccount", "sa"))["metadata"]["name"] == "sa"


async def test_http_protobuf_errors_are_status_objects(server: TestServer) -> None:
    url = f"http://127.0.0.1:{server.port}/api/v1/namespaces/default/configmaps"
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    async with aiohttp.ClientSession() as s:
        policy = envelope("example.com/v1", "Widget", b"")
        async with s.post(url, data=policy, headers=headers) as r:
            body = await r.json()
            assert (r.status, body["reason"]) == (415, "UnsupportedMediaType")
            assert "'Widget'" in body["message"]
        async with s.post(url, data=b"k8s\x00\x0a\xff", headers=headers) as r:
            assert (r.status, (await r.json())["reason"]) == (400, "BadRequest")
        async with s.patch(f"{url}/x", data=envelope("v1", "ConfigMap", b""),
                           headers=headers) as r:
            assert r.status == 415  # patches are never protobuf
