"""minikube-py: a Kubernetes cluster in one Python process."""

import os

# Every child we fork (containerd, iptables, ip, ctr) execs at once and never uses gRPC, so
# gRPC's fork handlers only cost time and print a line per fork. Must precede importing grpc.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

__version__ = "0.1.0"
