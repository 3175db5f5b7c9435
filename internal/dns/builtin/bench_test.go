package builtin

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	kfeddns "github.com/kfed-io/kfed/internal/dns"
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

// BenchmarkAnswerByRouting measures building one answer of a global address of five clusters
// without the network, per strategy: the cost of the routing pick beside a plain answer. Run with
//
//	go test -run '^$' -bench AnswerByRouting ./internal/dns/builtin/
func BenchmarkAnswerByRouting(b *testing.B) {
	clusters := []kfeddns.IngressCluster{
		cluster("a", "us-east1", 3, "192.0.2.1"), cluster("b", "us-east1", 1, "192.0.2.2"),
		cluster("c", "europe-west1", 2, "192.0.2.3"), cluster("d", "asia-east1", 5, "192.0.2.4"),
		cluster("e", "europe-west1", 4, "192.0.2.5"),
	}
	for _, tt := range []struct {
		strategy string
		want     int
	}{
		{kfeddns.StrategyRoundRobin, 5}, {kfeddns.RoutingWeighted, 1}, {kfeddns.RoutingFailover, 2}, {kfeddns.RoutingGeo, 2},
	} {
		b.Run(tt.strategy, func(b *testing.B) {
			g := startGLB(b)
			g.publish(b, tt.strategy, clusters...)
			q := ecsQuery(shop, 1, "10.2.3.0", 24)
			src := netip.MustParseAddr("127.0.0.1")
			b.ReportAllocs()
			for b.Loop() {
				if r := g.srv.answer(q, src, false); len(r.Answer) != tt.want {
					b.Fatalf("%d answers, want %d", len(r.Answer), tt.want)
				}
			}
		})
	}
}
