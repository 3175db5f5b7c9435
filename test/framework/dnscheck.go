package framework

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	kdns "github.com/kfed-io/kfed/internal/dns"
)

// WantAnswer fails the test unless the DNS server at addr answers name's qtype question with
// wantRcode (e.g. NOERROR, NXDOMAIN) and exactly the targets want (in any order).
func WantAnswer(t testing.TB, addr, name string, qtype uint16, wantRcode string, want ...string) {
	t.Helper()
	rcode, got, err := Answer(addr, name, qtype)
	if err != nil {
		t.Fatal(err)
	}
	want = slices.Sorted(slices.Values(want))
	if rcode != wantRcode || !slices.Equal(got, want) {
		t.Errorf("%s %s: got %s %v, want %s %v", name, dns.TypeToString[qtype], rcode, got, wantRcode, want)
	}
}

// WantReason fails the test unless err is a Provider error with the reason.
func WantReason(t testing.TB, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one with reason %s", reason)
	}
	if got := kdns.ReasonOf(err); got != reason {
		t.Fatalf("got reason %s (%v), want %s", got, err, reason)
	}
}

// BenchmarkSettle measures the time from a Provider's ApplyChanges returning to the DNS server
// at addr answering with the new address, asking every 2 ms: it moves the A record name (in
// the Provider's zone, created here) to a new address b.N times. It reports apply-µs/op (how
// long ApplyChanges took), settle-µs/op and queries/op (1: the first answer after
// ApplyChanges was already the new one). A figure, not a bar.
func BenchmarkSettle(b *testing.B, p kdns.Provider, addr, name string) {
	ctx := context.Background()
	cur := &kdns.Endpoint{DNSName: name, RecordType: kdns.RecordTypeA, Targets: []string{"10.1.0.0"}, TTL: 30}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{cur}}); err != nil {
		b.Fatal(err)
	}
	var settle, apply time.Duration
	n, queries := 0, 0
	for b.Loop() {
		next := &kdns.Endpoint{DNSName: name, RecordType: kdns.RecordTypeA, Targets: []string{fmt.Sprintf("10.1.%d.%d", (n/250)%250, n%250+1)}, TTL: 30}
		t0 := time.Now()
		if err := p.ApplyChanges(ctx, &kdns.Changes{UpdateOld: []*kdns.Endpoint{cur}, UpdateNew: []*kdns.Endpoint{next}}); err != nil {
			b.Fatal(err)
		}
		apply += time.Since(t0)
		d, q, err := WaitForAnswer(addr, name, dns.TypeA, next.Targets, 2*time.Millisecond, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		settle += d
		queries += q
		cur = next
		n++
	}
	b.ReportMetric(float64(apply.Microseconds())/float64(n), "apply-µs/op")
	b.ReportMetric(float64(settle.Microseconds())/float64(n), "settle-µs/op")
	b.ReportMetric(float64(queries)/float64(n), "queries/op")
}
