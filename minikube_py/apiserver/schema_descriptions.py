"""What `kubectl explain` says about a kind or a field: our own short words, beside the schema tables.

Keys are a message of protobuf_schema ("apps.Deployment") or one of its fields
("apps.DeploymentSpec.strategy"). Only the kinds' top-level fields and the fields people
commonly ask about are written here; every other description is generated from the field's
name and type (openapi.generated_description).
"""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    # Fields every kind shares.
    "*.apiVersion": "The versioned schema of this object (group/version); the server "
                    "converts what it receives into the version it stores.",
    "*.kind": "The REST resource kind of this object, in CamelCase.",
    "*.metadata": "Standard object metadata: name, namespace, labels, annotations, owners.",
    "*.spec": "The desired state of the object, as its users write it.",
    "*.status": "The most recently observed state of the object, written by the system. "
                "Read-only for users.",
    "*List.items": "The objects of the list.",
    "*List.metadata": "Standard list metadata: the list's resourceVersion and continue token.",
    # Workloads.
    "apps.Deployment": "Declarative updates for Pods and ReplicaSets: a Deployment keeps a "
                       "number of replicas of a pod template running and rolls out changes "
                       "to it.",
    "apps.DeploymentSpec.replicas": "How many pods the Deployment should run. Defaults to 1.",
    "apps.DeploymentSpec.selector": "The label selector of the pods this Deployment manages. "
                                    "It must match the template's labels and is immutable.",
    "apps.DeploymentSpec.template": "The pod template the ReplicaSets of this Deployment "
                                    "create pods from.",
    "apps.DeploymentSpec.strategy": "How existing pods are replaced by new ones when the "
                                    "template changes.",
    "apps.DeploymentStrategy.type": "The kind of rollout: \"Recreate\" (stop all old pods "
                                    "first) or \"RollingUpdate\" (the default).",
    "apps.DeploymentStrategy.rollingUpdate": "The rolling update's limits; only with type "
                                             "RollingUpdate.",
    "apps.RollingUpdateDeployment.maxUnavailable": "How many pods (a number or a percentage "
                                                   "of replicas) may be unavailable during "
                                                   "the update. Defaults to 25%.",
    "apps.RollingUpdateDeployment.maxSurge": "How many pods (a number or a percentage of "
                                             "replicas) may be created above replicas during "
                                             "the update. Defaults to 25%.",
    "apps.DeploymentSpec.minReadySeconds": "How long a new pod must be ready, without a "
                                           "container crashing, to count as available.",
    "apps.DeploymentSpec.revisionHistoryLimit": "How many old ReplicaSets to keep for "
                                                "rollback. Defaults to 10.",
    "apps.DeploymentSpec.paused": "A paused Deployment does not roll out template changes.",
    "apps.DeploymentSpec.progressDeadlineSeconds": "How long a rollout may go without "
                                                   "progress before it is reported as "
                                                   "failed. Defaults to 600.",
    "apps.ReplicaSet": "Keeps a given number of pods of one template running.",
    "apps.StatefulSet": "Runs pods with stable identities (ordinal names, their own volume "
                        "claims) in order.",
    "apps.DaemonSet": "Runs one copy of a pod on every node its template may run on.",
    "batch.Job": "Runs pods until a number of them finish successfully.",
    "batch.CronJob": "Creates Jobs on a schedule.",
    "batch.CronJobSpec.schedule": "When to create Jobs, in cron format (minute hour day "
                                  "month weekday).",
    # Pods.
    "core.Pod": "A group of containers that run together on one node, sharing network and "
                "volumes.",
    "core.PodSpec.containers": "The containers of the pod. At least one; each needs a "
                               "unique name. Containers cannot be added or removed once the "
                               "pod exists.",
    "core.PodSpec.initContainers": "Containers run one after another, to completion, "
                                   "before the pod's containers start.",
    "core.PodSpec.volumes": "The volumes the pod's containers can mount.",
    "core.PodSpec.restartPolicy": "When the kubelet restarts the pod's containers: Always "
                                  "(the default), OnFailure or Never.",
    "core.PodSpec.nodeName": "The node the pod runs on; set by the scheduler when empty.",
    "core.PodSpec.nodeSelector": "Labels a node must have for the pod to be scheduled there.",
    "core.PodSpec.serviceAccountName": "The ServiceAccount the pod's processes run as.",
    "core.PodSpec.affinity": "Scheduling constraints relative to nodes and other pods.",
    "core.PodSpec.tolerations": "The taints the pod tolerates.",
    "core.Container.name": "The container's name, a DNS label unique in the pod.",
    "core.Container.image": "The container image to run.",
    "core.Container.command": "The entrypoint, instead of the image's ENTRYPOINT; not run "
                              "in a shell.",
    "core.Container.args": "Arguments to the entrypoint, instead of the image's CMD.",
    "core.Container.env": "Environment variables set in the container.",
    "core.Container.ports": "The ports the container listens on. Informational: a port "
                            "not listed here is reachable too.",
    "core.Container.resources": "Compute resources the container requests and is limited "
                                "to.",
    "core.Container.volumeMounts": "Where the pod's volumes appear in the container's "
                                   "filesystem.",
    "core.Container.livenessProbe": "A container failing this probe is restarted.",
    "core.Container.readinessProbe": "A container failing this probe gets no service "
                                     "traffic.",
    "core.Container.imagePullPolicy": "When to pull the image: Always, Never or "
                                      "IfNotPresent.",
    "core.ContainerPort.containerPort": "The port number on the pod's IP address, "
                                        "1 to 65535.",
    "core.ContainerPort.name": "A name for the port (an IANA_SVC_NAME), unique in the pod, "
                               "that services can refer to.",
    "core.ContainerPort.protocol": "UDP, TCP or SCTP. Defaults to TCP.",
    "core.ContainerPort.hostPort": "The port number to expose on the node, if any.",
    "core.ContainerPort.hostIP": "The node IP address to bind the host port to.",
    # Services.
    "core.Service": "A named, stable address (a virtual IP and a DNS name) for a set of "
                    "pods chosen by a label selector.",
    "core.ServiceSpec.ports": "The ports the service exposes and the pod ports they lead "
                              "to.",
    "core.ServiceSpec.selector": "Pods with these labels receive the service's traffic.",
    "core.ServiceSpec.type": "How the service is exposed: ClusterIP (the default), "
                             "NodePort, LoadBalancer or ExternalName.",
    "core.ServiceSpec.clusterIP": "The service's virtual IP, allocated when empty; "
                                  "\"None\" makes a headless service.",
    "core.ServicePort.port": "The port the service listens on.",
    "core.ServicePort.targetPort": "The pod port (a number or a container port's name) "
                                   "traffic goes to. Defaults to port.",
    "core.ServicePort.nodePort": "The port on every node, for NodePort and LoadBalancer "
                                 "services.",
    "core.ServicePort.protocol": "TCP, UDP or SCTP. Defaults to TCP.",
    "core.ServicePort.name": "The port's name, required when there are several ports.",
    # Everything else kubectl users meet every day.
    "core.ConfigMap": "Configuration data (string or binary values) for pods to consume.",
    "core.Secret": "Sensitive data (base64 in data, plain text in stringData) for pods to "
                   "consume.",
    "core.Namespace": "A scope for names; most objects live in a namespace.",
    "core.Node": "A machine (or, here, a process) that runs pods.",
    "meta.ObjectMeta.name": "The object's name, unique among objects of its kind in its "
                            "namespace.",
    "meta.ObjectMeta.namespace": "The namespace the object lives in.",
    "meta.ObjectMeta.labels": "Key-value pairs used to select and organise objects.",
    "meta.ObjectMeta.annotations": "Key-value pairs for tools and people; not used to "
                                   "select objects.",
    "meta.LabelSelector.matchLabels": "Labels an object must have, each equal to its value.",
    "meta.LabelSelector.matchExpressions": "Requirements on labels (In, NotIn, Exists, "
                                           "DoesNotExist), all of which must hold.",
}
