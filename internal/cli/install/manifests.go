// Package install puts kfed into a host cluster: the CRDs, RBAC, admission policies and the
// manager Deployment that config/ holds, embedded in the binary.
package install

import (
	"fmt"
	"io/fs"
	"path"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kfed-io/kfed/internal/cli/manifest"
)

// kustomization is the part of a kustomization.yaml this package understands: a list of
// resources. Anything else (patches, images, ...) is refused rather than silently ignored.
type kustomization struct {
	APIVersion string   `json:"apiVersion,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	Resources  []string `json:"resources"`
}

// Manifests returns the objects the kustomization in dir of fsys lists, following nested
// kustomizations, in the order they must be applied (CRDs and namespaces first, workloads last).
func Manifests(fsys fs.FS, dir string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	if err := collect(fsys, path.Clean(dir), &objs, map[string]bool{}); err != nil {
		return nil, err
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return applyRank(a.GetKind()) - applyRank(b.GetKind())
	})
	return objs, nil
}

func collect(fsys fs.FS, dir string, objs *[]*unstructured.Unstructured, seen map[string]bool) error {
	if seen[dir] {
		return fmt.Errorf("kustomization %s is listed twice", dir)
	}
	seen[dir] = true
	file := path.Join(dir, "kustomization.yaml")
	raw, err := fs.ReadFile(fsys, file)
	if err != nil {
		return fmt.Errorf("reading the embedded %s: %w", file, err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		return fmt.Errorf("embedded %s: only resources are supported: %w", file, err)
	}
	for _, r := range k.Resources {
		p := path.Join(dir, r)
		if info, err := fs.Stat(fsys, p); err == nil && info.IsDir() {
			if err := collect(fsys, p, objs, seen); err != nil {
				return err
			}
			continue
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("reading the embedded %s (listed in %s): %w", p, file, err)
		}
		docs, err := manifest.Decode(data)
		if err != nil {
			return fmt.Errorf("embedded %s: %w", p, err)
		}
		*objs = append(*objs, docs...)
	}
	return nil
}

// applyRank orders kinds so that what others need exists first.
func applyRank(kind string) int {
	order := []string{
		"CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "Role",
		"ClusterRoleBinding", "RoleBinding", "ValidatingAdmissionPolicy",
		"ValidatingAdmissionPolicyBinding", "ConfigMap", "Secret", "Service",
	}
	if i := slices.Index(order, kind); i >= 0 {
		return i
	}
	return len(order) // workloads and anything else last, in their given order
}
