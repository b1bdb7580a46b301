"""The `minikube-py` command line: serve, image load, version."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from minikube_py import __version__
from minikube_py.config import DEFAULT_DATA_DIR, ServeConfig
from minikube_py.controllers.manager import ControllerSettings

KUBERNETES_VERSION = "v1.32.0"
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    import uvloop

    return uvloop.run(coro)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """A Kubernetes cluster in one Python process."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_DATA_DIR,
    show_default=True, help="Where the cluster keeps its state.")


@main.command()
@data_dir_option
@click.option("--api-port", type=click.IntRange(1, 65535), default=6443, show_default=True,
              help="Port of the Kubernetes API.")
@click.option("--api-host", default="127.0.0.1", show_default=True,
              help="Address the API listens on.")
@click.option("--containerd-socket", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Use this running containerd instead of starting one.")
@click.option("--node-name", default="", help="Name of the local node [default: hostname].")
@click.option("--kubelet-port", type=click.IntRange(0, 65535), default=10250,
              show_default=True, help="Port of the kubelet's API (0: any free port).")
@click.option("--pod-cidr", default="10.244.0.0/24", show_default=True,
              help="This node's pod subnet; its first address is the node's address.")
@click.option("--bridge", "bridge_name", default="mkpy0", show_default=True,
              help="Name of the node's pod bridge.")
@click.option("--service-cidr", default="10.96.0.0/12", show_default=True,
              help="Range of Service ClusterIPs; cluster DNS takes its 10th address.")
@click.option("--node-monitor-grace-period", type=click.FloatRange(1, 3600), default=40.0,
              show_default=True,
              help="Seconds without a lease renewal before a node is NotReady.")
@click.option("--simulated-nodes", type=click.IntRange(0, 20000), default=0,
              help="Add N simulated nodes (no containers; tainted, for scale tests).")
def serve(data_dir: Path, api_port: int, api_host: str, containerd_socket: Path | None,
          node_name: str, kubelet_port: int, pod_cidr: str, bridge_name: str,
          service_cidr: str, node_monitor_grace_period: float, simulated_nodes: int) -> None:
    """Start the cluster and run it until Ctrl-C."""
    from minikube_py.composition import serve as serve_cluster

    for flag, cidr in (("--pod-cidr", pod_cidr), ("--service-cidr", service_cidr)):
        try:
            ipaddress.ip_network(cidr)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint=flag) from e
    config = ServeConfig(
        data_dir=data_dir.expanduser().absolute(), api_host=api_host, api_port=api_port,
        containerd_socket=containerd_socket, node_name=node_name, kubelet_port=kubelet_port,
        pod_cidr=pod_cidr, bridge_name=bridge_name, service_cidr=service_cidr,
        simulated_nodes=simulated_nodes,
        controllers=ControllerSettings(node_monitor_grace_period=node_monitor_grace_period),
    )
    sys.exit(_run(serve_cluster(config)))


@main.group()
def image() -> None:
    """Manage the node's images."""


@image.command("load")
@click.argument("archive", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@data_dir_option
@click.option("--containerd-socket", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="containerd to load into [default: the cluster's own].")
def image_load(archive: Path, data_dir: Path, containerd_socket: Path | None) -> None:
    """Import an OCI or docker-archive tarball into the node's containerd."""
    from minikube_py.runtime.containerd import ContainerdConfig
    from minikube_py.runtime.images import ImageImportError, load_image_archive

    socket = containerd_socket or ContainerdConfig(data_dir=data_dir.expanduser()).socket_path
    if not socket.exists():
        raise click.ClickException(
            f"no containerd socket at {socket}: is `minikube-py serve --data-dir {data_dir}` "
            "running?")
    try:
        names = asyncio.run(load_image_archive(socket, archive))
    except ImageImportError as e:
        raise click.ClickException(str(e)) from e
    for name in names:
        click.echo(f"loaded {name}")


@main.command()
@data_dir_option
def delete(data_dir: Path) -> None:
    """Delete a stopped cluster: its containers, its pod bridge and its data dir."""
    from minikube_py.teardown import ClusterRunning, delete_cluster

    data_dir = data_dir.expanduser().absolute()
    if not data_dir.exists():
        raise click.ClickException(f"no cluster in {data_dir}")
    try:
        removed = _run(delete_cluster(data_dir))
    except ClusterRunning as e:
        raise click.ClickException(str(e)) from e
    for what in removed:
        click.echo(f"removed {what}")


@main.command()
def version() -> None:
    """Print the versions of minikube-py and of the Kubernetes API it serves."""
    click.echo(f"minikube-py {__version__} (Kubernetes API {KUBERNETES_VERSION})")


if __name__ == "__main__":
    main()
