package builtin

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkQueriesUDP measures answered queries per second over UDP on loopback: several
// clients, each with its own socket, asking for the global A record (two addresses) in turn.
// It reports queries/s; run with
//
//	go test -run '^$' -bench QueriesUDP -benchtime 5s ./internal/dns/builtin/
func BenchmarkQueriesUDP(b *testing.B) {
	benchmarkQueries(b, "udp")
}

// BenchmarkQueriesTCP is BenchmarkQueriesUDP over TCP, one connection per client.
func BenchmarkQueriesTCP(b *testing.B) {
	benchmarkQueries(b, "tcp")
}

func benchmarkQueries(b *testing.B, network string) {
	f := start(b)
	q := query(global, dns.TypeA)
	b.SetParallelism(4)
	b.ResetTimer()
	begin := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c := &dns.Client{Net: network, Timeout: 30 * time.Second}
		var conn *dns.Conn
		defer func() {
			if conn != nil {
				_ = conn.Close()
			}
		}()
		for pb.Next() {
			if conn == nil {
				var err error
				if conn, err = c.Dial(f.srv.Addr()); err != nil {
					b.Error(err)
					return
				}
			}
			m := q.Copy()
			m.Id = dns.Id()
			err := conn.WriteMsg(m)
			var r *dns.Msg
			if err == nil {
				r, err = conn.ReadMsg()
			}
			if err != nil && network == "tcp" {
				// The server closes a TCP connection after a number of queries (miekg/dns's
				// MaxTCPQueries, 128): dial again and ask again.
				_ = conn.Close()
				if conn, err = c.Dial(f.srv.Addr()); err == nil {
					if err = conn.WriteMsg(m); err == nil {
						r, err = conn.ReadMsg()
					}
				}
			}
			if err != nil {
				b.Error(err)
				return
			}
			if len(r.Answer) != 2 {
				b.Errorf("%d answers", len(r.Answer))
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "queries/s")
}

// BenchmarkAnswer measures building one answer without the network: the server's own cost.
func BenchmarkAnswer(b *testing.B) {
	f := start(b)
	q := query(zoneN, dns.TypeA)
	src := netip.MustParseAddr("127.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		if r := f.srv.answer(q, src, false); len(r.Answer) != 4 {
			b.Fatalf("%d answers", len(r.Answer))
		}
	}
}
