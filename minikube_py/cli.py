"""The `minikube-py` command line: serve, image load, version."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from minikube_py import __version__
from minikube_py.config import DEFAULT_DATA_DIR, ServeConfig

KUBERNETES_VERSION = "v1.32.0"


def _run(coro: object) -> int:
    import uvloop

    return int(uvloop.run(coro))  # type: ignore[arg-type]


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
def serve(data_dir: Path, api_port: int, api_host: str, containerd_socket: Path | None,
          node_name: str, kubelet_port: int) -> None:
    """Start the cluster and run it until Ctrl-C."""
    from minikube_py.composition import serve as serve_cluster

    config = ServeConfig(
        data_dir=data_dir.expanduser().absolute(), api_host=api_host, api_port=api_port,
        containerd_socket=containerd_socket, node_name=node_name, kubelet_port=kubelet_port,
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
def version() -> None:
    """Print the versions of minikube-py and of the Kubernetes API it serves."""
    click.echo(f"minikube-py {__version__} (Kubernetes API {KUBERNETES_VERSION})")


if __name__ == "__main__":
    main()
