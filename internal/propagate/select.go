package propagate

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// SelectClusters returns the sorted names of the clusters a placement selects: those named in
// p.Clusters (when set) whose labels match p.ClusterSelector (when set); every cluster when
// neither is set. A selector that does not parse is an error.
func SelectClusters(p v1alpha1.Placement, clusters []Cluster) ([]string, error) {
	var selector labels.Selector
	if p.ClusterSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(p.ClusterSelector)
		if err != nil {
			return nil, fmt.Errorf("spec.placement.clusterSelector: %w", err)
		}
		selector = s
	}
	selected := make([]string, 0, len(clusters))
	for _, c := range clusters {
		if len(p.Clusters) > 0 && !slices.Contains(p.Clusters, c.Name) {
			continue
		}
		if selector != nil && !selector.Matches(labels.Set(c.Labels)) {
			continue
		}
		selected = append(selected, c.Name)
	}
	slices.Sort(selected)
	return slices.Compact(selected), nil
}

// appliesTo tells whether an override selects the cluster: by name, or by its labels.
func appliesTo(o v1alpha1.ClusterOverride, c Cluster) (bool, error) {
	if o.ClusterName != "" {
		return o.ClusterName == c.Name, nil
	}
	if o.ClusterSelector == nil {
		return false, nil
	}
	s, err := metav1.LabelSelectorAsSelector(o.ClusterSelector)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(c.Labels)), nil
}
