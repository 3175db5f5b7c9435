package propagate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

var fleet = []Cluster{
	{Name: "cluster-us-east1-b", Labels: map[string]string{"region": "us-east1", "env": "prod"}},
	{Name: "cluster-europe-west1-b", Labels: map[string]string{"region": "europe-west1", "env": "prod"}},
	{Name: "cluster-asia-east1-a", Labels: map[string]string{"region": "asia-east1", "env": "staging"}},
	{Name: "cluster-bare"},
}

func TestSelectClusters(t *testing.T) {
	prod := &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	tests := []struct {
		name      string
		placement v1alpha1.Placement
		clusters  []Cluster
		want      []string
		wantErr   bool
	}{
		{
			name: "neither names nor selector: every cluster, sorted",
			want: []string{"cluster-asia-east1-a", "cluster-bare", "cluster-europe-west1-b", "cluster-us-east1-b"},
		},
		{
			name:      "names only; a name that is not joined selects nothing",
			placement: v1alpha1.Placement{Clusters: []string{"cluster-us-east1-b", "cluster-gone", "cluster-bare"}},
			want:      []string{"cluster-bare", "cluster-us-east1-b"},
		},
		{
			name:      "selector only",
			placement: v1alpha1.Placement{ClusterSelector: prod},
			want:      []string{"cluster-europe-west1-b", "cluster-us-east1-b"},
		},
		{
			name:      "names and selector: a cluster must match both",
			placement: v1alpha1.Placement{Clusters: []string{"cluster-us-east1-b", "cluster-asia-east1-a"}, ClusterSelector: prod},
			want:      []string{"cluster-us-east1-b"},
		},
		{
			name:      "empty selector matches every cluster",
			placement: v1alpha1.Placement{ClusterSelector: &metav1.LabelSelector{}},
			want:      []string{"cluster-asia-east1-a", "cluster-bare", "cluster-europe-west1-b", "cluster-us-east1-b"},
		},
		{
			name: "match expressions",
			placement: v1alpha1.Placement{ClusterSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "region", Operator: metav1.LabelSelectorOpIn, Values: []string{"asia-east1", "europe-west1"}},
			}}},
			want: []string{"cluster-asia-east1-a", "cluster-europe-west1-b"},
		},
		{
			name: "DoesNotExist selects the clusters without the label",
			placement: v1alpha1.Placement{ClusterSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "region", Operator: metav1.LabelSelectorOpDoesNotExist},
			}}},
			want: []string{"cluster-bare"},
		},
		{
			name:      "selector matching nothing",
			placement: v1alpha1.Placement{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "dev"}}},
			want:      []string{},
		},
		{
			name:     "no clusters",
			clusters: []Cluster{},
			want:     []string{},
		},
		{
			name:     "a cluster listed twice is selected once",
			clusters: []Cluster{{Name: "b"}, {Name: "a"}, {Name: "b"}},
			want:     []string{"a", "b"},
		},
		{
			name: "bad selector",
			placement: v1alpha1.Placement{ClusterSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "region", Operator: "Near", Values: []string{"us"}},
			}}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clusters := tt.clusters
			if clusters == nil {
				clusters = fleet
			}
			got, err := SelectClusters(tt.placement, clusters)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SelectClusters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct {
		in      string
		want    Origin
		wantErr bool
	}{
		{in: "FederatedDeployment/web/frontend", want: Origin{Kind: "FederatedDeployment", Namespace: "web", Name: "frontend"}},
		{in: "ClusterFederatedObject//reader", want: Origin{Kind: "ClusterFederatedObject", Name: "reader"}},
		{in: "", wantErr: true},
		{in: "FederatedDeployment/web", wantErr: true},
		{in: "FederatedDeployment/web/frontend/extra", wantErr: true},
		{in: "/web/frontend", wantErr: true},
		{in: "FederatedDeployment/web/", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOrigin(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseOrigin (-want +got):\n%s", diff)
			}
			if back := FormatOrigin(got); back != tt.in {
				t.Errorf("FormatOrigin(ParseOrigin(%q)) = %q", tt.in, back)
			}
		})
	}
}
