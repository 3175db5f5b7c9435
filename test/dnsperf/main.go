// Command dnsperf measures queries per second of kfed's builtin DNS server against CoreDNS
// (bin/coredns, file plugin) and BIND 9 (named) serving the same records, with dnsperf, one
// server after the other on 127.0.0.1, each for the same time. It prints one line per server.
// Figures, not pass/fail:
//
//	go run ./test/dnsperf -duration 10s
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"

	kfeddns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/builtin"
	"github.com/kfed-io/kfed/internal/dns/inmemory"
	"github.com/kfed-io/kfed/test/framework"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long dnsperf runs against each server")
	clients := flag.Int("clients", 4, "dnsperf clients (-c)")
	only := flag.String("only", "", "comma-separated servers to measure (builtin, coredns, bind); empty means all")
	flag.Parse()
	if err := run(*duration, *clients, *only); err != nil {
		fmt.Fprintln(os.Stderr, "dnsperf:", err)
		os.Exit(1)
	}
}

// The records every server serves: one federated Service in three clusters, two regions.
func records() []*kfeddns.Endpoint {
	plan, err := kfeddns.PlanService(kfeddns.ServiceInput{
		Name: "k8shserver", Namespace: "default", FederationName: "myfed", Domain: "example.com", TTL: 30,
		Targets: []kfeddns.ServiceTarget{
			{Cluster: "us-b", Region: "us-east1", Zone: "us-east1-b", IPs: []string{"10.0.0.1", "2001:db8::1"}, Healthy: true},
			{Cluster: "us-c", Region: "us-east1", Zone: "us-east1-c", IPs: []string{"10.0.0.2"}, Healthy: false},
			{Cluster: "eu-b", Region: "europe-west1", Zone: "europe-west1-b", IPs: []string{"10.0.1.1"}, Healthy: true},
			{Cluster: "asia-a", Region: "asia-east1", Zone: "asia-east1-a", IPs: []string{"10.0.2.1"}, Healthy: false},
		},
	})
	if err != nil {
		panic(err)
	}
	return plan.Endpoints
}

// queries is the dnsperf query mix: every name with its type, plus a name that does not exist.
func queries(eps []*kfeddns.Endpoint) string {
	var b strings.Builder
	for _, e := range eps {
		t := e.RecordType
		if t == kfeddns.RecordTypeCNAME {
			t = kfeddns.RecordTypeA // a resolver asks for A and gets the chain
		}
		fmt.Fprintf(&b, "%s %s\n", e.DNSName, t)
	}
	b.WriteString("nothing.default.myfed.svc.example.com A\n")
	return b.String()
}

func zoneFile(eps []*kfeddns.Endpoint) string {
	var b strings.Builder
	b.WriteString("$ORIGIN example.com.\n$TTL 30\n")
	b.WriteString("@ IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 30\n")
	b.WriteString("@ IN NS ns1.example.com.\nns1 IN A 127.0.0.1\n")
	for _, e := range eps {
		for _, t := range e.Targets {
			if e.RecordType == kfeddns.RecordTypeCNAME {
				t += "."
			}
			fmt.Fprintf(&b, "%s. %d IN %s %s\n", e.DNSName, e.TTL, e.RecordType, t)
		}
	}
	return b.String()
}

func run(duration time.Duration, clients int, only string) error {
	dir, err := os.MkdirTemp("", "kfed-dnsperf-")
	if err != nil {
		return fmt.Errorf("making a work folder: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	eps := records()
	qfile := filepath.Join(dir, "queries.txt")
	zfile := filepath.Join(dir, "example.com.zone")
	if err := os.WriteFile(qfile, []byte(queries(eps)), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(zfile, []byte(zoneFile(eps)), 0o600); err != nil {
		return err
	}

	servers := []struct {
		name  string
		start func(port int) (stop func(), err error)
	}{
		{"builtin", func(port int) (func(), error) { return startBuiltin(port, eps) }},
		{"coredns", func(port int) (func(), error) { return startCoreDNS(dir, zfile, port) }},
		{"bind", func(port int) (func(), error) { return startBIND(dir, zfile, port) }},
	}
	fmt.Printf("dnsperf -l %s -c %d, %d names (A/AAAA, CNAME chains, one NXDOMAIN), 127.0.0.1, %d CPUs\n",
		duration, clients, len(eps)+1, runtime.NumCPU())
	reference := map[string]string{}
	for _, s := range servers {
		if only != "" && !strings.Contains(","+only+",", ","+s.name+",") {
			continue
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		stop, err := s.start(port)
		if err != nil {
			return fmt.Errorf("starting %s: %w", s.name, err)
		}
		err = waitForAnswer(port)
		if err == nil {
			err = sameAnswers(s.name, port, eps, reference)
		}
		if err == nil {
			var qps, lost string
			qps, lost, err = dnsperf(qfile, port, duration, clients)
			if err == nil {
				fmt.Printf("%-8s %10s queries/s  (lost %s)\n", s.name, qps, lost)
			}
		}
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func startBuiltin(port int, eps []*kfeddns.Endpoint) (func(), error) {
	store := inmemory.New()
	if err := store.Replace(eps); err != nil {
		return nil, err
	}
	srv := builtin.NewServer()
	if err := srv.SetZone(builtin.Zone{Name: "example.com", Store: store}); err != nil {
		return nil, err
	}
	if err := srv.Start(fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

func startCoreDNS(dir, zfile string, port int) (func(), error) {
	corefile := filepath.Join(dir, "Corefile")
	conf := fmt.Sprintf("example.com:%d {\n  bind 127.0.0.1\n  file %s example.com\n}\n", port, zfile)
	if err := os.WriteFile(corefile, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return startProcess(filepath.Join(framework.ToolsDir(), "coredns"), "-conf", corefile)
}

func startBIND(dir, zfile string, port int) (func(), error) {
	conf := filepath.Join(dir, "named.conf")
	text := fmt.Sprintf(`options {
  directory "%[1]s";
  pid-file "%[1]s/named.pid";
  session-keyfile "%[1]s/session.key";
  managed-keys-directory "%[1]s";
  listen-on port %[2]d { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  notify no;
};
controls { };
zone "example.com" { type primary; file "%[3]s"; };
`, dir, port, zfile)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	return startProcess("named", "-g", "-4", "-c", conf)
}

// startProcess starts a server that dies with this program, and returns how to stop it.
func startProcess(name string, args ...string) (func(), error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
		return nil, fmt.Errorf("%s exited at once: %s", name, out.String())
	case <-time.After(500 * time.Millisecond):
	}
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}, nil
}

func waitForAnswer(port int) error {
	c := &dns.Client{Timeout: time.Second}
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeSOA)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, _, err := c.Exchange(m, fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
			}
			return fmt.Errorf("the server on port %d does not answer the SOA after 30 s: %w", port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sameAnswers asks the server every query of the mix and checks it answers what the first
// server measured answered (rcode and answer section), so that the servers race on equal work.
func sameAnswers(server string, port int, eps []*kfeddns.Endpoint, reference map[string]string) error {
	c := &dns.Client{Timeout: 5 * time.Second}
	first := len(reference) == 0
	for _, line := range strings.Split(strings.TrimSpace(queries(eps)), "\n") {
		name, qtype, _ := strings.Cut(line, " ")
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.StringToType[qtype])
		r, _, err := c.Exchange(m, fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return fmt.Errorf("asking %s: %w", line, err)
		}
		var answer []string
		for _, rr := range r.Answer {
			answer = append(answer, strings.ReplaceAll(rr.String(), "\t", " "))
		}
		slices.Sort(answer)
		got := dns.RcodeToString[r.Rcode] + " " + strings.Join(answer, " | ")
		if first {
			reference[line] = got
			continue
		}
		if reference[line] != got {
			return fmt.Errorf("%s answers %s with %q, the first server with %q", server, line, got, reference[line])
		}
	}
	return nil
}

var (
	qpsLine  = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	lostLine = regexp.MustCompile(`Queries lost:\s+([0-9]+ \([0-9.]+%\))`)
)

func dnsperf(qfile string, port int, duration time.Duration, clients int) (qps, lost string, err error) {
	cmd := exec.Command("dnsperf", "-s", "127.0.0.1", "-p", fmt.Sprint(port), "-d", qfile,
		"-l", fmt.Sprint(int(duration.Seconds())), "-c", fmt.Sprint(clients), "-T", "1", "-q", "500")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("dnsperf: %w: %s", err, out)
	}
	m := qpsLine.FindSubmatch(out)
	if m == nil {
		return "", "", errors.New("no 'Queries per second' in dnsperf's output: " + string(out))
	}
	l := lostLine.FindSubmatch(out)
	lost = "?"
	if l != nil {
		lost = string(l[1])
	}
	return string(m[1]), lost, nil
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP.
func freePort() (int, error) {
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		_ = pc.Close()
		if err == nil {
			_ = l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both UDP and TCP on 127.0.0.1")
}
