#!/usr/bin/env bash
# Installs what minikube-py needs on a Debian/Ubuntu machine (as root): the container
# runtime and CNI plugins from apt, and the Python package in .venv/.
# Usage: scripts/setup.sh [--test]   (--test adds the test extras)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(containerd runc containernetworking-plugins busybox-static iptables iproute2 procps python3-venv)
# etcdctl, for the tests that drive our etcd API with etcd's own client; etcd itself, for
# the tests that run the API server on an external etcd (they start their own, on free
# loopback ports; on a host with systemd the package also starts a system etcd on 2379);
# chromium, the headless browser the dashboard's tests drive over the DevTools protocol
[[ "${1:-}" == "--test" ]] && packages+=(etcd-client etcd-server chromium)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

extras=""
[[ "${1:-}" == "--test" ]] && extras="[test]"
if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
