package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNameOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	randomName := func(alphabet string, maxLen int) string {
		b := make([]byte, rng.IntN(maxLen+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	tests := map[string][]string{
		"empty":           {},
		"one":             {"a"},
		"shared prefix":   {"member-00010", "member-00002", "member-00001", "member-00100"},
		"prefix of other": {"ab", "a", "abc", "", "abd", "b"},
		"long shared tails": {
			"prod-us-east1-b", "prod-us-east1-a", "prod-eu-west1-a", "prod-us-east1-c-extra", "prod-us-east1-c",
		},
		"NUL and high bytes":          {"a\x00", "a", "a\x00\x00", "\xff", "\xfe\xff", "é", "e"},
		"same 8 bytes then different": {"0123456789", "01234567", "012345678", "0123456780"},
	}
	for i := range 20 {
		n := rng.IntN(300)
		names := make([]string, 0, n)
		for range n {
			names = append(names, randomName("ab-", 1+i%12))
		}
		tests[fmt.Sprintf("random %d", i)] = names
		prefixed := make([]string, len(names))
		for j, n := range names {
			prefixed[j] = "cluster-" + n
		}
		tests[fmt.Sprintf("random prefixed %d", i)] = prefixed
	}
	for name, names := range tests {
		t.Run(name, func(t *testing.T) {
			clusters := make([]Cluster, len(names))
			for i, n := range names {
				clusters[i] = Cluster{Name: n}
			}
			got := []string{}
			for _, o := range nameOrder(clusters, make([]keyedName, 2*len(clusters))) {
				got = append(got, names[o.idx])
			}
			want := slices.Clone(names)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("nameOrder() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
