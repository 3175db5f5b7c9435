package dns_test

import (
	"errors"
	"fmt"
	"testing"

	kdns "github.com/kfed-io/kfed/internal/dns"
)

func TestReasonOf(t *testing.T) {
	cause := errors.New("connection refused")
	pe := kdns.NewProviderError(kdns.ReasonProviderUnreachable, cause, "server %s", "127.0.0.1:53")
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"nil":          {nil, ""},
		"unclassified": {errors.New("boom"), kdns.ReasonProviderError},
		"classified":   {pe, kdns.ReasonProviderUnreachable},
		"wrapped":      {fmt.Errorf("publishing: %w", pe), kdns.ReasonProviderUnreachable},
	} {
		t.Run(name, func(t *testing.T) {
			if got := kdns.ReasonOf(tc.err); got != tc.want {
				t.Errorf("ReasonOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
	if got, want := pe.Error(), "server 127.0.0.1:53: connection refused"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(pe, cause) {
		t.Error("the cause is not in the chain")
	}
	if got := kdns.NewProviderError(kdns.ReasonZoneNotFound, nil, "no zone").Error(); got != "no zone" {
		t.Errorf("Error() without a cause = %q", got)
	}
}
