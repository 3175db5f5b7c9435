package federate_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/cli/federate"
	"github.com/kfed-io/kfed/internal/cli/manifest"
	"github.com/kfed-io/kfed/internal/propagate"
)

// A Deployment as `kubectl get -o yaml` prints it: server fields that must go, and every other
// field, which must come back out of the template.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: k8shserver
  namespace: web
  labels: {app: k8shserver, tier: front}
  annotations:
    team: edge
    kubectl.kubernetes.io/last-applied-configuration: '{"big":"json"}'
  uid: 0b8d5f7e-1111-2222-3333-444455556666
  resourceVersion: "1234"
  generation: 3
  creationTimestamp: "2026-11-25T10:00:00Z"
  managedFields: [{manager: kubectl, operation: Apply}]
spec:
  replicas: 1000
  revisionHistoryLimit: 4
  minReadySeconds: 5
  progressDeadlineSeconds: 120
  selector: {matchLabels: {app: k8shserver}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: k8shserver}
      annotations: {prometheus.io/scrape: "true"}
    spec:
      terminationGracePeriodSeconds: 10
      nodeSelector: {disk: ssd}
      tolerations: [{key: dedicated, operator: Equal, value: web, effect: NoSchedule}]
      containers:
      - name: web
        image: k8shserver:1.0
        args: [--port=8080]
        ports: [{containerPort: 8080, name: http, protocol: TCP}]
        env:
        - {name: MODE, value: prod}
        - name: POD
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {memory: 128Mi}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 3
status:
  replicas: 1000
  readyReplicas: 998
`

func TestFederateKeepsEveryField(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantKind string
		wantName string
		// wantTemplate is the member object the federated object stands for; empty means the
		// input without the fields the API server sets.
		wantTemplate string
		wantNote     string
	}{
		{name: "Deployment", in: deployment, wantKind: "FederatedDeployment", wantName: "k8shserver"},
		{name: "ReplicaSet", wantKind: "FederatedReplicaSet", wantName: "rs", in: `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: web, labels: {a: b}}
spec:
  replicas: 3
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec: {containers: [{name: c, image: i, command: [sleep, "3600"]}]}
`},
		{name: "DaemonSet", wantKind: "FederatedDaemonSet", wantName: "ds", in: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds, namespace: kube-system}
spec:
  selector: {matchLabels: {a: b}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 2}}
  template:
    metadata: {labels: {a: b}}
    spec: {hostNetwork: true, containers: [{name: c, image: i}]}
`},
		{name: "Job", wantKind: "FederatedJob", wantName: "migrate", in: `apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: web, annotations: {note: x}}
spec:
  backoffLimit: 2
  completions: 3
  parallelism: 2
  ttlSecondsAfterFinished: 60
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: i}]}
`},
		{name: "ConfigMap", wantKind: "FederatedConfigMap", wantName: "settings", in: `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: web, labels: {a: b}}
data: {mode: prod, "config.yaml": "a: 1\nb: [2, 3]\n"}
binaryData: {logo.png: iVBORw0KGgo=}
`},
		{name: "Service", wantKind: "FederatedService", wantName: "k8shserver", in: `apiVersion: v1
kind: Service
metadata: {name: k8shserver, namespace: web}
spec:
  type: LoadBalancer
  selector: {app: k8shserver}
  sessionAffinity: ClientIP
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: http, protocol: TCP}]
`},
		{name: "Ingress", wantKind: "FederatedIngress", wantName: "k8shserver", in: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: k8shserver, namespace: web, annotations: {kubernetes.io/ingress.global-static-ip-name: k8shserver}}
spec:
  ingressClassName: gce
  tls: [{hosts: [k8shserver.example.com], secretName: tls}]
  rules:
  - host: k8shserver.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: k8shserver, port: {number: 80}}}}]
`},
		{name: "Secret refers to the Secret by name", wantKind: "FederatedSecret", wantName: "db",
			wantNote: "create the Secret itself in the host", in: `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: web}
type: Opaque
data: {password: c2VjcmV0}
`},
		{name: "other namespaced kind is a FederatedObject", wantKind: "FederatedObject", wantName: "role-reader", in: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: web, labels: {a: b}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
`},
		{name: "custom resource is a FederatedObject", wantKind: "FederatedObject", wantName: "widget-w1", in: `apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: web, finalizers: [example.com/cleanup]}
spec: {size: 3, colors: [red, blue], nested: {deep: {x: 1.5}}}
`},
		{name: "cluster-scoped kind is a ClusterFederatedObject", wantKind: "ClusterFederatedObject", wantName: "clusterrole-reader",
			in: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`},
		{name: "ConfigMap with immutable is a FederatedObject", wantKind: "FederatedObject", wantName: "configmap-frozen",
			wantNote: "cannot carry immutable", in: `apiVersion: v1
kind: ConfigMap
metadata: {name: frozen, namespace: web}
immutable: true
data: {a: b}
`},
		{name: "Deployment with owner references is a FederatedObject", wantKind: "FederatedObject", wantName: "deployment-owned",
			wantNote: "cannot carry metadata.ownerReferences", in: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: owned
  namespace: web
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: "1"}]
spec:
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := manifest.Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			res, err := federate.Federate(objs)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Objects) != 1 {
				t.Fatalf("want 1 object, got %d", len(res.Objects))
			}
			out := res.Objects[0]
			if kind := out.GetObjectKind().GroupVersionKind(); kind.Kind != tt.wantKind || kind.GroupVersion() != v1alpha1.GroupVersion {
				t.Fatalf("want %s, got %s", tt.wantKind, kind)
			}
			if out.GetName() != tt.wantName || out.GetNamespace() != objs[0].GetNamespace() {
				t.Errorf("want %s/%s, got %s/%s", objs[0].GetNamespace(), tt.wantName, out.GetNamespace(), out.GetName())
			}
			gotNotes := strings.Join(res.Notes, "\n")
			if tt.wantNote == "" && gotNotes != "" || !strings.Contains(gotNotes, tt.wantNote) {
				t.Errorf("want a note with %q, got %q", tt.wantNote, gotNotes)
			}
			if fs, ok := out.(*v1alpha1.FederatedSecret); ok {
				if fs.Spec.SecretRef.Name != "db" {
					t.Errorf("want secretRef db, got %q", fs.Spec.SecretRef.Name)
				}
				raw, _ := json.Marshal(out)
				if strings.Contains(string(raw), "c2VjcmV0") {
					t.Errorf("the FederatedSecret carries the Secret's data: %s", raw)
				}
				return
			}
			// The member objects it makes have the input's name and namespace.
			fo := out.(propagate.Federated)
			desired, err := propagate.Desired(fo, propagate.Target{})
			if err != nil {
				t.Fatal(err)
			}
			if desired.GetName() != objs[0].GetName() || desired.GetNamespace() != objs[0].GetNamespace() {
				t.Errorf("member object %s/%s, want %s/%s", desired.GetNamespace(), desired.GetName(), objs[0].GetNamespace(), objs[0].GetName())
			}
			// Round trip: the template is the input (a typed template has no name or namespace of
			// its own: those are the federated object's).
			tmpl, err := fo.TemplateObject()
			if err != nil {
				t.Fatal(err)
			}
			_, whole := fo.(*v1alpha1.FederatedObject)
			if _, cluster := fo.(*v1alpha1.ClusterFederatedObject); cluster {
				whole = true
			}
			if !whole {
				if fo.GetName() != objs[0].GetName() || fo.GetNamespace() != objs[0].GetNamespace() {
					t.Errorf("federated object %s/%s, want %s/%s", fo.GetNamespace(), fo.GetName(), objs[0].GetNamespace(), objs[0].GetName())
				}
				delete(objs[0].Object["metadata"].(map[string]any), "name")
				delete(objs[0].Object["metadata"].(map[string]any), "namespace")
			}
			want := objs[0].Object
			delete(want, "status")
			wmd := want["metadata"].(map[string]any)
			for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"} {
				delete(wmd, f)
			}
			if a, ok := wmd["annotations"].(map[string]any); ok {
				delete(a, "kubectl.kubernetes.io/last-applied-configuration")
			}
			if diff := cmp.Diff(prune(normalize(t, want)), prune(normalize(t, tmpl))); diff != "" {
				t.Errorf("the template is not the input (-input +template):\n%s", diff)
			}
		})
	}
}

func TestFederateRefusesUnknownFields(t *testing.T) {
	objs, err := manifest.Decode([]byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: typo, namespace: web}
spec: {replicas: 2, replica: 3, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = federate.Federate(objs)
	if err == nil || !strings.Contains(err.Error(), "Deployment web/typo") || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("want an error naming the object and the unknown field, got %v", err)
	}
}

func TestFederateClusterScopedCustomKind(t *testing.T) {
	objs, err := manifest.Decode([]byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Gadget, plural: gadgets}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g1}
spec: {x: 1}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: robot, namespace: web}
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := federate.Federate(objs)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(res.Objects))
	for _, o := range res.Objects {
		got = append(got, o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetNamespace()+"/"+o.GetName())
	}
	want := []string{
		"ClusterFederatedObject /customresourcedefinition-gadgets.example.com",
		"ClusterFederatedObject /gadget-g1",
		"FederatedObject web/serviceaccount-robot",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// normalize returns v as JSON decodes it, with integers as int64.
func normalize(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := utiljson.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// prune drops nulls, empty objects and empty lists, which typed encoding adds or omits without
// changing the meaning.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if p := prune(e); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, prune(e))
		}
		return out
	default:
		return v
	}
}
