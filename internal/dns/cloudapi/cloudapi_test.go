package cloudapi

import (
	"strings"
	"testing"
	"time"
)

func TestTXTQuoting(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct{ text, quoted string }{
		{"heritage=kfed,kfed/owner=x", `"heritage=kfed,kfed/owner=x"`},
		{`say "hi" \ bye`, `"say \"hi\" \\ bye"`},
		{long, `"` + long[:255] + `" "` + long[255:] + `"`},
		{"", `""`},
	}
	for _, tc := range tests {
		if got := QuoteTXT(tc.text); got != tc.quoted {
			t.Errorf("QuoteTXT(%q) = %q, want %q", tc.text, got, tc.quoted)
		}
		if got := UnquoteTXT(tc.quoted); got != tc.text {
			t.Errorf("UnquoteTXT(%q) = %q, want %q", tc.quoted, got, tc.text)
		}
	}
	for in, want := range map[string]string{
		`"a\065b"`:      "aAb", // RFC 1035 decimal escape
		`"a\999b"`:      "a999b",
		`unquoted text`: "unquoted text",
		`"one" "two"`:   "onetwo",
	} {
		if got := UnquoteTXT(in); got != want {
			t.Errorf("UnquoteTXT(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoffDelayStaysInItsWindow(t *testing.T) {
	b := Backoff{BaseDelay: 10 * time.Millisecond, MaxDelay: 80 * time.Millisecond}
	for attempt, ceiling := range []time.Duration{10, 20, 40, 80, 80, 80} {
		ceiling *= time.Millisecond
		for range 50 {
			if d := b.Delay(attempt); d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, ceiling/2, ceiling)
			}
		}
	}
	if got := (Backoff{}).WithDefaults(); got.Attempts != DefaultAttempts || got.BaseDelay != DefaultBaseDelay || got.MaxDelay != DefaultMaxDelay {
		t.Fatalf("defaults %+v", got)
	}
}
