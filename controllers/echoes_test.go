package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestEchoes: the watch event of kfed's own write wakes nothing, whether it comes before or after
// the write's answer; every other event wakes the object, once.
func TestEchoes(t *testing.T) {
	web := types.NamespacedName{Namespace: "shop", Name: "web"}
	type step struct {
		do   string // "write", "done <rv>", "event <rv>"
		wake bool   // what done or heard returns
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no write of kfed's: an event wakes", []step{{"event 5", true}}},
		{"the echo after the answer", []step{{"write", false}, {"done 7", false}, {"event 7", false}, {"event 8", true}}},
		{"the echo before the answer", []step{{"write", false}, {"event 7", false}, {"done 7", false}, {"event 8", true}}},
		{"another change during the write", []step{{"write", false}, {"event 6", false}, {"done 7", true}}},
		{"another change after the answer, the echo never heard", []step{{"write", false}, {"done 7", false}, {"event 9", true}, {"event 10", true}}},
		{"a failed write: what was heard wakes", []step{{"write", false}, {"event 6", false}, {"done ", true}, {"event 8", true}}},
		{"a failed write, nothing heard", []step{{"write", false}, {"done ", false}, {"event 8", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e echoes
			for i, s := range tt.steps {
				var got bool
				switch {
				case s.do == "write":
					e.writing(web, "us")
				case len(s.do) > 5 && s.do[:5] == "done ":
					got = e.done(web, "us", s.do[5:])
				case s.do == "done ":
					got = e.done(web, "us", "")
				default:
					got = e.heard(web, "us", s.do[6:])
				}
				if got != s.wake {
					t.Errorf("step %d (%s): wake %v, want %v", i, s.do, got, s.wake)
				}
			}
			if got := e.heard(types.NamespacedName{Namespace: "shop", Name: "other"}, "us", "7"); !got {
				t.Error("an event of another object's copy is taken for an echo")
			}
		})
	}
}
