"""Message tables for decoding Kubernetes protobuf: field number -> JSON name and type.

Transcribed from k8s.io/api and k8s.io/apimachinery v0.32 (generated.proto for numbers and
types; the Go JSON tags in types.go for inlining, pointers and omitempty). Each message is a
string of "number jsonName type" entries, parsed once at import:

- type is a scalar (string int32 int64 bool bytes double float), a message name (unqualified
  means the same group as the message), or a builtin with its own JSON form (Time MicroTime
  Duration Quantity IntOrString RawExtension FieldsV1 ExtraValue); a "[]" prefix is repeated,
  "map[string]" a map.
- jsonName "*" is an inlined Go struct (`json:",inline"`): its fields merge into the parent.
- "!" after a scalar keeps its zero value: the Go field is a pointer (so `replicas: 0` differs
  from unset) or has no omitempty. Other zero scalars are dropped, as Go's JSON encoder would.

Coverage: every kind the API server serves, Scale, DeleteOptions, Binding and Eviction, and
everything they nest. All groups are at version v1 but autoscaling/v2's (messages
"autoscalingv2.X") and metrics.k8s.io/v1beta1's ("metrics.X"). ExtraValue is authentication's and authorization's map value (a message
of repeated strings whose JSON form is the bare list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SCALARS = frozenset({"string", "int32", "int64", "bool", "bytes", "double", "float"})
BUILTINS = frozenset({"Time", "MicroTime", "Duration", "Quantity", "IntOrString",
                      "RawExtension", "FieldsV1", "ExtraValue"})

_MESSAGES: dict[str, str] = {
    # k8s.io/metrics' v1beta1 (the resource metrics API; served, never decoded from a body).
    "metrics.NodeMetrics":
        "1 metadata meta.ObjectMeta, 2 timestamp Time, 3 window Duration, "
        "4 usage map[string]Quantity",
    "metrics.PodMetrics":
        "1 metadata meta.ObjectMeta, 2 timestamp Time, 3 window Duration, "
        "4 containers []ContainerMetrics",
    "metrics.ContainerMetrics": "1 name string, 2 usage map[string]Quantity",
    "apiregistration.APIService":
        "1 metadata meta.ObjectMeta, 2 spec APIServiceSpec, 3 status APIServiceStatus",
    "apiregistration.APIServiceCondition":
        "1 type string!, 2 status string!, 3 lastTransitionTime Time, 4 reason string, "
        "5 message string",
    "apiregistration.APIServiceSpec":
        "1 service ServiceReference, 2 group string, 3 version string, "
        "4 insecureSkipTLSVerify bool, 5 caBundle bytes, 7 groupPriorityMinimum int32!, "
        "8 versionPriority int32!",
    "apiregistration.APIServiceStatus": "1 conditions []APIServiceCondition",
    "apiregistration.ServiceReference": "1 namespace string, 2 name string, 3 port int32!",
    "apiextensions.CustomResourceColumnDefinition":
        "1 name string!, 2 type string!, 3 format string, 4 description string, "
        "5 priority int32, 6 jsonPath string!",
    "apiextensions.CustomResourceConversion":
        "1 strategy string!, 2 webhook WebhookConversion",
    "apiextensions.CustomResourceDefinition":
        "1 metadata meta.ObjectMeta, 2 spec CustomResourceDefinitionSpec, "
        "3 status CustomResourceDefinitionStatus",
    "apiextensions.CustomResourceDefinitionCondition":
        "1 type string!, 2 status string!, 3 lastTransitionTime Time, 4 reason string, "
        "5 message string",
    "apiextensions.CustomResourceDefinitionNames":
        "1 plural string!, 2 singular string, 3 shortNames []string, 4 kind string!, "
        "5 listKind string, 6 categories []string",
    "apiextensions.CustomResourceDefinitionSpec":
        "1 group string!, 3 names CustomResourceDefinitionNames, 4 scope string!, "
        "7 versions []CustomResourceDefinitionVersion, 9 conversion CustomResourceConversion, "
        "10 preserveUnknownFields bool",
    "apiextensions.CustomResourceDefinitionStatus":
        "1 conditions []CustomResourceDefinitionCondition, "
        "2 acceptedNames CustomResourceDefinitionNames, 3 storedVersions []string",
    "apiextensions.CustomResourceDefinitionVersion":
        "1 name string!, 2 served bool!, 3 storage bool!, 7 deprecated bool, "
        "8 deprecationWarning string!, 4 schema CustomResourceValidation, "
        "5 subresources CustomResourceSubresources, "
        "6 additionalPrinterColumns []CustomResourceColumnDefinition, "
        "9 selectableFields []SelectableField",
    "apiextensions.CustomResourceSubresourceScale":
        "1 specReplicasPath string!, 2 statusReplicasPath string!, 3 labelSelectorPath string!",
    "apiextensions.CustomResourceSubresources":
        "1 status RawExtension, 2 scale CustomResourceSubresourceScale",
    "apiextensions.CustomResourceValidation": "1 openAPIV3Schema JSONSchemaProps",
    "apiextensions.ExternalDocumentation": "1 description string, 2 url string",
    # JSON, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool and JSONSchemaPropsOrStringArray
    # have JSON forms of their own (any value, a schema or a list, a schema or a bool):
    # typed here as free-form values, checked by the CRD's structural validation.
    "apiextensions.JSONSchemaProps":
        "1 id string, 2 $schema string, 3 $ref string, 4 description string, 5 type string, "
        "6 format string, 7 title string, 8 default RawExtension, 9 maximum double!, "
        "10 exclusiveMaximum bool, 11 minimum double!, 12 exclusiveMinimum bool, "
        "13 maxLength int64!, 14 minLength int64!, 15 pattern string, 16 maxItems int64!, "
        "17 minItems int64!, 18 uniqueItems bool, 19 multipleOf double!, "
        "20 enum []RawExtension, 21 maxProperties int64!, 22 minProperties int64!, "
        "23 required []string, 24 items RawExtension, 25 allOf []JSONSchemaProps, "
        "26 oneOf []JSONSchemaProps, 27 anyOf []JSONSchemaProps, 28 not JSONSchemaProps, "
        "29 properties map[string]JSONSchemaProps, 30 additionalProperties RawExtension, "
        "31 patternProperties map[string]JSONSchemaProps, 32 dependencies map[string]RawExtension, "
        "33 additionalItems RawExtension, 34 definitions map[string]JSONSchemaProps, "
        "35 externalDocs ExternalDocumentation, 36 example RawExtension, 37 nullable bool, "
        "38 x-kubernetes-preserve-unknown-fields bool!, "
        "39 x-kubernetes-embedded-resource bool, 40 x-kubernetes-int-or-string bool, "
        "41 x-kubernetes-list-map-keys []string, 42 x-kubernetes-list-type string!, "
        "43 x-kubernetes-map-type string!, 44 x-kubernetes-validations []ValidationRule",
    "apiextensions.SelectableField": "1 jsonPath string!",
    "apiextensions.ServiceReference":
        "1 namespace string!, 2 name string!, 3 path string, 4 port int32!",
    "apiextensions.ValidationRule":
        "1 rule string!, 2 message string, 3 messageExpression string, 4 reason string!, "
        "5 fieldPath string, 6 optionalOldSelf bool!",
    "apiextensions.WebhookClientConfig":
        "3 url string!, 1 service ServiceReference, 2 caBundle bytes",
    "apiextensions.WebhookConversion":
        "2 clientConfig WebhookClientConfig, 3 conversionReviewVersions []string",
    "apps.ControllerRevision":
        "1 metadata meta.ObjectMeta, 2 data RawExtension, 3 revision int64!",
    "apps.DaemonSet":
        "1 metadata meta.ObjectMeta, 2 spec DaemonSetSpec, 3 status DaemonSetStatus",
    "apps.DaemonSetCondition":
        "1 type string!, 2 status string!, 3 lastTransitionTime Time, 4 reason string, "
        "5 message string",
    "apps.DaemonSetSpec":
        "1 selector meta.LabelSelector, 2 template core.PodTemplateSpec, "
        "3 updateStrategy DaemonSetUpdateStrategy, 4 minReadySeconds int32, "
        "6 revisionHistoryLimit int32!",
    "apps.DaemonSetStatus":
        "1 currentNumberScheduled int32!, 2 numberMisscheduled int32!, "
        "3 desiredNumberScheduled int32!, 4 numberReady int32!, 5 observedGeneration int64, "
        "6 updatedNumberScheduled int32, 7 numberAvailable int32, 8 numberUnavailable int32, "
        "9 collisionCount int32!, 10 conditions []DaemonSetCondition",
    "apps.DaemonSetUpdateStrategy": "1 type string, 2 rollingUpdate RollingUpdateDaemonSet",
    "apps.Deployment":
        "1 metadata meta.ObjectMeta, 2 spec DeploymentSpec, 3 status DeploymentStatus",
    "apps.DeploymentCondition":
        "1 type string!, 2 status string!, 4 reason string, 5 message string, "
        "6 lastUpdateTime Time, 7 lastTransitionTime Time",
    "apps.DeploymentSpec":
        "1 replicas int32!, 2 selector meta.LabelSelector, 3 template core.PodTemplateSpec, "
        "4 strategy DeploymentStrategy, 5 minReadySeconds int32, 6 revisionHistoryLimit int32!, "
        "7 paused bool, 9 progressDeadlineSeconds int32!",
    "apps.DeploymentStatus":
        "1 observedGeneration int64, 2 replicas int32, 3 updatedReplicas int32, "
        "4 availableReplicas int32, 5 unavailableReplicas int32, "
        "6 conditions []DeploymentCondition, 7 readyReplicas int32, 8 collisionCount int32!",
    "apps.DeploymentStrategy": "1 type string, 2 rollingUpdate RollingUpdateDeployment",
    "apps.ReplicaSet":
        "1 metadata meta.ObjectMeta, 2 spec ReplicaSetSpec, 3 status ReplicaSetStatus",
    "apps.ReplicaSetCondition":
        "1 type string!, 2 status string!, 3 lastTransitionTime Time, 4 reason string, "
        "5 message string",
    "apps.ReplicaSetSpec":
        "1 replicas int32!, 2 selector meta.LabelSelector, 3 template core.PodTemplateSpec, "
        "4 minReadySeconds int32",
    "apps.ReplicaSetStatus":
        "1 replicas int32!, 2 fullyLabeledReplicas int32, 3 observedGeneration int64, "
        "4 readyReplicas int32, 5 availableReplicas int32, 6 conditions []ReplicaSetCondition",
    "apps.RollingUpdateDaemonSet": "1 maxUnavailable IntOrString, 2 maxSurge IntOrString",
    "apps.RollingUpdateDeployment": "1 maxUnavailable IntOrString, 2 maxSurge IntOrString",
    "apps.RollingUpdateStatefulSetStrategy": "1 partition int32!, 2 maxUnavailable IntOrString",
    "apps.StatefulSet":
        "1 metadata meta.ObjectMeta, 2 spec StatefulSetSpec, 3 status StatefulSetStatus",
    "apps.StatefulSetCondition":
        "1 type string!, 2 status string!, 3 lastTransitionTime Time, 4 reason string, "
        "5 message string",
    "apps.StatefulSetOrdinals": "1 start int32!",
    "apps.StatefulSetPersistentVolumeClaimRetentionPolicy":
        "1 whenDeleted string, 2 whenScaled string",
    "apps.StatefulSetSpec":
        "1 replicas int32!, 2 selector meta.LabelSelector, 3 template core.PodTemplateSpec, "
        "4 volumeClaimTemplates []core.PersistentVolumeClaim, 5 serviceName string!, "
        "6 podManagementPolicy string, 7 updateStrategy StatefulSetUpdateStrategy, "
        "8 revisionHistoryLimit int32!, 9 minReadySeconds int32, "
        "10 persistentVolumeClaimRetentionPolicy StatefulSetPersistentVolumeClaimRetentionPolicy, "
        "11 ordinals StatefulSetOrdinals",
    "apps.StatefulSetStatus":
        "1 observedGeneration int64, 2 replicas int32!, 3 readyReplicas int32, "
        "4 currentReplicas int32, 5 updatedReplicas int32, 6 currentRevision string, "
        "7 updateRevision string, 9 collisionCount int32!, 10 conditions []StatefulSetCondition, "
        "11 availableReplicas int32!",
    "apps.StatefulSetUpdateStrategy":
        "1 type string, 2 rollingUpdate RollingUpdateStatefulSetStrategy",
    "authentication.SelfSubjectReview":
        "1 metadata meta.ObjectMeta, 2 status SelfSubjectReviewStatus",
    "authentication.SelfSubjectReviewStatus": "1 userInfo UserInfo",
    "authentication.TokenReview":
        "1 metadata meta.ObjectMeta, 2 spec TokenReviewSpec, 3 status TokenReviewStatus",
    "authentication.TokenReviewSpec": "1 token string, 2 audiences []string",
    "authentication.TokenReviewStatus":
        "1 authenticated bool, 2 user UserInfo, 3 error string, 4 audiences []string",
    "authentication.UserInfo":
        "1 username string, 2 uid string, 3 groups []string, 4 extra map[string]ExtraValue",
    "authorization.FieldSelectorAttributes":
        "1 rawSelector string, 2 requirements []meta.FieldSelectorRequirement",
    "authorization.LabelSelectorAttributes":
        "1 rawSelector string, 2 requirements []meta.LabelSelectorRequirement",
    "authorization.LocalSubjectAccessReview":
        "1 metadata meta.ObjectMeta, 2 spec SubjectAccessReviewSpec, "
        "3 status SubjectAccessReviewStatus",
    "authorization.NonResourceAttributes": "1 path string, 2 verb string",
    "authorization.NonResourceRule": "1 verbs []string, 2 nonResourceURLs []string",
    "authorization.ResourceAttributes":
        "1 namespace string, 2 verb string, 3 group string, 4 version string, "
        "5 resource string, 6 subresource string, 7 name string, "
        "8 fieldSelector FieldSelectorAttributes, 9 labelSelector LabelSelectorAttributes",
    "authorization.ResourceRule":
        "1 verbs []string, 2 apiGroups []string, 3 resources []string, "
        "4 resourceNames []string",
    "authorization.SelfSubjectAccessReview":
        "1 metadata meta.ObjectMeta, 2 spec SelfSubjectAccessReviewSpec, "
        "3 status SubjectAccessReviewStatus",
    "authorization.SelfSubjectAccessReviewSpec":
        "1 resourceAttributes ResourceAttributes, 2 nonResourceAttributes NonResourceAttributes",
    "authorization.SelfSubjectRulesReview":
        "1 metadata meta.ObjectMeta, 2 spec SelfSubjectRulesReviewSpec, "
        "3 status SubjectRulesReviewStatus",
    "authorization.SelfSubjectRulesReviewSpec": "1 namespace string",
    "authorization.SubjectAccessReview":
        "1 metadata meta.ObjectMeta, 2 spec SubjectAccessReviewSpec, "
        "3 status SubjectAccessReviewStatus",
    "authorization.SubjectAccessReviewSpec":
        "1 resourceAttributes ResourceAttributes, 2 nonResourceAttributes NonResourceAttributes, "
        "3 user string, 4 groups []string, 5 extra map[string]ExtraValue, 6 uid string",
    "authorization.SubjectAccessReviewStatus":
        "1 allowed bool!, 2 reason string, 3 evaluationError string, 4 denied bool",
    "authorization.SubjectRulesReviewStatus":
        "1 resourceRules []ResourceRule, 2 nonResourceRules []NonResourceRule, "
        "3 incomplete bool!, 4 evaluationError string",
    "autoscalingv2.ContainerResourceMetricSource":
        "1 name string!, 2 target MetricTarget, 3 container string!",
    "autoscalingv2.ContainerResourceMetricStatus":
        "1 name string!, 2 current MetricValueStatus, 3 container string!",
    "autoscalingv2.CrossVersionObjectReference":
        "1 kind string!, 2 name string!, 3 apiVersion string",
    "autoscalingv2.ExternalMetricSource": "1 metric MetricIdentifier, 2 target MetricTarget",
    "autoscalingv2.ExternalMetricStatus":
        "1 metric MetricIdentifier, 2 current MetricValueStatus",
    "autoscalingv2.HPAScalingPolicy": "1 type string!, 2 value int32!, 3 periodSeconds int32!",
    "autoscalingv2.HPAScalingRules":
        "1 selectPolicy string!, 2 policies []HPAScalingPolicy, "
        "3 stabilizationWindowSeconds int32!",
    "autoscalingv2.HorizontalPodAutoscaler":
        "1 metadata meta.ObjectMeta, 2 spec HorizontalPodAutoscalerSpec, "
        "3 status HorizontalPodAutoscalerStatus",
    "autoscalingv2.HorizontalPodAutoscalerBehavior":
        "1 scaleUp HPAScalingRules, 2 scaleDown HPAScalingRules",
    "autoscalingv2.HorizontalPodAutoscalerCondition":
        "1 type string!, 2 status string!, 3 lastTransitionTime Time, 4 reason string, "
        "5 message string",
    "autoscalingv2.HorizontalPodAutoscalerSpec":
        "1 scaleTargetRef CrossVersionObjectReference, 2 minReplicas int32!, "
        "3 maxReplicas int32!, 4 metrics []MetricSpec, 5 behavior HorizontalPodAutoscalerBehavior",
    "autoscalingv2.HorizontalPodAutoscalerStatus":
        "1 observedGeneration int64!, 2 lastScaleTime Time, 3 currentReplicas int32, "
        "4 desiredReplicas int32!, 5 currentMetrics []MetricStatus, "
        "6 conditions []HorizontalPodAutoscalerCondition",
    "autoscalingv2.MetricIdentifier": "1 name string!, 2 selector meta.LabelSelector",
    "autoscalingv2.MetricSpec":
        "1 type string!, 2 object ObjectMetricSource, 3 pods PodsMetricSource, "
        "4 resource ResourceMetricSource, 5 external ExternalMetricSource, "
        "7 containerResource ContainerResourceMetricSource",
    "autoscalingv2.MetricStatus":
        "1 type string!, 2 object ObjectMetricStatus, 3 pods PodsMetricStatus, "
        "4 resource ResourceMetricStatus, 5 external ExternalMetricStatus, "
        "7 containerResource ContainerResourceMetricStatus",
    "autoscalingv2.MetricTarget":
        "1 type string!, 2 value Quantity, 3 averageValue Quantity, 4 averageUtilization int32!",
    "autoscalingv2.MetricValueStatus":
        "1 value Quantity, 2 averageValue Quantity, 3 averageUtilization int32!",
    "autoscalingv2.ObjectMetricSource":
        "1 describedObject CrossVersionObjectReference, 2 target MetricTarget, "
        "3 metric MetricIdentifier",
    "autoscalingv2.ObjectMetricStatus":
        "1 metric MetricIdentifier, 2 current MetricValueStatus, "
        "3 describedObject CrossVersionObjectReference",
    "autoscalingv2.PodsMetricSource": "1 metric MetricIdentifier, 2 target MetricTarget",
    "autoscalingv2.PodsMetricStatus": "1 metric MetricIdentifier, 2 current MetricValueStatus",
    "autoscalingv2.ResourceMetricSource": "1 name string!, 2 target MetricTarget",
    "autoscalingv2.ResourceMetricStatus": "1 name string!, 2 current MetricValueStatus",
    "autoscaling.CrossVersionObjectReference":
        "1 kind string!, 2 name string!, 3 apiVersion string",
    "autoscaling.HorizontalPodAutoscaler":
        "1 metadata meta.ObjectMeta, 2 spec HorizontalPodAutoscalerSpec, "
        "3 status HorizontalPodAutoscalerStatus",
    "autoscaling.HorizontalPodAutoscalerSpec":
        "1 scaleTargetRef CrossVersionObjectReference, 2 minReplicas int32!, "
        "3 maxReplicas int32!, 4 targetCPUUtilizationPercentage int32!",
    "autoscaling.HorizontalPodAutoscalerStatus":
        "1 observedGeneration int64!, 2 lastScaleTime Time, 3 currentReplicas int32!, "
        "4 desiredReplicas int32!, 5 currentCPUUtilizationPercentage int32!",
    "autoscaling.Scale": "1 metadata meta.ObjectMeta, 2 spec ScaleSpec, 3 status ScaleStatus",
    "autoscaling.ScaleSpec": "1 replicas int32",
    "autoscaling.ScaleStatus": "1 replicas int32!, 2 selector string",
    "batch.CronJob": "1 metadata meta.ObjectMeta, 2 spec CronJobSpec, 3 status CronJobStatus",
    "batch.CronJobSpec":
        "1 schedule string!, 2 startingDeadlineSeconds int64!, 3 concurrencyPolicy string, "
        "4 suspend bool!, 5 jobTemplate JobTemplateSpec, 6 successfulJobsHistoryLimit int32!, "
        "7 failedJobsHistoryLimit int32!, 8 timeZone string!",
    "batch.CronJobStatus":
        "1 active []core.ObjectReference, 4 lastScheduleTime Time, 5 lastSuccessfulTime Time",
    "batch.Job": "1 metadata meta.ObjectMeta, 2 spec JobSpec, 3 status JobStatus",
    "batch.JobCondition":
        "1 type string!, 2 status string!, 3 lastProbeTime Time, 4 lastTransitionTime Time, "
        "5 reason string, 6 message string",
    "batch.JobSpec":
        "1 parallelism int32!, 2 completions int32!, 3 activeDeadlineSeconds int64!, "
        "4 selector meta.LabelSelector, 5 manualSelector bool!, 6 template core.PodTemplateSpec, "
        "7 backoffLimit int32!, 8 ttlSecondsAfterFinished int32!, 9 completionMode string!, "
        "10 suspend bool!, 11 podFailurePolicy PodFailurePolicy, 12 backoffLimitPerIndex int32!, "
        "13 maxFailedIndexes int32!, 14 podReplacementPolicy string!, 15 managedBy string!, "
        "16 successPolicy SuccessPolicy",
    "batch.JobStatus":
        "1 conditions []JobCondition, 2 startTime Time, 3 completionTime Time, 4 active int32, "
        "5 succeeded int32, 6 failed int32, 7 completedIndexes string, "
        "8 uncountedTerminatedPods UncountedTerminatedPods, 9 ready int32!, "
        "10 failedIndexes string!, 11 terminating int32!",
    "batch.JobTemplateSpec": "1 metadata meta.ObjectMeta, 2 spec JobSpec",
    "batch.PodFailurePolicy": "1 rules []PodFailurePolicyRule",
    "batch.PodFailurePolicyOnExitCodesRequirement":
        "1 containerName string!, 2 operator string!, 3 values []int32",
    "batch.PodFailurePolicyOnPodConditionsPattern": "1 type string!, 2 status string!",
    "batch.PodFailurePolicyRule":
        "1 action string!, 2 onExitCodes PodFailurePolicyOnExitCodesRequirement, "
        "3 onPodConditions []PodFailurePolicyOnPodConditionsPattern",
    "batch.SuccessPolicy": "1 rules []SuccessPolicyRule",
    "batch.SuccessPolicyRule": "1 succeededIndexes string!, 2 succeededCount int32!",
    "batch.UncountedTerminatedPods": "1 succeeded []string, 2 failed []string",
    "authentication.BoundObjectReference":
        "1 kind string, 2 apiVersion string, 3 name string, 4 uid string",
    "authentication.TokenRequest":
        "1 metadata meta.ObjectMeta, 2 spec TokenRequestSpec, 3 status TokenRequestStatus",
    "authentication.TokenRequestSpec":
        "1 audiences []string, 4 expirationSeconds int64!, 3 boundObjectRef BoundObjectReference",
    "authentication.TokenRequestStatus": "1 token string!, 2 expirationTimestamp Time",
    "certificates.CertificateSigningRequest":
        "1 metadata meta.ObjectMeta, 2 spec CertificateSigningRequestSpec, "
        "3 status CertificateSigningRequestStatus",
    "certificates.CertificateSigningRequestCondition":
        "1 type string!, 6 status string!, 2 reason string, 3 message string, "
        "5 lastUpdateTime Time, 4 lastTransitionTime Time",
    "certificates.CertificateSigningRequestSpec":
        "1 request bytes!, 7 signerName string!, 8 expirationSeconds int32!, "
        "5 usages []string, 2 username string, 3 uid string, 4 groups []string, "
        "6 extra map[string]ExtraValue",
    "certificates.CertificateSigningRequestStatus":
        "1 conditions []CertificateSigningRequestCondition, 2 certificate bytes",
    "coordination.Lease": "1 metadata meta.ObjectMeta, 2 spec LeaseSpec",
    "coordination.LeaseSpec":
        "1 holderIdentity string!, 2 leaseDurationSeconds int32!, 3 acquireTime MicroTime, "
        "4 renewTime MicroTime, 5 leaseTransitions int32!, 6 strategy string!, "
        "7 preferredHolder string!",
    "core.AWSElasticBlockStoreVolumeSource":
        "1 volumeID string!, 2 fsType string, 3 partition int32, 4 readOnly bool",
    "core.Affinity":
        "1 nodeAffinity NodeAffinity, 2 podAffinity PodAffinity, "
        "3 podAntiAffinity PodAntiAffinity",
    "core.AppArmorProfile": "1 type string!, 2 localhostProfile string!",
    "core.AttachedVolume": "1 name string!, 2 devicePath string!",
    "core.AzureDiskVolumeSource":
        "1 diskName string!, 2 diskURI string!, 3 cachingMode string!, 4 fsType string!, "
        "5 readOnly bool!, 6 kind string!",
    "core.AzureFileVolumeSource": "1 secretName string!, 2 shareName string!, 3 readOnly bool",
    "core.Binding": "1 metadata meta.ObjectMeta, 2 target ObjectReference",
    "core.CSIVolumeSource":
        "1 driver string!, 2 readOnly bool!, 3 fsType string!, "
        "4 volumeAttributes map[string]string, 5 nodePublishSecretRef LocalObjectReference",
    "core.Capabilities": "1 add []string, 2 drop []string",
    "core.CephFSVolumeSource":
        "1 monitors []string, 2 path string, 3 user string, 4 secretFile string, "
        "5 secretRef LocalObjectReference, 6 readOnly bool",
    "core.CinderVolumeSource":
        "1 volumeID string!, 2 fsType string, 3 readOnly bool, 4 secretRef LocalObjectReference",
    "core.ClientIPConfig": "1 timeoutSeconds int32!",
    "core.ClusterTrustBundleProjection":
        "1 name string!, 2 signerName string!, 3 labelSelector meta.LabelSelector, "
        "4 path string!, 5 optional bool!",
    "core.ConfigMap":
        "1 metadata meta.ObjectMeta, 2 data map[string]string, 3 binaryData map[string]bytes, "
        "4 immutable bool!",
    "core.ConfigMapEnvSource": "1 * LocalObjectReference, 2 optional bool!",
    "core.ConfigMapKeySelector": "1 * LocalObjectReference, 2 key string!, 3 optional bool!",
    "core.ConfigMapNodeConfigSource":
        "1 namespace string!, 2 name string!, 3 uid string, 4 resourceVersion string, "
        "5 kubeletConfigKey string!",
    "core.ConfigMapProjection": "1 * LocalObjectReference, 2 items []KeyToPath, 4 optional bool!",
    "core.ConfigMapVolumeSource":
        "1 * LocalObjectReference, 2 items []KeyToPath, 3 defaultMode int32!, 4 optional bool!",
    "core.Container":
        "1 name string!, 2 image string, 3 command []string, 4 args []string, "
        "5 workingDir string, 6 ports []ContainerPort, 7 env []EnvVar, "
        "8 resources ResourceRequirements, 9 volumeMounts []VolumeMount, 10 livenessProbe Probe, "
        "11 readinessProbe Probe, 12 lifecycle Lifecycle, 13 terminationMessagePath string, "
        "14 imagePullPolicy string, 15 securityContext SecurityContext, 16 stdin bool, "
        "17 stdinOnce bool, 18 tty bool, 19 envFrom []EnvFromSource, "
        "20 terminationMessagePolicy string, 21 volumeDevices []VolumeDevice, "
        "22 startupProbe Probe, 23 resizePolicy []ContainerResizePolicy, "
        "24 restartPolicy string!",
    "core.ContainerImage": "1 names []string, 2 sizeBytes int64",
    "core.ContainerPort":
        "1 name string, 2 hostPort int32, 3 containerPort int32!, 4 protocol string, "
        "5 hostIP string",
    "core.ContainerResizePolicy": "1 resourceName string!, 2 restartPolicy string!",
    "core.ContainerState":
        "1 waiting ContainerStateWaiting, 2 running ContainerStateRunning, "
        "3 terminated ContainerStateTerminated",
    "core.ContainerStateRunning": "1 startedAt Time",
    "core.ContainerStateTerminated":
        "1 exitCode int32!, 2 signal int32, 3 reason string, 4 message string, 5 startedAt Time, "
        "6 finishedAt Time, 7 containerID string",
    "core.ContainerStateWaiting": "1 reason string, 2 message string",
    "core.ContainerStatus":
        "1 name string!, 2 state ContainerState, 3 lastState ContainerState, 4 ready bool!, "
        "5 restartCount int32!, 6 image string!, 7 imageID string!, 8 containerID string, "
        "9 started bool!, 10 allocatedResources map[string]Quantity, "
        "11 resources ResourceRequirements, 12 volumeMounts []VolumeMountStatus, "
        "13 user ContainerUser, 14 allocatedResourcesStatus []ResourceStatus",
    "core.ContainerUser": "1 linux LinuxContainerUser",
    "core.DaemonEndpoint": "1 Port int32!",
    "core.DownwardAPIProjection": "1 items []DownwardAPIVolumeFile",
    "core.DownwardAPIVolumeFile":
        "1 path string!, 2 fieldRef ObjectFieldSelector, "
        "3 resourceFieldRef ResourceFieldSelector, 4 mode int32!",
    "core.DownwardAPIVolumeSource": "1 items []DownwardAPIVolumeFile, 2 defaultMode int32!",
    "core.EmptyDirVolumeSource": "1 medium string, 2 sizeLimit Quantity",
    "core.EndpointAddress":
        "1 ip string!, 2 targetRef ObjectReference, 3 hostname string, 4 nodeName string!",
    "core.EndpointPort": "1 name string, 2 port int32!, 3 protocol string, 4 appProtocol string!",
    "core.EndpointSubset":
        "1 addresses []EndpointAddress, 2 notReadyAddresses []EndpointAddress, "
        "3 ports []EndpointPort",
    "core.Endpoints": "1 metadata meta.ObjectMeta, 2 subsets []EndpointSubset",
    "core.EnvFromSource":
        "1 prefix string, 2 configMapRef ConfigMapEnvSource, 3 secretRef SecretEnvSource",
    "core.EnvVar": "1 name string!, 2 value string, 3 valueFrom EnvVarSource",
    "core.EnvVarSource":
        "1 fieldRef ObjectFieldSelector, 2 resourceFieldRef ResourceFieldSelector, "
        "3 configMapKeyRef ConfigMapKeySelector, 4 secretKeyRef SecretKeySelector",
    "core.EphemeralContainer": "1 * EphemeralContainerCommon, 2 targetContainerName string",
    "core.EphemeralContainerCommon":
        "1 name string!, 2 image string, 3 command []string, 4 args []string, "
        "5 workingDir string, 6 ports []ContainerPort, 7 env []EnvVar, "
        "8 resources ResourceRequirements, 9 volumeMounts []VolumeMount, 10 livenessProbe Probe, "
        "11 readinessProbe Probe, 12 lifecycle Lifecycle, 13 terminationMessagePath string, "
        "14 imagePullPolicy string, 15 securityContext SecurityContext, 16 stdin bool, "
        "17 stdinOnce bool, 18 tty bool, 19 envFrom []EnvFromSource, "
        "20 terminationMessagePolicy string, 21 volumeDevices []VolumeDevice, "
        "22 startupProbe Probe, 23 resizePolicy []ContainerResizePolicy, "
        "24 restartPolicy string!",
    "core.EphemeralVolumeSource": "1 volumeClaimTemplate PersistentVolumeClaimTemplate",
    "core.Event":
        "1 metadata meta.ObjectMeta, 2 involvedObject ObjectReference, 3 reason string, "
        "4 message string, 5 source EventSource, 6 firstTimestamp Time, 7 lastTimestamp Time, "
        "8 count int32, 9 type string, 10 eventTime MicroTime, 11 series EventSeries, "
        "12 action string, 13 related ObjectReference, 14 reportingComponent string!, "
        "15 reportingInstance string!",
    "core.EventSeries": "1 count int32, 2 lastObservedTime MicroTime",
    "core.EventSource": "1 component string, 2 host string",
    "core.ExecAction": "1 command []string",
    "core.FCVolumeSource":
        "1 targetWWNs []string, 2 lun int32!, 3 fsType string, 4 readOnly bool, "
        "5 wwids []string",
    "core.FlexVolumeSource":
        "1 driver string!, 2 fsType string, 3 secretRef LocalObjectReference, 4 readOnly bool, "
        "5 options map[string]string",
    "core.FlockerVolumeSource": "1 datasetName string, 2 datasetUUID string",
    "core.GCEPersistentDiskVolumeSource":
        "1 pdName string!, 2 fsType string, 3 partition int32, 4 readOnly bool",
    "core.GRPCAction": "1 port int32!, 2 service string!",
    "core.GitRepoVolumeSource": "1 repository string!, 2 revision string, 3 directory string",
    "core.GlusterfsVolumeSource": "1 endpoints string!, 2 path string!, 3 readOnly bool",
    "core.HTTPGetAction":
        "1 path string, 2 port IntOrString, 3 host string, 4 scheme string, "
        "5 httpHeaders []HTTPHeader",
    "core.HTTPHeader": "1 name string!, 2 value string!",
    "core.HostAlias": "1 ip string!, 2 hostnames []string",
    "core.HostIP": "1 ip string!",
    "core.HostPathVolumeSource": "1 path string!, 2 type string!",
    "core.ISCSIVolumeSource":
        "1 targetPortal string!, 2 iqn string!, 3 lun int32!, 4 iscsiInterface string, "
        "5 fsType string, 6 readOnly bool, 7 portals []string, 8 chapAuthDiscovery bool, "
        "10 secretRef LocalObjectReference, 11 chapAuthSession bool, 12 initiatorName string!",
    "core.ImageVolumeSource": "1 reference string, 2 pullPolicy string",
    "core.KeyToPath": "1 key string!, 2 path string!, 3 mode int32!",
    "core.Lifecycle": "1 postStart LifecycleHandler, 2 preStop LifecycleHandler",
    "core.LifecycleHandler":
        "1 exec ExecAction, 2 httpGet HTTPGetAction, 3 tcpSocket TCPSocketAction, "
        "4 sleep SleepAction",
    "core.LinuxContainerUser": "1 uid int64!, 2 gid int64!, 3 supplementalGroups []int64",
    "core.LoadBalancerIngress":
        "1 ip string, 2 hostname string, 3 ipMode string!, 4 ports []PortStatus",
    "core.LoadBalancerStatus": "1 ingress []LoadBalancerIngress",
    "core.LocalObjectReference": "1 name string",
    "core.ModifyVolumeStatus": "1 targetVolumeAttributesClassName string, 2 status string!",
    "core.NFSVolumeSource": "1 server string!, 2 path string!, 3 readOnly bool",
    "core.Namespace":
        "1 metadata meta.ObjectMeta, 2 spec NamespaceSpec, 3 status NamespaceStatus",
    "core.NamespaceCondition":
        "1 type string!, 2 status string!, 4 lastTransitionTime Time, 5 reason string, "
        "6 message string",
    "core.NamespaceSpec": "1 finalizers []string",
    "core.NamespaceStatus": "1 phase string, 2 conditions []NamespaceCondition",
    "core.Node": "1 metadata meta.ObjectMeta, 2 spec NodeSpec, 3 status NodeStatus",
    "core.NodeAddress": "1 type string!, 2 address string!",
    "core.NodeAffinity":
        "1 requiredDuringSchedulingIgnoredDuringExecution NodeSelector, "
        "2 preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm",
    "core.NodeCondition":
        "1 type string!, 2 status string!, 3 lastHeartbeatTime Time, 4 lastTransitionTime Time, "
        "5 reason string, 6 message string",
    "core.NodeConfigSource": "2 configMap ConfigMapNodeConfigSource",
    "core.NodeConfigStatus":
        "1 assigned NodeConfigSource, 2 active NodeConfigSource, "
        "3 lastKnownGood NodeConfigSource, 4 error string",
    "core.NodeDaemonEndpoints": "1 kubeletEndpoint DaemonEndpoint",
    "core.NodeFeatures": "1 supplementalGroupsPolicy bool!",
    "core.NodeRuntimeHandler": "1 name string!, 2 features NodeRuntimeHandlerFeatures",
    "core.NodeRuntimeHandlerFeatures": "1 recursiveReadOnlyMounts bool!, 2 userNamespaces bool!",
    "core.NodeSelector": "1 nodeSelectorTerms []NodeSelectorTerm",
    "core.NodeSelectorRequirement": "1 key string!, 2 operator string!, 3 values []string",
    "core.NodeSelectorTerm":
        "1 matchExpressions []NodeSelectorRequirement, 2 matchFields []NodeSelectorRequirement",
    "core.NodeSpec":
        "1 podCIDR string, 2 externalID string, 3 providerID string, 4 unschedulable bool, "
        "5 taints []Taint, 6 configSource NodeConfigSource, 7 podCIDRs []string",
    "core.NodeStatus":
        "1 capacity map[string]Quantity, 2 allocatable map[string]Quantity, 3 phase string, "
        "4 conditions []NodeCondition, 5 addresses []NodeAddress, "
        "6 daemonEndpoints NodeDaemonEndpoints, 7 nodeInfo NodeSystemInfo, "
        "8 images []ContainerImage, 9 volumesInUse []string, "
        "10 volumesAttached []AttachedVolume, 11 config NodeConfigStatus, "
        "12 runtimeHandlers []NodeRuntimeHandler, 13 features NodeFeatures",
    "core.NodeSystemInfo":
        "1 machineID string!, 2 systemUUID string!, 3 bootID string!, 4 kernelVersion string!, "
        "5 osImage string!, 6 containerRuntimeVersion string!, 7 kubeletVersion string!, "
        "8 kubeProxyVersion string!, 9 operatingSystem string!, 10 architecture string!",
    "core.ObjectFieldSelector": "1 apiVersion string, 2 fieldPath string!",
    "core.ObjectReference":
        "1 kind string, 2 namespace string, 3 name string, 4 uid string, 5 apiVersion string, "
        "6 resourceVersion string, 7 fieldPath string",
    "core.PersistentVolumeClaim":
        "1 metadata meta.ObjectMeta, 2 spec PersistentVolumeClaimSpec, "
        "3 status PersistentVolumeClaimStatus",
    "core.PersistentVolumeClaimCondition":
        "1 type string!, 2 status string!, 3 lastProbeTime Time, 4 lastTransitionTime Time, "
        "5 reason string, 6 message string",
    "core.PersistentVolumeClaimSpec":
        "1 accessModes []string, 2 resources VolumeResourceRequirements, 3 volumeName string, "
        "4 selector meta.LabelSelector, 5 storageClassName string!, 6 volumeMode string!, "
        "7 dataSource TypedLocalObjectReference, 8 dataSourceRef TypedObjectReference, "
        "9 volumeAttributesClassName string!",
    "core.PersistentVolumeClaimStatus":
        "1 phase string, 2 accessModes []string, 3 capacity map[string]Quantity, "
        "4 conditions []PersistentVolumeClaimCondition, "
        "5 allocatedResources map[string]Quantity, "
        "7 allocatedResourceStatuses map[string]string, "
        "8 currentVolumeAttributesClassName string!, 9 modifyVolumeStatus ModifyVolumeStatus",
    "core.PersistentVolumeClaimTemplate":
        "1 metadata meta.ObjectMeta, 2 spec PersistentVolumeClaimSpec",
    "core.PersistentVolumeClaimVolumeSource": "1 claimName string!, 2 readOnly bool",
    "core.PhotonPersistentDiskVolumeSource": "1 pdID string!, 2 fsType string",
    "core.Pod": "1 metadata meta.ObjectMeta, 2 spec PodSpec, 3 status PodStatus",
    "core.PodAffinity":
        "1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm, "
        "2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm",
    "core.PodAffinityTerm":
        "1 labelSelector meta.LabelSelector, 2 namespaces []string, 3 topologyKey string!, "
        "4 namespaceSelector meta.LabelSelector, 5 matchLabelKeys []string, "
        "6 mismatchLabelKeys []string",
    "core.PodAntiAffinity":
        "1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm, "
        "2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm",
    "core.PodCondition":
        "1 type string!, 2 status string!, 3 lastProbeTime Time, 4 lastTransitionTime Time, "
        "5 reason string, 6 message string",
    "core.PodDNSConfig":
        "1 nameservers []string, 2 searches []string, 3 options []PodDNSConfigOption",
    "core.PodDNSConfigOption": "1 name string, 2 value string!",
    "core.PodIP": "1 ip string!",
    "core.PodOS": "1 name string!",
    "core.PodReadinessGate": "1 conditionType string!",
    "core.PodResourceClaim":
        "1 name string!, 3 resourceClaimName string!, 4 resourceClaimTemplateName string!",
    "core.PodResourceClaimStatus": "1 name string!, 2 resourceClaimName string!",
    "core.PodSchedulingGate": "1 name string!",
    "core.PodSecurityContext":
        "1 seLinuxOptions SELinuxOptions, 2 runAsUser int64!, 3 runAsNonRoot bool!, "
        "4 supplementalGroups []int64, 5 fsGroup int64!, 6 runAsGroup int64!, "
        "7 sysctls []Sysctl, 8 windowsOptions WindowsSecurityContextOptions, "
        "9 fsGroupChangePolicy string!, 10 seccompProfile SeccompProfile, "
        "11 appArmorProfile AppArmorProfile, 12 supplementalGroupsPolicy string!, "
        "13 seLinuxChangePolicy string!",
    "core.PodSpec":
        "1 volumes []Volume, 2 containers []Container, 3 restartPolicy string, "
        "4 terminationGracePeriodSeconds int64!, 5 activeDeadlineSeconds int64!, "
        "6 dnsPolicy string, 7 nodeSelector map[string]string, 8 serviceAccountName string, "
        "9 serviceAccount string, 10 nodeName string, 11 hostNetwork bool, 12 hostPID bool, "
        "13 hostIPC bool, 14 securityContext PodSecurityContext, "
        "15 imagePullSecrets []LocalObjectReference, 16 hostname string, 17 subdomain string, "
        "18 affinity Affinity, 19 schedulerName string, 20 initContainers []Container, "
        "21 automountServiceAccountToken bool!, 22 tolerations []Toleration, "
        "23 hostAliases []HostAlias, 24 priorityClassName string, 25 priority int32!, "
        "26 dnsConfig PodDNSConfig, 27 shareProcessNamespace bool!, "
        "28 readinessGates []PodReadinessGate, 29 runtimeClassName string!, "
        "30 enableServiceLinks bool!, 31 preemptionPolicy string!, "
        "32 overhead map[string]Quantity, "
        "33 topologySpreadConstraints []TopologySpreadConstraint, "
        "34 ephemeralContainers []EphemeralContainer, 35 setHostnameAsFQDN bool!, 36 os PodOS, "
        "37 hostUsers bool!, 38 schedulingGates []PodSchedulingGate, "
        "39 resourceClaims []PodResourceClaim, 40 resources ResourceRequirements",
    "core.PodStatus":
        "1 phase string, 2 conditions []PodCondition, 3 message string, 4 reason string, "
        "5 hostIP string, 6 podIP string, 7 startTime Time, "
        "8 containerStatuses []ContainerStatus, 9 qosClass string, "
        "10 initContainerStatuses []ContainerStatus, 11 nominatedNodeName string, "
        "12 podIPs []PodIP, 13 ephemeralContainerStatuses []ContainerStatus, 14 resize string, "
        "15 resourceClaimStatuses []PodResourceClaimStatus, 16 hostIPs []HostIP",
    "core.PodTemplateSpec": "1 metadata meta.ObjectMeta, 2 spec PodSpec",
    "core.PortStatus": "1 port int32!, 2 protocol string!, 3 error string!",
    "core.PortworxVolumeSource": "1 volumeID string!, 2 fsType string, 3 readOnly bool",
    "core.PreferredSchedulingTerm": "1 weight int32!, 2 preference NodeSelectorTerm",
    "core.Probe":
        "1 * ProbeHandler, 2 initialDelaySeconds int32, 3 timeoutSeconds int32, "
        "4 periodSeconds int32, 5 successThreshold int32, 6 failureThreshold int32, "
        "7 terminationGracePeriodSeconds int64!",
    "core.ProbeHandler":
        "1 exec ExecAction, 2 httpGet HTTPGetAction, 3 tcpSocket TCPSocketAction, "
        "4 grpc GRPCAction",
    "core.ProjectedVolumeSource": "1 sources []VolumeProjection, 2 defaultMode int32!",
    "core.QuobyteVolumeSource":
        "1 registry string!, 2 volume string!, 3 readOnly bool, 4 user string, 5 group string, "
        "6 tenant string",
    "core.RBDVolumeSource":
        "1 monitors []string, 2 image string!, 3 fsType string, 4 pool string, 5 user string, "
        "6 keyring string, 7 secretRef LocalObjectReference, 8 readOnly bool",
    "core.ReplicationController":
        "1 metadata meta.ObjectMeta, 2 spec ReplicationControllerSpec, "
        "3 status ReplicationControllerStatus",
    "core.ReplicationControllerCondition":
        "1 type string!, 2 status string!, 3 lastTransitionTime Time, 4 reason string, "
        "5 message string",
    "core.ReplicationControllerSpec":
        "1 replicas int32!, 2 selector map[string]string, 3 template PodTemplateSpec, "
        "4 minReadySeconds int32",
    "core.ReplicationControllerStatus":
        "1 replicas int32!, 2 fullyLabeledReplicas int32, 3 observedGeneration int64, "
        "4 readyReplicas int32, 5 availableReplicas int32, "
        "6 conditions []ReplicationControllerCondition",
    "core.ResourceClaim": "1 name string!, 2 request string",
    "core.ResourceFieldSelector":
        "1 containerName string, 2 resource string!, 3 divisor Quantity",
    "core.ResourceHealth": "1 resourceID string!, 2 health string",
    "core.ResourceRequirements":
        "1 limits map[string]Quantity, 2 requests map[string]Quantity, 3 claims []ResourceClaim",
    "core.ResourceStatus": "1 name string!, 2 resources []ResourceHealth",
    "core.ResourceQuota":
        "1 metadata meta.ObjectMeta, 2 spec ResourceQuotaSpec, 3 status ResourceQuotaStatus",
    "core.ResourceQuotaSpec":
        "1 hard map[string]Quantity, 2 scopes []string, 3 scopeSelector ScopeSelector",
    "core.ResourceQuotaStatus": "1 hard map[string]Quantity, 2 used map[string]Quantity",
    "core.ScopeSelector": "1 matchExpressions []ScopedResourceSelectorRequirement",
    "core.ScopedResourceSelectorRequirement":
        "1 scopeName string!, 2 operator string!, 3 values []string",
    "core.LimitRange": "1 metadata meta.ObjectMeta, 2 spec LimitRangeSpec",
    "core.LimitRangeItem":
        "1 type string!, 2 max map[string]Quantity, 3 min map[string]Quantity, "
        "4 default map[string]Quantity, 5 defaultRequest map[string]Quantity, "
        "6 maxLimitRequestRatio map[string]Quantity",
    "core.LimitRangeSpec": "1 limits []LimitRangeItem",
    "core.SELinuxOptions": "1 user string, 2 role string, 3 type string, 4 level string",
    "core.ScaleIOVolumeSource":
        "1 gateway string!, 2 system string!, 3 secretRef LocalObjectReference, "
        "4 sslEnabled bool, 5 protectionDomain string, 6 storagePool string, "
        "7 storageMode string, 8 volumeName string, 9 fsType string, 10 readOnly bool",
    "core.SeccompProfile": "1 type string!, 2 localhostProfile string!",
    "core.Secret":
        "1 metadata meta.ObjectMeta, 2 data map[string]bytes, 3 type string, "
        "4 stringData map[string]string, 5 immutable bool!",
    "core.SecretEnvSource": "1 * LocalObjectReference, 2 optional bool!",
    "core.SecretKeySelector": "1 * LocalObjectReference, 2 key string!, 3 optional bool!",
    "core.SecretProjection": "1 * LocalObjectReference, 2 items []KeyToPath, 4 optional bool!",
    "core.SecretVolumeSource":
        "1 secretName string, 2 items []KeyToPath, 3 defaultMode int32!, 4 optional bool!",
    "core.SecurityContext":
        "1 capabilities Capabilities, 2 privileged bool!, 3 seLinuxOptions SELinuxOptions, "
        "4 runAsUser int64!, 5 runAsNonRoot bool!, 6 readOnlyRootFilesystem bool!, "
        "7 allowPrivilegeEscalation bool!, 8 runAsGroup int64!, 9 procMount string!, "
        "10 windowsOptions WindowsSecurityContextOptions, 11 seccompProfile SeccompProfile, "
        "12 appArmorProfile AppArmorProfile",
    "core.Service": "1 metadata meta.ObjectMeta, 2 spec ServiceSpec, 3 status ServiceStatus",
    "core.ServiceAccount":
        "1 metadata meta.ObjectMeta, 2 secrets []ObjectReference, "
        "3 imagePullSecrets []LocalObjectReference, 4 automountServiceAccountToken bool!",
    "core.ServiceAccountTokenProjection":
        "1 audience string, 2 expirationSeconds int64!, 3 path string!",
    "core.ServicePort":
        "1 name string, 2 protocol string, 3 port int32!, 4 targetPort IntOrString, "
        "5 nodePort int32, 6 appProtocol string!",
    "core.ServiceSpec":
        "1 ports []ServicePort, 2 selector map[string]string, 3 clusterIP string, 4 type string, "
        "5 externalIPs []string, 7 sessionAffinity string, 8 loadBalancerIP string, "
        "9 loadBalancerSourceRanges []string, 10 externalName string, "
        "11 externalTrafficPolicy string, 12 healthCheckNodePort int32, "
        "13 publishNotReadyAddresses bool, 14 sessionAffinityConfig SessionAffinityConfig, "
        "17 ipFamilyPolicy string!, 18 clusterIPs []string, 19 ipFamilies []string, "
        "20 allocateLoadBalancerNodePorts bool!, 21 loadBalancerClass string!, "
        "22 internalTrafficPolicy string!, 23 trafficDistribution string!",
    "core.ServiceStatus": "1 loadBalancer LoadBalancerStatus, 2 conditions []meta.Condition",
    "core.SessionAffinityConfig": "1 clientIP ClientIPConfig",
    "core.SleepAction": "1 seconds int64!",
    "core.StorageOSVolumeSource":
        "1 volumeName string, 2 volumeNamespace string, 3 fsType string, 4 readOnly bool, "
        "5 secretRef LocalObjectReference",
    "core.Sysctl": "1 name string!, 2 value string!",
    "core.TCPSocketAction": "1 port IntOrString, 2 host string",
    "core.Taint": "1 key string!, 2 value string, 3 effect string!, 4 timeAdded Time",
    "core.Toleration":
        "1 key string, 2 operator string, 3 value string, 4 effect string, "
        "5 tolerationSeconds int64!",
    "core.TopologySpreadConstraint":
        "1 maxSkew int32!, 2 topologyKey string!, 3 whenUnsatisfiable string!, "
        "4 labelSelector meta.LabelSelector, 5 minDomains int32!, 6 nodeAffinityPolicy string!, "
        "7 nodeTaintsPolicy string!, 8 matchLabelKeys []string",
    "core.TypedLocalObjectReference": "1 apiGroup string!, 2 kind string!, 3 name string!",
    "core.TypedObjectReference":
        "1 apiGroup string!, 2 kind string!, 3 name string!, 4 namespace string!",
    "core.Volume": "1 name string!, 2 * VolumeSource",
    "core.VolumeDevice": "1 name string!, 2 devicePath string!",
    "core.VolumeMount":
        "1 name string!, 2 readOnly bool, 3 mountPath string!, 4 subPath string, "
        "5 mountPropagation string!, 6 subPathExpr string, 7 recursiveReadOnly string!",
    "core.VolumeMountStatus":
        "1 name string!, 2 mountPath string!, 3 readOnly bool, 4 recursiveReadOnly string!",
    "core.VolumeProjection":
        "1 secret SecretProjection, 2 downwardAPI DownwardAPIProjection, "
        "3 configMap ConfigMapProjection, 4 serviceAccountToken ServiceAccountTokenProjection, "
        "5 clusterTrustBundle ClusterTrustBundleProjection",
    "core.VolumeResourceRequirements":
        "1 limits map[string]Quantity, 2 requests map[string]Quantity",
    "core.VolumeSource":
        "1 hostPath HostPathVolumeSource, 2 emptyDir EmptyDirVolumeSource, "
        "3 gcePersistentDisk GCEPersistentDiskVolumeSource, "
        "4 awsElasticBlockStore AWSElasticBlockStoreVolumeSource, 5 gitRepo GitRepoVolumeSource, "
        "6 secret SecretVolumeSource, 7 nfs NFSVolumeSource, 8 iscsi ISCSIVolumeSource, "
        "9 glusterfs GlusterfsVolumeSource, "
        "10 persistentVolumeClaim PersistentVolumeClaimVolumeSource, 11 rbd RBDVolumeSource, "
        "12 flexVolume FlexVolumeSource, 13 cinder CinderVolumeSource, "
        "14 cephfs CephFSVolumeSource, 15 flocker FlockerVolumeSource, "
        "16 downwardAPI DownwardAPIVolumeSource, 17 fc FCVolumeSource, "
        "18 azureFile AzureFileVolumeSource, 19 configMap ConfigMapVolumeSource, "
        "20 vsphereVolume VsphereVirtualDiskVolumeSource, 21 quobyte QuobyteVolumeSource, "
        "22 azureDisk AzureDiskVolumeSource, "
        "23 photonPersistentDisk PhotonPersistentDiskVolumeSource, "
        "24 portworxVolume PortworxVolumeSource, 25 scaleIO ScaleIOVolumeSource, "
        "26 projected ProjectedVolumeSource, 27 storageos StorageOSVolumeSource, "
        "28 csi CSIVolumeSource, 29 ephemeral EphemeralVolumeSource, 30 image ImageVolumeSource",
    "core.VsphereVirtualDiskVolumeSource":
        "1 volumePath string!, 2 fsType string, 3 storagePolicyName string, "
        "4 storagePolicyID string",
    "core.WeightedPodAffinityTerm": "1 weight int32!, 2 podAffinityTerm PodAffinityTerm",
    "core.WindowsSecurityContextOptions":
        "1 gmsaCredentialSpecName string!, 2 gmsaCredentialSpec string!, "
        "3 runAsUserName string!, 4 hostProcess bool!",
    "discovery.Endpoint":
        "1 addresses []string, 2 conditions EndpointConditions, 3 hostname string!, "
        "4 targetRef core.ObjectReference, 5 deprecatedTopology map[string]string, "
        "6 nodeName string!, 7 zone string!, 8 hints EndpointHints",
    "discovery.EndpointConditions": "1 ready bool!, 2 serving bool!, 3 terminating bool!",
    "discovery.EndpointHints": "1 forZones []ForZone",
    "discovery.EndpointPort":
        "1 name string!, 2 protocol string!, 3 port int32!, 4 appProtocol string!",
    "discovery.EndpointSlice":
        "1 metadata meta.ObjectMeta, 2 endpoints []Endpoint, 3 ports []EndpointPort, "
        "4 addressType string!",
    "discovery.ForZone": "1 name string!",
    "events.Event":
        "1 metadata meta.ObjectMeta, 2 eventTime MicroTime, 3 series EventSeries, "
        "4 reportingController string, 5 reportingInstance string, 6 action string, "
        "7 reason string, 8 regarding core.ObjectReference, 9 related core.ObjectReference, "
        "10 note string, 11 type string, 12 deprecatedSource core.EventSource, "
        "13 deprecatedFirstTimestamp Time, 14 deprecatedLastTimestamp Time, "
        "15 deprecatedCount int32",
    "events.EventSeries": "1 count int32!, 2 lastObservedTime MicroTime",
    "meta.Condition":
        "1 type string!, 2 status string!, 3 observedGeneration int64, "
        "4 lastTransitionTime Time, 5 reason string!, 6 message string!",
    "meta.DeleteOptions":
        "1 gracePeriodSeconds int64!, 2 preconditions Preconditions, 3 orphanDependents bool!, "
        "4 propagationPolicy string!, 5 dryRun []string, "
        "6 ignoreStoreReadErrorWithClusterBreakingPotential bool!",
    "meta.FieldSelectorRequirement": "1 key string!, 2 operator string!, 3 values []string",
    "meta.LabelSelector":
        "1 matchLabels map[string]string, 2 matchExpressions []LabelSelectorRequirement",
    "meta.LabelSelectorRequirement": "1 key string!, 2 operator string!, 3 values []string",
    "meta.ManagedFieldsEntry":
        "1 manager string, 2 operation string, 3 apiVersion string, 4 time Time, "
        "6 fieldsType string, 7 fieldsV1 FieldsV1, 8 subresource string",
    "meta.ObjectMeta":
        "1 name string, 2 generateName string, 3 namespace string, 4 selfLink string, "
        "5 uid string, 6 resourceVersion string, 7 generation int64, 8 creationTimestamp Time, "
        "9 deletionTimestamp Time, 10 deletionGracePeriodSeconds int64!, "
        "11 labels map[string]string, 12 annotations map[string]string, "
        "13 ownerReferences []OwnerReference, 14 finalizers []string, "
        "17 managedFields []ManagedFieldsEntry",
    "meta.OwnerReference":
        "1 kind string!, 3 name string!, 4 uid string!, 5 apiVersion string!, "
        "6 controller bool!, 7 blockOwnerDeletion bool!",
    "meta.Preconditions": "1 uid string!, 2 resourceVersion string!",
    "networking.HTTPIngressPath": "1 path string, 2 backend IngressBackend, 3 pathType string!",
    "networking.HTTPIngressRuleValue": "1 paths []HTTPIngressPath",
    "networking.IPBlock": "1 cidr string!, 2 except []string",
    "networking.Ingress": "1 metadata meta.ObjectMeta, 2 spec IngressSpec, 3 status IngressStatus",
    "networking.IngressBackend":
        "3 resource core.TypedLocalObjectReference, 4 service IngressServiceBackend",
    "networking.IngressClass": "1 metadata meta.ObjectMeta, 2 spec IngressClassSpec",
    "networking.IngressClassParametersReference":
        "1 apiGroup string!, 2 kind string!, 3 name string!, 4 scope string!, "
        "5 namespace string!",
    "networking.IngressClassSpec":
        "1 controller string, 2 parameters IngressClassParametersReference",
    "networking.IngressLoadBalancerIngress":
        "1 ip string, 2 hostname string, 4 ports []IngressPortStatus",
    "networking.IngressLoadBalancerStatus": "1 ingress []IngressLoadBalancerIngress",
    "networking.IngressPortStatus": "1 port int32!, 2 protocol string!, 3 error string!",
    "networking.IngressRule": "1 host string, 2 * IngressRuleValue",
    "networking.IngressRuleValue": "1 http HTTPIngressRuleValue",
    "networking.IngressServiceBackend": "1 name string!, 2 port ServiceBackendPort",
    "networking.IngressSpec":
        "1 defaultBackend IngressBackend, 2 tls []IngressTLS, 3 rules []IngressRule, "
        "4 ingressClassName string!",
    "networking.IngressStatus": "1 loadBalancer IngressLoadBalancerStatus",
    "networking.IngressTLS": "1 hosts []string, 2 secretName string",
    "networking.NetworkPolicy": "1 metadata meta.ObjectMeta, 2 spec NetworkPolicySpec",
    "networking.NetworkPolicyEgressRule": "1 ports []NetworkPolicyPort, 2 to []NetworkPolicyPeer",
    "networking.NetworkPolicyIngressRule":
        "1 ports []NetworkPolicyPort, 2 from []NetworkPolicyPeer",
    "networking.NetworkPolicyPeer":
        "1 podSelector meta.LabelSelector, 2 namespaceSelector meta.LabelSelector, "
        "3 ipBlock IPBlock",
    "networking.NetworkPolicyPort": "1 protocol string!, 2 port IntOrString, 3 endPort int32!",
    "networking.NetworkPolicySpec":
        "1 podSelector meta.LabelSelector, 2 ingress []NetworkPolicyIngressRule, "
        "3 egress []NetworkPolicyEgressRule, 4 policyTypes []string",
    "networking.ServiceBackendPort": "1 name string, 2 number int32",
    "node.Overhead": "1 podFixed map[string]Quantity",
    "node.RuntimeClass":
        "1 metadata meta.ObjectMeta, 2 handler string, 3 overhead Overhead, "
        "4 scheduling Scheduling",
    "node.Scheduling": "1 nodeSelector map[string]string, 2 tolerations []core.Toleration",
    "policy.Eviction": "1 metadata meta.ObjectMeta, 2 deleteOptions meta.DeleteOptions",
    "policy.PodDisruptionBudget":
        "1 metadata meta.ObjectMeta, 2 spec PodDisruptionBudgetSpec, "
        "3 status PodDisruptionBudgetStatus",
    "policy.PodDisruptionBudgetSpec":
        "1 minAvailable IntOrString, 2 selector meta.LabelSelector, "
        "3 maxUnavailable IntOrString, 4 unhealthyPodEvictionPolicy string",
    "policy.PodDisruptionBudgetStatus":
        "1 observedGeneration int64, 2 disruptedPods map[string]Time, "
        "3 disruptionsAllowed int32!, 4 currentHealthy int32!, 5 desiredHealthy int32!, "
        "6 expectedPods int32!, 7 conditions []meta.Condition",
    "rbac.AggregationRule": "1 clusterRoleSelectors []meta.LabelSelector",
    "rbac.ClusterRole":
        "1 metadata meta.ObjectMeta, 2 rules []PolicyRule, 3 aggregationRule AggregationRule",
    "rbac.ClusterRoleBinding":
        "1 metadata meta.ObjectMeta, 2 subjects []Subject, 3 roleRef RoleRef",
    "rbac.PolicyRule":
        "1 verbs []string, 2 apiGroups []string, 3 resources []string, "
        "4 resourceNames []string, 5 nonResourceURLs []string",
    "rbac.Role": "1 metadata meta.ObjectMeta, 2 rules []PolicyRule",
    "rbac.RoleBinding": "1 metadata meta.ObjectMeta, 2 subjects []Subject, 3 roleRef RoleRef",
    "rbac.RoleRef": "1 apiGroup string!, 2 kind string!, 3 name string!",
    "rbac.Subject": "1 kind string!, 2 apiGroup string, 3 name string!, 4 namespace string",
    "scheduling.PriorityClass":
        "1 metadata meta.ObjectMeta, 2 value int32!, 3 globalDefault bool, 4 description string, "
        "5 preemptionPolicy string!",
    "core.AzureFilePersistentVolumeSource":
        "1 secretName string!, 2 shareName string!, 3 readOnly bool, 4 secretNamespace string!",
    "core.CSIPersistentVolumeSource":
        "1 driver string!, 2 volumeHandle string!, 3 readOnly bool, 4 fsType string, "
        "5 volumeAttributes map[string]string, 6 controllerPublishSecretRef SecretReference, "
        "7 nodeStageSecretRef SecretReference, 8 nodePublishSecretRef SecretReference, "
        "9 controllerExpandSecretRef SecretReference, 10 nodeExpandSecretRef SecretReference",
    "core.CephFSPersistentVolumeSource":
        "1 monitors []string, 2 path string, 3 user string, 4 secretFile string, "
        "5 secretRef SecretReference, 6 readOnly bool",
    "core.CinderPersistentVolumeSource":
        "1 volumeID string!, 2 fsType string, 3 readOnly bool, 4 secretRef SecretReference",
    "core.FlexPersistentVolumeSource":
        "1 driver string!, 2 fsType string, 3 secretRef SecretReference, 4 readOnly bool, "
        "5 options map[string]string",
    "core.GlusterfsPersistentVolumeSource":
        "1 endpoints string!, 2 path string!, 3 readOnly bool, 4 endpointsNamespace string!",
    "core.ISCSIPersistentVolumeSource":
        "1 targetPortal string!, 2 iqn string!, 3 lun int32!, 4 iscsiInterface string, "
        "5 fsType string, 6 readOnly bool, 7 portals []string, 8 chapAuthDiscovery bool, "
        "10 secretRef SecretReference, 11 chapAuthSession bool, 12 initiatorName string!",
    "core.LocalVolumeSource": "1 path string!, 2 fsType string!",
    "core.PersistentVolume":
        "1 metadata meta.ObjectMeta, 2 spec PersistentVolumeSpec, 3 status PersistentVolumeStatus",
    "core.PersistentVolumeSource":
        "1 gcePersistentDisk GCEPersistentDiskVolumeSource, "
        "2 awsElasticBlockStore AWSElasticBlockStoreVolumeSource, 3 hostPath HostPathVolumeSource, "
        "4 glusterfs GlusterfsPersistentVolumeSource, 5 nfs NFSVolumeSource, "
        "6 rbd RBDPersistentVolumeSource, 7 iscsi ISCSIPersistentVolumeSource, "
        "8 cinder CinderPersistentVolumeSource, 9 cephfs CephFSPersistentVolumeSource, "
        "10 fc FCVolumeSource, 11 flocker FlockerVolumeSource, "
        "12 flexVolume FlexPersistentVolumeSource, 13 azureFile AzureFilePersistentVolumeSource, "
        "14 vsphereVolume VsphereVirtualDiskVolumeSource, 15 quobyte QuobyteVolumeSource, "
        "16 azureDisk AzureDiskVolumeSource, "
        "17 photonPersistentDisk PhotonPersistentDiskVolumeSource, "
        "18 portworxVolume PortworxVolumeSource, 19 scaleIO ScaleIOPersistentVolumeSource, "
        "20 local LocalVolumeSource, 21 storageos StorageOSPersistentVolumeSource, "
        "22 csi CSIPersistentVolumeSource",
    "core.PersistentVolumeSpec":
        "1 capacity map[string]Quantity, 2 * PersistentVolumeSource, 3 accessModes []string, "
        "4 claimRef ObjectReference, 5 persistentVolumeReclaimPolicy string, "
        "6 storageClassName string, 7 mountOptions []string, 8 volumeMode string!, "
        "9 nodeAffinity VolumeNodeAffinity, 10 volumeAttributesClassName string!",
    "core.PersistentVolumeStatus":
        "1 phase string, 2 message string, 3 reason string, 4 lastPhaseTransitionTime Time",
    "core.RBDPersistentVolumeSource":
        "1 monitors []string, 2 image string!, 3 fsType string, 4 pool string, 5 user string, "
        "6 keyring string, 7 secretRef SecretReference, 8 readOnly bool",
    "core.ScaleIOPersistentVolumeSource":
        "1 gateway string!, 2 system string!, 3 secretRef SecretReference, "
        "4 sslEnabled bool, 5 protectionDomain string, 6 storagePool string, "
        "7 storageMode string, 8 volumeName string, 9 fsType string, 10 readOnly bool",
    "core.SecretReference": "1 name string, 2 namespace string",
    "core.StorageOSPersistentVolumeSource":
        "1 volumeName string, 2 volumeNamespace string, 3 fsType string, 4 readOnly bool, "
        "5 secretRef ObjectReference",
    "core.TopologySelectorLabelRequirement": "1 key string!, 2 values []string",
    "core.TopologySelectorTerm": "1 matchLabelExpressions []TopologySelectorLabelRequirement",
    "core.VolumeNodeAffinity": "1 required NodeSelector",
    "storage.CSIDriver": "1 metadata meta.ObjectMeta, 2 spec CSIDriverSpec",
    "storage.CSIDriverSpec":
        "1 attachRequired bool!, 2 podInfoOnMount bool!, 3 volumeLifecycleModes []string, "
        "4 storageCapacity bool!, 5 fsGroupPolicy string!, 6 tokenRequests []TokenRequest, "
        "7 requiresRepublish bool!, 8 seLinuxMount bool!",
    "storage.CSINode": "1 metadata meta.ObjectMeta, 2 spec CSINodeSpec",
    "storage.CSINodeDriver":
        "1 name string!, 2 nodeID string!, 3 topologyKeys []string, "
        "4 allocatable VolumeNodeResources",
    "storage.CSINodeSpec": "1 drivers []CSINodeDriver",
    "storage.CSIStorageCapacity":
        "1 metadata meta.ObjectMeta, 2 nodeTopology meta.LabelSelector, "
        "3 storageClassName string!, 4 capacity Quantity, 5 maximumVolumeSize Quantity",
    "storage.StorageClass":
        "1 metadata meta.ObjectMeta, 2 provisioner string!, 3 parameters map[string]string, "
        "4 reclaimPolicy string!, 5 mountOptions []string, 6 allowVolumeExpansion bool!, "
        "7 volumeBindingMode string!, 8 allowedTopologies []core.TopologySelectorTerm",
    "storage.TokenRequest": "1 audience string!, 2 expirationSeconds int64!",
    "storage.VolumeAttachment":
        "1 metadata meta.ObjectMeta, 2 spec VolumeAttachmentSpec, 3 status VolumeAttachmentStatus",
    "storage.VolumeAttachmentSource":
        "1 persistentVolumeName string!, 2 inlineVolumeSpec core.PersistentVolumeSpec",
    "storage.VolumeAttachmentSpec":
        "1 attacher string!, 2 source VolumeAttachmentSource, 3 nodeName string!",
    "storage.VolumeAttachmentStatus":
        "1 attached bool!, 2 attachmentMetadata map[string]string, 3 attachError VolumeError, "
        "4 detachError VolumeError",
    "storage.VolumeError": "1 time Time, 2 message string",
    "storage.VolumeNodeResources": "1 count int32!",
}


# The fields Go's encoder writes even when they hold their zero value (no omitempty, not a
# pointer; OpenAPI's "required"): "" for a string, 0, false, {} for a struct, [] for a list
# (Go writes null for a nil list; the official clients refuse null there, so [] it is).
# A decoded object gets them filled in, as decoding into the Go type and encoding it again
# would: so a fresh `conditions: [{}]` reads back as kube's `[{"status": "", "type": ""}]`,
# which the official clients accept. Time fields are left out (Go writes null for them).
_ALWAYS_ENCODED: dict[str, str] = {
    "autoscalingv2.ContainerResourceMetricSource": "container name target",
    "autoscalingv2.ContainerResourceMetricStatus": "container current name",
    "autoscalingv2.CrossVersionObjectReference": "kind name",
    "autoscalingv2.ExternalMetricSource": "metric target",
    "autoscalingv2.ExternalMetricStatus": "current metric",
    "autoscalingv2.HPAScalingPolicy": "periodSeconds type value",
    "autoscalingv2.HorizontalPodAutoscalerCondition": "status type",
    "autoscalingv2.HorizontalPodAutoscalerSpec": "maxReplicas scaleTargetRef",
    "autoscalingv2.HorizontalPodAutoscalerStatus": "desiredReplicas",
    "autoscalingv2.MetricIdentifier": "name",
    "autoscalingv2.MetricSpec": "type",
    "autoscalingv2.MetricStatus": "type",
    "autoscalingv2.MetricTarget": "type",
    "autoscalingv2.ObjectMetricSource": "describedObject metric target",
    "autoscalingv2.ObjectMetricStatus": "current describedObject metric",
    "autoscalingv2.PodsMetricSource": "metric target",
    "autoscalingv2.PodsMetricStatus": "current metric",
    "autoscalingv2.ResourceMetricSource": "name target",
    "autoscalingv2.ResourceMetricStatus": "current name",
    "apiregistration.APIServiceCondition": "status type",
    "apiregistration.APIServiceSpec": "groupPriorityMinimum versionPriority",
    "apiextensions.CustomResourceColumnDefinition": "name type jsonPath",
    "apiextensions.CustomResourceConversion": "strategy",
    "apiextensions.CustomResourceDefinition": "spec",
    "apiextensions.CustomResourceDefinitionCondition": "type status",
    "apiextensions.CustomResourceDefinitionNames": "plural kind",
    "apiextensions.CustomResourceDefinitionSpec": "group names scope versions",
    "apiextensions.CustomResourceDefinitionVersion": "name served storage",
    "apiextensions.CustomResourceSubresourceScale": "specReplicasPath statusReplicasPath",
    "apiextensions.SelectableField": "jsonPath",
    "apiextensions.ServiceReference": "namespace name",
    "apiextensions.ValidationRule": "rule",
    "apiextensions.WebhookConversion": "conversionReviewVersions",
    "apps.ControllerRevision": "revision",
    "apps.DaemonSetCondition": "status type",
    "apps.DaemonSetSpec": "template",
    "apps.DaemonSetStatus": "currentNumberScheduled desiredNumberScheduled numberMisscheduled numberReady",
    "apps.DeploymentCondition": "status type",
    "apps.DeploymentSpec": "template",
    "apps.ReplicaSetCondition": "status type",
    "apps.ReplicaSetStatus": "replicas",
    "apps.StatefulSetCondition": "status type",
    "apps.StatefulSetSpec": "serviceName template",
    "apps.StatefulSetStatus": "replicas",
    "authorization.LocalSubjectAccessReview": "spec",
    "authorization.NonResourceRule": "verbs",
    "authorization.ResourceRule": "verbs",
    "authorization.SelfSubjectAccessReview": "spec",
    "authorization.SelfSubjectRulesReview": "spec",
    "authorization.SubjectAccessReview": "spec",
    "authorization.SubjectAccessReviewStatus": "allowed",
    "authorization.SubjectRulesReviewStatus": "incomplete nonResourceRules resourceRules",
    "autoscaling.CrossVersionObjectReference": "kind name",
    "autoscaling.HorizontalPodAutoscalerSpec": "maxReplicas scaleTargetRef",
    "autoscaling.HorizontalPodAutoscalerStatus": "currentReplicas desiredReplicas",
    "autoscaling.ScaleStatus": "replicas",
    "authentication.TokenRequest": "spec",
    "authentication.TokenReview": "spec",
    "authentication.TokenRequestSpec": "audiences",
    "authentication.TokenRequestStatus": "token",
    "batch.CronJobSpec": "jobTemplate schedule",
    "batch.JobCondition": "status type",
    "batch.JobSpec": "template",
    "batch.PodFailurePolicy": "rules",
    "batch.PodFailurePolicyOnExitCodesRequirement": "operator values",
    "batch.PodFailurePolicyOnPodConditionsPattern": "status type",
    "batch.PodFailurePolicyRule": "action",
    "batch.SuccessPolicy": "rules",
    "certificates.CertificateSigningRequest": "spec",
    "certificates.CertificateSigningRequestCondition": "status type",
    "certificates.CertificateSigningRequestSpec": "request signerName",
    "core.AWSElasticBlockStoreVolumeSource": "volumeID",
    "core.AppArmorProfile": "type",
    "core.AttachedVolume": "devicePath name",
    "core.AzureDiskVolumeSource": "diskName diskURI",
    "core.AzureFileVolumeSource": "secretName shareName",
    "core.Binding": "target",
    "core.CSIVolumeSource": "driver",
    "core.CephFSVolumeSource": "monitors",
    "core.CinderVolumeSource": "volumeID",
    "core.ClusterTrustBundleProjection": "path",
    "core.ConfigMapKeySelector": "key",
    "core.ConfigMapNodeConfigSource": "kubeletConfigKey name namespace",
    "core.Container": "name",
    "core.ContainerPort": "containerPort",
    "core.ContainerResizePolicy": "resourceName restartPolicy",
    "core.ContainerStateTerminated": "exitCode",
    "core.ContainerStatus": "image imageID name ready restartCount",
    "core.DaemonEndpoint": "Port",
    "core.DownwardAPIVolumeFile": "path",
    "core.EndpointAddress": "ip",
    "core.EndpointPort": "port",
    "core.EnvVar": "name",
    "core.EphemeralContainer": "name",
    "core.Event": "involvedObject",
    "core.FlexVolumeSource": "driver",
    "core.GCEPersistentDiskVolumeSource": "pdName",
    "core.GRPCAction": "port",
    "core.GitRepoVolumeSource": "repository",
    "core.GlusterfsVolumeSource": "endpoints path",
    "core.HTTPGetAction": "port",
    "core.HTTPHeader": "name value",
    "core.HostAlias": "ip",
    "core.HostIP": "ip",
    "core.HostPathVolumeSource": "path",
    "core.ISCSIVolumeSource": "iqn lun targetPortal",
    "core.KeyToPath": "key path",
    "core.LinuxContainerUser": "gid uid",
    "core.ModifyVolumeStatus": "status",
    "core.NFSVolumeSource": "path server",
    "core.NamespaceCondition": "status type",
    "core.NodeAddress": "address type",
    "core.NodeCondition": "status type",
    "core.NodeSelector": "nodeSelectorTerms",
    "core.NodeSelectorRequirement": "key operator",
    "core.NodeSystemInfo": "architecture bootID containerRuntimeVersion kernelVersion kubeProxyVersion kubeletVersion machineID operatingSystem osImage systemUUID",
    "core.ObjectFieldSelector": "fieldPath",
    "core.PersistentVolumeClaimCondition": "status type",
    "core.PersistentVolumeClaimTemplate": "spec",
    "core.PersistentVolumeClaimVolumeSource": "claimName",
    "core.PhotonPersistentDiskVolumeSource": "pdID",
    "core.PodAffinityTerm": "topologyKey",
    "core.PodCondition": "status type",
    "core.PodIP": "ip",
    "core.PodOS": "name",
    "core.PodReadinessGate": "conditionType",
    "core.PodResourceClaim": "name",
    "core.PodResourceClaimStatus": "name",
    "core.PodSchedulingGate": "name",
    "core.PodSpec": "containers",
    "core.PortStatus": "port protocol",
    "core.PortworxVolumeSource": "volumeID",
    "core.PreferredSchedulingTerm": "preference weight",
    "core.QuobyteVolumeSource": "registry volume",
    "core.RBDVolumeSource": "image monitors",
    "core.ReplicationControllerCondition": "status type",
    "core.ReplicationControllerStatus": "replicas",
    "core.ResourceClaim": "name",
    "core.ResourceFieldSelector": "resource",
    "core.ResourceHealth": "resourceID",
    "core.ResourceStatus": "name",
    "core.ScopedResourceSelectorRequirement": "operator scopeName",
    "core.LimitRangeItem": "type",
    "core.LimitRangeSpec": "limits",
    "core.ScaleIOVolumeSource": "gateway system",
    "core.SeccompProfile": "type",
    "core.SecretKeySelector": "key",
    "core.ServiceAccountTokenProjection": "path",
    "core.ServicePort": "port",
    "core.SleepAction": "seconds",
    "core.Sysctl": "name value",
    "core.TCPSocketAction": "port",
    "core.Taint": "effect key",
    "core.TopologySpreadConstraint": "maxSkew topologyKey whenUnsatisfiable",
    "core.TypedLocalObjectReference": "kind name",
    "core.TypedObjectReference": "kind name",
    "core.Volume": "name",
    "core.VolumeDevice": "devicePath name",
    "core.VolumeMount": "mountPath name",
    "core.VolumeMountStatus": "mountPath name",
    "core.VsphereVirtualDiskVolumeSource": "volumePath",
    "core.WeightedPodAffinityTerm": "podAffinityTerm weight",
    "discovery.Endpoint": "addresses",
    "discovery.EndpointSlice": "addressType endpoints",
    "discovery.ForZone": "name",
    "events.EventSeries": "count",
    "meta.Condition": "message reason status type",
    "meta.FieldSelectorRequirement": "key operator",
    "meta.LabelSelectorRequirement": "key operator",
    "meta.OwnerReference": "apiVersion kind name uid",
    "networking.HTTPIngressPath": "backend pathType",
    "networking.HTTPIngressRuleValue": "paths",
    "networking.IPBlock": "cidr",
    "networking.IngressClassParametersReference": "kind name",
    "networking.IngressPortStatus": "port protocol",
    "networking.IngressServiceBackend": "name",
    "networking.NetworkPolicySpec": "podSelector",
    "node.RuntimeClass": "handler",
    "policy.PodDisruptionBudgetStatus":
        "currentHealthy desiredHealthy disruptionsAllowed expectedPods",
    "rbac.ClusterRoleBinding": "roleRef",
    "rbac.PolicyRule": "verbs",
    "rbac.RoleBinding": "roleRef",
    "rbac.RoleRef": "apiGroup kind name",
    "rbac.Subject": "kind name",
    "scheduling.PriorityClass": "value",
    "core.AzureFilePersistentVolumeSource": "secretName shareName",
    "core.CSIPersistentVolumeSource": "driver volumeHandle",
    "core.CephFSPersistentVolumeSource": "monitors",
    "core.CinderPersistentVolumeSource": "volumeID",
    "core.FlexPersistentVolumeSource": "driver",
    "core.GlusterfsPersistentVolumeSource": "endpoints path",
    "core.ISCSIPersistentVolumeSource": "iqn lun targetPortal",
    "core.LocalVolumeSource": "path",
    "core.RBDPersistentVolumeSource": "image monitors",
    "core.ScaleIOPersistentVolumeSource": "gateway secretRef system",
    "core.TopologySelectorLabelRequirement": "key values",
    "storage.CSINodeDriver": "name nodeID",
    "storage.CSIDriver": "spec",
    "storage.CSINode": "spec",
    "storage.CSINodeSpec": "drivers",
    "storage.CSIStorageCapacity": "storageClassName",
    "storage.StorageClass": "provisioner",
    "storage.TokenRequest": "audience",
    "storage.VolumeAttachment": "spec",
    "storage.VolumeAttachmentSpec": "attacher nodeName source",
    "storage.VolumeAttachmentStatus": "attached",
}


# Beyond those, the fields Go writes that OpenAPI does not call required: struct fields that
# are not pointers (`omitempty` never leaves a struct out, so `{}` or its own always-encoded
# fields) and strings without `omitempty`. kube's own answers always carry them (a Service's
# `status.loadBalancer: {}`, a Node's `status.nodeInfo`), so ours do, on every write.
_STRUCTS_ENCODED: dict[str, str] = {
    "apiregistration.APIService": "spec status",
    "certificates.CertificateSigningRequest": "status",
    "coordination.Lease": "spec",
    "policy.PodDisruptionBudget": "spec status",
    "core.Event": "reportingComponent reportingInstance source",
    "core.NodeDaemonEndpoints": "kubeletEndpoint",
    "core.NodeStatus": "daemonEndpoints nodeInfo",
    "core.ServiceStatus": "loadBalancer",
}


@dataclass(frozen=True, slots=True)
class Field:
    json: str  # "" for an inlined struct
    type: str  # a scalar, a builtin, or a group-qualified message name
    label: Literal["", "[]", "map"]
    keep_zero: bool


def _parse_field(group: str, entry: str) -> tuple[int, Field]:
    number, json, spec = entry.split()
    label: Literal["", "[]", "map"] = ""
    if spec.startswith("[]"):
        label, spec = "[]", spec[2:]
    elif spec.startswith("map[string]"):
        label, spec = "map", spec[len("map[string]"):]
    keep_zero = spec.endswith("!")
    spec = spec.rstrip("!")
    if spec not in SCALARS and spec not in BUILTINS and "." not in spec:
        spec = f"{group}.{spec}"
    return int(number), Field("" if json == "*" else json, spec, label, keep_zero)


def json_fields(messages: dict[str, dict[int, Field]], message: str) -> dict[str, Field]:
    """A message's fields by JSON name, inlined structs' fields merged in (as Go's encoder
    flattens them)."""
    out: dict[str, Field] = {}
    for f in messages[message].values():
        if f.json:
            out[f.json] = f
        elif f.type in messages:
            out.update(json_fields(messages, f.type))
    return out


def parse_messages(table: dict[str, str]) -> dict[str, dict[int, Field]]:
    out: dict[str, dict[int, Field]] = {}
    for name, spec in table.items():
        group = name.split(".", 1)[0]
        out[name] = dict(_parse_field(group, e) for e in spec.split(", "))
    return out


MESSAGES: dict[str, dict[int, Field]] = parse_messages(_MESSAGES)
ALWAYS_ENCODED: dict[str, tuple[str, ...]] = {m: tuple(f.split()) for m, f in
                                             _ALWAYS_ENCODED.items()}
# Every field a decoded body gets filled in with its zero value: the required ones and the rest
# that Go always writes.
ZERO_ENCODED: dict[str, tuple[str, ...]] = {
    m: (*ALWAYS_ENCODED.get(m, ()), *_STRUCTS_ENCODED.get(m, "").split())
    for m in _ALWAYS_ENCODED.keys() | _STRUCTS_ENCODED.keys()}
