"""Upgrade-aware byte splicing shared by the API server and the kubelet (exec, attach,
port-forward)."""
