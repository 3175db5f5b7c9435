package config_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// The limits a CRD meets on its way into a host cluster, checked against kube-apiserver v1.37 and
// etcd v3.6:
//   - etcd refuses a request over its --max-request-bytes, 1.5 MiB by default; the whole stored
//     object (schema, managedFields, status) is one etcd value, so this is the bound that bites.
//   - kube-apiserver refuses a request body over 3 MiB (genericapiserver's MaxRequestBodyBytes).
//   - client-side `kubectl apply` copies the whole object into the
//     kubectl.kubernetes.io/last-applied-configuration annotation, and all annotations together
//     may hold 256 KiB: that is why kfed is installed with server-side apply only.
const (
	etcdMaxRequestBytes = 1536 * 1024
	annotationsMaxBytes = 256 * 1024
	// maxCRDBytes leaves a third of etcd's limit for managedFields, status and growth.
	maxCRDBytes = etcdMaxRequestBytes * 2 / 3
)

// TestCRDsFitTheAPIServersLimits measures every CRD of config/crd/bases as the compact JSON an
// apply sends, fails when one exceeds maxCRDBytes, and prints the largest.
func TestCRDsFitTheAPIServersLimits(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in crd/bases (%v)", err)
	}
	largest, largestSize := "", 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if obj["kind"] != "CustomResourceDefinition" {
			t.Fatalf("%s holds a %v, not a CustomResourceDefinition", f, obj["kind"])
		}
		compact, err := json.Marshal(obj)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		size := len(compact)
		if size > maxCRDBytes {
			t.Errorf("%s is %d bytes as JSON, over the %d this test allows (etcd stores at most %d in one value): "+
				"shorten descriptions or drop fields from the template schema", f, size, maxCRDBytes, etcdMaxRequestBytes)
		}
		if size > largestSize {
			largest, largestSize = f, size
		}
	}
	t.Logf("largest CRD: %s, %d bytes as JSON (%.0f%% of etcd's %d-byte request limit; %.1fx the %d bytes client-side apply's annotation may hold)",
		filepath.Base(largest), largestSize, 100*float64(largestSize)/etcdMaxRequestBytes, etcdMaxRequestBytes,
		float64(largestSize)/annotationsMaxBytes, annotationsMaxBytes)
}
