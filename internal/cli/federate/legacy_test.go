package federate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/cli/federate"
	"github.com/kfed-io/kfed/internal/cli/manifest"
	"github.com/kfed-io/kfed/internal/propagate"
)

// TestFederateConvertsRemovedVersions: workloads and Ingresses of versions no current
// Kubernetes serves become their current versions (the member object kfed would write is
// compared whole), with a note saying what was converted.
func TestFederateConvertsRemovedVersions(t *testing.T) {
	tests := []struct {
		name, in  string
		wantKind  string
		want      string // the member object, YAML, without kfed's label and annotation
		wantNotes []string
	}{
		{
			name: "the seed's ReplicaSet: a selector from the template's labels",
			in: `apiVersion: extensions/v1beta1
kind: ReplicaSet
metadata: {name: k8shserver}
spec:
  replicas: 5
  template:
    metadata: {labels: {app: k8shserver}}
    spec: {containers: [{name: k8shserver, image: echoserver:1.4, ports: [{containerPort: 8080}]}]}
`,
			wantKind: "FederatedReplicaSet",
			want: `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: k8shserver}
spec:
  replicas: 5
  selector: {matchLabels: {app: k8shserver}}
  template:
    metadata: {labels: {app: k8shserver}}
    spec: {containers: [{name: k8shserver, image: echoserver:1.4, ports: [{containerPort: 8080}]}]}
`,
			wantNotes: []string{"ReplicaSet k8shserver: converted from extensions/v1beta1 to apps/v1", "spec.selector added from the pod template's labels"},
		},
		{
			name: "an apps/v1beta2 Deployment with its selector keeps it",
			in: `apiVersion: apps/v1beta2
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: web, image: web:1}]}
`,
			wantKind: "FederatedDeployment",
			want: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: web, image: web:1}]}
`,
			wantNotes: []string{"Deployment shop/web: converted from apps/v1beta2 to apps/v1"},
		},
		{
			name: "an extensions/v1beta1 DaemonSet: its OnDelete default written out, templateGeneration dropped",
			in: `apiVersion: extensions/v1beta1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  templateGeneration: 3
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: agent:1}]}
`,
			wantKind: "FederatedDaemonSet",
			want: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: OnDelete}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: agent:1}]}
`,
			wantNotes: []string{"DaemonSet ops/agent: converted from extensions/v1beta1 to apps/v1", "OnDelete", "templateGeneration dropped"},
		},
		{
			name: "the seed's Ingress: spec.backend is spec.defaultBackend",
			in: `apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: k8shserver}
spec:
  backend: {serviceName: k8shserver, servicePort: 80}
`,
			wantKind: "FederatedIngress",
			want: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: k8shserver}
spec:
  defaultBackend: {service: {name: k8shserver, port: {number: 80}}}
`,
			wantNotes: []string{"Ingress k8shserver: converted from extensions/v1beta1 to networking.k8s.io/v1", "spec.backend is spec.defaultBackend"},
		},
		{
			name: "an Ingress with rules: named and numbered ports, pathType where unset",
			in: `apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: shop, namespace: shop, annotations: {kubernetes.io/ingress.class: gce}}
spec:
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /api, backend: {serviceName: api, servicePort: http}}
      - {path: /, pathType: Prefix, backend: {serviceName: web, servicePort: "8080"}}
`,
			wantKind: "FederatedIngress",
			want: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop, annotations: {kubernetes.io/ingress.class: gce}}
spec:
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /api, pathType: ImplementationSpecific, backend: {service: {name: api, port: {name: http}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}
`,
			wantNotes: []string{"Ingress shop/shop: converted from networking.k8s.io/v1beta1 to networking.k8s.io/v1", "2 rule paths"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := federateYAML(t, tt.in)
			if got := res.Objects[0].GetObjectKind().GroupVersionKind(); got != v1alpha1.GroupVersion.WithKind(tt.wantKind) {
				t.Fatalf("want a %s, got %s", tt.wantKind, got)
			}
			member, err := propagate.Desired(res.Objects[0].(propagate.Federated), propagate.Target{})
			if err != nil {
				t.Fatal(err)
			}
			member.SetLabels(withoutKey(member.GetLabels(), v1alpha1.LabelManaged))
			member.SetAnnotations(withoutKey(member.GetAnnotations(), v1alpha1.AnnotationOrigin))
			want, err := manifest.Decode([]byte(tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(prune(normalize(t, want[0].Object)), prune(normalize(t, member.Object))); diff != "" {
				t.Errorf("member object (-want +got):\n%s", diff)
			}
			notes := strings.Join(res.Notes, "\n")
			for _, n := range tt.wantNotes {
				if !strings.Contains(notes, n) {
					t.Errorf("notes %q do not say %q", notes, n)
				}
			}
		})
	}
}

// TestFederateRefusesRemovedVersionsItCannotConvert: one line naming the version and kind.
func TestFederateRefusesRemovedVersionsItCannotConvert(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{in: "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec: {podSelector: {}}\n",
			want: "extensions/v1beta1 NetworkPolicy is an API version no current Kubernetes serves"},
		{in: "apiVersion: apps/v1beta1\nkind: StatefulSet\nmetadata: {name: db, namespace: shop}\n",
			want: "apps/v1beta1 StatefulSet is an API version no current Kubernetes serves"},
		{in: "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n" +
			"spec: {rollbackTo: {revision: 2}, template: {metadata: {labels: {a: b}}}}\n",
			want: "spec.rollbackTo"},
		{in: "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: web, namespace: shop}\nspec: {backend: {servicePort: 80}}\n",
			want: "spec.backend has no serviceName"},
	} {
		objs, err := manifest.Decode([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		res, err := federate.Federate(objs)
		if err == nil {
			t.Errorf("want an error for\n%s\ngot %d objects", tt.in, len(res.Objects))
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want one line saying %q, got %q", tt.want, err)
		}
	}
}

// TestFederateTheSeedsManifestsOffline: the seed's three manifests (testdata/seed) become a
// FederatedReplicaSet, a FederatedService and a FederatedIngress, none a FederatedObject.
func TestFederateTheSeedsManifestsOffline(t *testing.T) {
	var in []byte
	for _, f := range []string{"replicaset.yaml", "service.yaml", "ingress.yaml"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "seed", f))
		if err != nil {
			t.Fatal(err)
		}
		in = append(append(in, raw...), []byte("\n---\n")...)
	}
	res := federateYAML(t, string(in))
	got := make([]string, 0, len(res.Objects))
	for _, o := range res.Objects {
		got = append(got, o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetName())
	}
	if diff := cmp.Diff([]string{"FederatedReplicaSet k8shserver", "FederatedService k8shserver", "FederatedIngress k8shserver"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(res.Notes) != 2 {
		t.Errorf("want a note for the ReplicaSet and one for the Ingress, got %q", res.Notes)
	}
}

func federateYAML(t *testing.T, in string) *federate.Result {
	t.Helper()
	objs, err := manifest.Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	res, err := federate.Federate(objs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func withoutKey(m map[string]string, key string) map[string]string {
	delete(m, key)
	return m
}
