"""The resource metrics API (metrics.k8s.io/v1beta1) served by the API server itself, as
metrics-server would serve it: NodeMetrics and PodMetrics read from the kubelets."""
