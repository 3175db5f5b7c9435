// Package manifest reads and writes multi-document YAML manifests.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Decode splits multi-document YAML (or a JSON object) into objects, skipping empty documents.
// A List (kind: List, as `kubectl get -o yaml` prints several objects) is flattened.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading YAML document %d: %w", i, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("parsing YAML document %d: %w", i, err)
		}
		m := map[string]any{}
		if err := utiljson.Unmarshal(js, &m); err != nil {
			return nil, fmt.Errorf("YAML document %d is not an object: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("YAML document %d has no apiVersion or kind", i)
		}
		if u.IsList() {
			err := u.EachListItem(func(o runtime.Object) error {
				item, ok := o.(*unstructured.Unstructured)
				if !ok || item.GetAPIVersion() == "" || item.GetKind() == "" {
					return fmt.Errorf("an item of the List in YAML document %d has no apiVersion or kind", i)
				}
				out = append(out, item)
				return nil
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, u)
	}
}

// Format is how Print writes objects.
type Format string

// The formats Print knows.
const (
	YAML Format = "yaml"
	JSON Format = "json"
)

// ParseFormat checks an -o value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case YAML, JSON:
		return f, nil
	default:
		return "", fmt.Errorf(`unknown output format %q: use "yaml" or "json"`, s)
	}
}

// Print writes objects: YAML documents separated by "---", or one JSON object per object.
// Typed objects need their TypeMeta set. Empty status and a null creationTimestamp, which typed
// objects always carry, are left out.
func Print(w io.Writer, f Format, objs ...runtime.Object) error {
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return fmt.Errorf("converting %s: %w", describe(o), err)
		}
		tidy(m)
		var raw []byte
		switch f {
		case JSON:
			raw, err = json.MarshalIndent(m, "", "  ")
			raw = append(raw, '\n')
		default:
			raw, err = yaml.Marshal(m)
			raw = append([]byte("---\n"), raw...)
		}
		if err != nil {
			return fmt.Errorf("encoding %s: %w", describe(o), err)
		}
		if _, err := w.Write(raw); err != nil {
			return fmt.Errorf("writing %s: %w", describe(o), err)
		}
	}
	return nil
}

// tidy drops what a typed object carries without meaning it: a null creationTimestamp and a
// status that is empty or only zero.
func tidy(m map[string]any) {
	if md, ok := m["metadata"].(map[string]any); ok && md["creationTimestamp"] == nil {
		delete(md, "creationTimestamp")
	}
	if st, ok := m["status"].(map[string]any); ok {
		zero := true
		for _, v := range st {
			if n, isNum := v.(int64); !isNum || n != 0 {
				zero = false
			}
		}
		if zero {
			delete(m, "status")
		}
	}
}

func describe(o runtime.Object) string {
	gvk := o.GetObjectKind().GroupVersionKind()
	if gvk == (schema.GroupVersionKind{}) {
		return fmt.Sprintf("%T", o)
	}
	return gvk.Kind
}
