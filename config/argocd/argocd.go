// Package argocd generates kfed's Argo CD health checks: one health.lua per kind at
// federation.kfed.io/<Kind>/, each with a health_test.yaml and testdata/ in Argo CD's
// resource_customizations format, and docs/argocd.md with the argocd-cm snippet. Every kind
// shares one status shape, so every kind gets the same script, health.lua in this folder; the
// cases differ only where the kind's reasons do. `make argocd` (go run ./config/argocd/gen)
// writes the files; a test fails when the committed ones differ from what Files returns.
package argocd

import (
	_ "embed"
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/yaml"
)

// Script is the health check of every kfed kind.
//
//go:embed health.lua
var Script string

// Group is kfed's API group: the first part of the resource_customizations path and of the
// argocd-cm key.
const Group = "federation.kfed.io"

const apiVersion = Group + "/v1alpha1"

// Dir is where the per-kind folders live, relative to the repository root.
const Dir = "config/argocd"

// DocPath is the generated docs page, relative to the repository root.
const DocPath = "docs/argocd.md"

// Kind is one kfed kind that gets a health check.
type Kind struct {
	Name string
	// Namespaced kinds get a namespace in their test objects.
	Namespaced bool
	// Member is a FederatedCluster: its Ready condition is about probes, not propagation.
	Member bool
}

// Kinds are every kind of api/v1alpha1, and FederatedDomain (see DESIGN.md).
var Kinds = []Kind{
	{Name: "FederatedCluster", Member: true},
	{Name: "FederatedDeployment", Namespaced: true},
	{Name: "FederatedReplicaSet", Namespaced: true},
	{Name: "FederatedDaemonSet", Namespaced: true},
	{Name: "FederatedJob", Namespaced: true},
	{Name: "FederatedConfigMap", Namespaced: true},
	{Name: "FederatedSecret", Namespaced: true},
	{Name: "FederatedService", Namespaced: true},
	{Name: "FederatedIngress", Namespaced: true},
	{Name: "FederatedObject", Namespaced: true},
	{Name: "ClusterFederatedObject"},
	{Name: "FederatedDomain"},
}

// The health statuses kfed's checks return.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
)

// HealthStatus is what a check returns, as health_test.yaml records it.
type HealthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// TestCase is one entry of health_test.yaml.
type TestCase struct {
	HealthStatus HealthStatus `json:"healthStatus"`
	InputPath    string       `json:"inputPath"`
}

// TestFile is health_test.yaml.
type TestFile struct {
	Tests []TestCase `json:"tests"`
}

// example is one object a check is run on, and what it must say.
type example struct {
	file       string
	want       HealthStatus
	generation int64
	// status of the object; nil leaves it out.
	status map[string]any
}

const transitionTime = "2026-11-30T10:00:00Z"

func condition(conditionType, status, reason, message string, generation int64) map[string]any {
	return map[string]any{
		"type": conditionType, "status": status, "reason": reason, "message": message,
		"observedGeneration": generation, "lastTransitionTime": transitionTime,
	}
}

func statusOf(generation int64, conditions ...map[string]any) map[string]any {
	list := make([]any, 0, len(conditions))
	for _, c := range conditions {
		list = append(list, c)
	}
	return map[string]any{"observedGeneration": generation, "conditions": list}
}

// examples are the cases of one kind: the same situations for every kind, in the words of
// the controller that owns it.
func examples(k Kind) []example {
	readyReason, readyMessage := "Propagated", "Every placed cluster (3) has the object as desired and ready"
	progressReason, progressMessage := "Propagating", "1 of 3 placed clusters have the object as desired and ready"
	failedReason, failedMessage := "PropagationFailed", "cluster-asia-east1-a: Failed (Forbidden): the member refused the write"
	invalidReason, invalidMessage := "Invalid", "cluster-us-east1-b: the member rejected the object as invalid: spec.template.spec.replicas: Invalid value: -1"
	switch {
	case k.Member:
		readyReason, readyMessage = "ProbeSucceeded", "The member answered /readyz"
		progressReason, progressMessage = "Probing", "The member has answered /readyz 1 of 2 times needed"
		failedReason, failedMessage = "ProbeFailed", "GET https://127.0.0.1:6443/readyz failed 3 times in a row: connection refused"
		invalidReason, invalidMessage = "CredentialsInvalid", `Secret kfed-system/cluster-asia-east1-a has neither key "kubeconfig" nor keys "token" and "ca.crt"`
	case k.Name == "FederatedDomain":
		readyReason, readyMessage = "ProviderReady", "The provider answers and the zone is writable"
		progressReason, progressMessage = "Reconciling", "Connecting to the provider"
		failedReason, failedMessage = "PropagationFailed", "Writing records to the provider failed: connection refused"
		invalidMessage = "spec.provider.builtin.listen: not a host:port"
	}
	ex := []example{
		{file: "healthy_converged.yaml", want: HealthStatus{Healthy, readyMessage}, generation: 2, status: statusOf(2,
			condition("Ready", "True", readyReason, readyMessage, 2),
			condition("Reconciling", "False", readyReason, "", 2),
			condition("Stalled", "False", readyReason, "", 2))},
		{file: "progressing_no_status.yaml", want: HealthStatus{Progressing, "Waiting for kfed to report the status"}, generation: 1},
		{file: "progressing_generation_behind.yaml",
			want:       HealthStatus{Progressing, "Waiting for kfed to observe generation 3 (the status describes generation 2)"},
			generation: 3, status: statusOf(2, condition("Ready", "True", readyReason, readyMessage, 2))},
		{file: "progressing_reconciling.yaml", want: HealthStatus{Progressing, progressMessage}, generation: 2, status: statusOf(2,
			condition("Ready", "False", progressReason, progressMessage, 2),
			condition("Reconciling", "True", progressReason, progressMessage, 2),
			condition("Stalled", "False", progressReason, "", 2))},
		{file: "degraded_stalled_invalid.yaml", want: HealthStatus{Degraded, invalidMessage}, generation: 2, status: statusOf(2,
			condition("Ready", "False", invalidReason, invalidMessage, 2),
			condition("Reconciling", "False", invalidReason, "", 2),
			condition("Stalled", "True", invalidReason, invalidMessage, 2))},
		// A status with Ready only (no Reconciling or Stalled) is judged by Ready's reason.
		{file: "degraded_ready_false_failure.yaml", want: HealthStatus{Degraded, failedMessage}, generation: 1,
			status: statusOf(1, condition("Ready", "False", failedReason, failedMessage, 1))},
		{file: "progressing_ready_false.yaml", want: HealthStatus{Progressing, progressMessage}, generation: 1,
			status: statusOf(1, condition("Ready", "False", progressReason, progressMessage, 1))},
		{file: "progressing_ready_unknown.yaml", want: HealthStatus{Progressing, "Unknown"}, generation: 1,
			status: statusOf(1, condition("Ready", "Unknown", "Unknown", "", 1))},
		{file: "progressing_no_ready_condition.yaml", want: HealthStatus{Progressing, "Waiting for the Ready condition"}, generation: 1,
			status: statusOf(1)},
	}
	if k.Member {
		const unauthorized = "The member rejected the credentials of Secret kfed-system/cluster-asia-east1-a (HTTP 401)"
		ex = append(ex,
			example{file: "degraded_probe_failed.yaml", want: HealthStatus{Degraded, failedMessage}, generation: 1, status: statusOf(1,
				condition("Ready", "False", "ProbeFailed", failedMessage, 1),
				condition("Reconciling", "False", "ProbeFailed", "", 1),
				condition("Stalled", "False", "ProbeFailed", "", 1))},
			example{file: "degraded_unauthorized.yaml", want: HealthStatus{Degraded, unauthorized}, generation: 1,
				status: statusOf(1, condition("Ready", "False", "Unauthorized", unauthorized, 1))},
		)
	}
	return ex
}

// object is the kfed object of one example.
func (e example) object(k Kind) map[string]any {
	meta := map[string]any{"name": "example", "generation": e.generation}
	if k.Member {
		meta["name"] = "cluster-asia-east1-a"
	}
	if k.Namespaced {
		meta["namespace"] = "default"
	}
	obj := map[string]any{"apiVersion": apiVersion, "kind": k.Name, "metadata": meta}
	if e.status != nil {
		obj["status"] = e.status
	}
	return obj
}

// KindDir is the folder of a kind's check, relative to the repository root.
func KindDir(kind string) string { return path.Join(Dir, Group, kind) }

const generatedHeader = "-- Generated by `make argocd` from config/argocd/health.lua; edit that file, not this one.\n"

// Files returns every generated file by its path relative to the repository root.
func Files() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, k := range Kinds {
		dir := KindDir(k.Name)
		files[path.Join(dir, "health.lua")] = []byte(generatedHeader + Script)
		var tests TestFile
		for _, e := range examples(k) {
			input := path.Join("testdata", e.file)
			data, err := yaml.Marshal(e.object(k))
			if err != nil {
				return nil, fmt.Errorf("encoding %s of %s: %w", input, k.Name, err)
			}
			files[path.Join(dir, input)] = data
			tests.Tests = append(tests.Tests, TestCase{HealthStatus: e.want, InputPath: input})
		}
		data, err := yaml.Marshal(tests)
		if err != nil {
			return nil, fmt.Errorf("encoding the health_test.yaml of %s: %w", k.Name, err)
		}
		files[path.Join(dir, "health_test.yaml")] = data
	}
	files[DocPath] = []byte(doc())
	return files, nil
}

// ConfigMapKey is the argocd-cm key of a kind's health check.
func ConfigMapKey(kind string) string { return "resource.customizations.health." + Group + "_" + kind }

func doc() string {
	var b strings.Builder
	b.WriteString(`<!-- Generated by ` + "`make argocd`" + ` from config/argocd/health.lua and config/argocd/argocd.go; do not edit. -->
# Argo CD health checks

Argo CD has no health check of its own for kfed's kinds, so without these it cannot tell a
federated object that failed in its members from one that converged. kfed ships one check per kind under
` + "`config/argocd/federation.kfed.io/<Kind>/health.lua`" + `, in the layout of Argo CD's
` + "`resource_customizations`" + ` folder (each with a ` + "`health_test.yaml`" + ` and ` + "`testdata/`" + `), and
` + "`go test ./config/argocd/`" + ` runs each of them with gopher-lua, the Lua runtime Argo CD uses, with
only the base and table libraries open, as Argo CD runs checks set in ` + "`argocd-cm`" + `.

Every kind reads the same status (DESIGN.md, "Status conventions"):

| the object's status | health |
| --- | --- |
| absent, or ` + "`status.observedGeneration`" + ` below ` + "`metadata.generation`" + ` | Progressing |
| ` + "`Stalled=True`" + ` (kfed cannot go on without a change, e.g. ` + "`Invalid`" + `) | Degraded |
| ` + "`Reconciling=True`" + ` | Progressing |
| ` + "`Ready=True`" + ` | Healthy |
| ` + "`Ready=False`" + ` with a reason someone must act on (` +
		"`PropagationFailed`, `Invalid`, `DeletionBlocked`, `ProbeFailed`, `Unauthorized`, ..." + `) | Degraded |
| anything else (` + "`Ready=False`" + ` while ` + "`Propagating`, `Probing`, `NoClusters`; `Ready=Unknown`" + `) | Progressing |

The message is the deciding condition's message (its reason when it has none).

## Install

Merge these keys into the ` + "`data`" + ` of the ` + "`argocd-cm`" + ` ConfigMap of your Argo CD (with the
Argo CD Helm chart: under ` + "`configs.cm`" + `), then Argo CD uses them on its next refresh:

` + "```yaml" + `
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
`)
	for _, k := range Kinds {
		b.WriteString("  " + ConfigMapKey(k.Name) + ": |\n")
		for _, line := range strings.Split(strings.TrimRight(Script, "\n"), "\n") {
			if line == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("    " + line + "\n")
		}
	}
	b.WriteString("```\n\n" + `The script is the same for every kind; it lives once in ` + "`config/argocd/health.lua`" + `, and
` + "`make argocd`" + ` writes the per-kind folders and this page from it.
`)
	return b.String()
}
