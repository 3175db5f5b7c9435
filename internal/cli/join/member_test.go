package join_test

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kfed-io/kfed/internal/cli/join"
)

func TestDefaultRulesAreLeastPrivilege(t *testing.T) {
	rules := join.Rules(join.AccessFederated)
	granted := map[string][]string{} // group/resource -> verbs
	for _, r := range rules {
		for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.NonResourceURLs} {
			if slices.Contains(field, rbacv1.ResourceAll) {
				t.Errorf("rule %+v grants *", r)
			}
		}
		for _, g := range r.APIGroups {
			if g == rbacv1.GroupName {
				t.Errorf("rule %+v grants RBAC objects", r)
			}
			for _, res := range r.Resources {
				granted[g+"/"+res] = r.Verbs
			}
		}
		if slices.Contains(r.Verbs, "impersonate") || slices.Contains(r.Verbs, "escalate") || slices.Contains(r.Verbs, "bind") {
			t.Errorf("rule %+v grants impersonate, escalate or bind", r)
		}
	}
	for _, res := range []string{"/configmaps", "/secrets", "/services", "/namespaces", "apps/deployments", "apps/replicasets",
		"apps/daemonsets", "batch/jobs", "networking.k8s.io/ingresses"} {
		if !slices.Contains(granted[res], "create") || !slices.Contains(granted[res], "delete") || !slices.Contains(granted[res], "watch") {
			t.Errorf("%s: want read and write, got %v", res, granted[res])
		}
	}
	for _, res := range []string{"/nodes", "/pods"} {
		if !slices.Equal(granted[res], []string{"get", "list", "watch"}) {
			t.Errorf("%s: want read only, got %v", res, granted[res])
		}
	}
}

func TestAccessAllGrantsEverything(t *testing.T) {
	rules := join.Rules(join.AccessAll)
	if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
		return slices.Equal(r.APIGroups, []string{"*"}) && slices.Equal(r.Resources, []string{"*"}) && slices.Equal(r.Verbs, []string{"*"})
	}) {
		t.Fatalf("want a rule granting * on *, got %+v", rules)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		o    join.Options
		ok   bool
	}{
		{"plain", join.Options{Name: "cluster-us-east1-b"}, true},
		{"all access", join.Options{Name: "a", Access: join.AccessAll}, true},
		{"bad access", join.Options{Name: "a", Access: "admin"}, false},
		{"bad name", join.Options{Name: "Not_A_Name"}, false},
		{"http endpoint", join.Options{Name: "a", APIEndpoint: "http://10.0.0.1:6443"}, false},
		{"https endpoint", join.Options{Name: "a", APIEndpoint: "https://10.0.0.1:6443"}, true},
		{"zones without region", join.Options{Name: "a", Zones: []string{"z"}}, false},
		{"negative wait", join.Options{Name: "a", Wait: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.o.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
