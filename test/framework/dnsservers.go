package framework

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/kfed-io/kfed/internal/localcluster"
)

// The DNS servers kfed's providers write to, each a real process on 127.0.0.1 ports of its
// own: etcd (bin/etcd) with CoreDNS (bin/coredns) serving it through its etcd plugin, and
// BIND 9's named (Debian package bind9) taking RFC 2136 updates signed with TSIG. Each can be
// stopped and started again on the same ports with the same data: a real outage and recovery.

// serverStartTimeout bounds how long a server may take to answer after it starts; generous,
// because the machine is shared with other tests.
const serverStartTimeout = 60 * time.Second

// process is one server process that can be stopped and started again with the same arguments.
type process struct {
	name, path, logPath string
	args                []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is already running", p.name)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s: %w", p.logPath, err)
	}
	defer func() { _ = logFile.Close() }() // the child holds its own descriptor
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	p.cmd = cmd
	return nil
}

func (p *process) stop() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil {
		localcluster.StopProcess(cmd)
	}
}

// logTail is the end of the process's log, for an error message.
func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago (and, for a DNS server,
// the same UDP port is checked too).
func FreePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		_ = l.Close()
		if err != nil {
			continue
		}
		_ = u.Close()
		return port, nil
	}
	return 0, errors.New("finding a free port: no port free for both TCP and UDP after 20 tries")
}

// poll calls ready until it returns nil or the timeout passes, and returns its last error.
func poll(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Etcd is a single-member etcd server on loopback.
type Etcd struct {
	// ClientURL is where clients reach it, e.g. http://127.0.0.1:40123.
	ClientURL string
	// Dir holds its data and log.
	Dir string
	p   *process
}

// StartEtcd starts bin/etcd with its data in dir, on free loopback ports.
func StartEtcd(ctx context.Context, dir string) (*Etcd, error) {
	path, err := localcluster.Tool(ToolsDir(), "etcd")
	if err != nil {
		return nil, err
	}
	clientPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	e := &Etcd{ClientURL: clientURL, Dir: dir, p: &process{
		name: "etcd", path: path, logPath: filepath.Join(dir, "etcd.log"),
		args: []string{
			"--name=kfed-test", "--data-dir=" + filepath.Join(dir, "etcd-data"),
			"--listen-client-urls=" + clientURL, "--advertise-client-urls=" + clientURL,
			"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=kfed-test=" + peerURL, "--log-level=warn",
		},
	}}
	if err := e.Start(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Start starts etcd (again) on the same ports with the same data and waits until it is healthy.
func (e *Etcd) Start(ctx context.Context) error {
	if err := e.p.start(); err != nil {
		return err
	}
	err := poll(ctx, serverStartTimeout, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ClientURL+"/health", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/health answered %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		e.p.stop()
		return fmt.Errorf("etcd at %s did not become healthy: %w; its log ends:\n%s", e.ClientURL, err, e.p.logTail())
	}
	return nil
}

// Stop stops etcd; its data stays for Start.
func (e *Etcd) Stop() { e.p.stop() }

// CoreDNS is bin/coredns serving one zone from etcd through its etcd plugin.
type CoreDNS struct {
	// Addr is its UDP and TCP address, 127.0.0.1:port.
	Addr string
	p    *process
}

// StartCoreDNS starts bin/coredns on a free loopback port, authoritative for zone with the
// records under prefix (e.g. /skydns) in the etcd at etcdURL. Its Corefile and log go in dir.
func StartCoreDNS(ctx context.Context, dir, zone, prefix, etcdURL string) (*CoreDNS, error) {
	path, err := localcluster.Tool(ToolsDir(), "coredns")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	corefile := filepath.Join(dir, "Corefile")
	conf := fmt.Sprintf("%s:%d {\n  bind 127.0.0.1\n  etcd {\n    path %s\n    endpoint %s\n  }\n}\n", zone, port, prefix, etcdURL)
	if err := os.WriteFile(corefile, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", corefile, err)
	}
	c := &CoreDNS{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), p: &process{
		name: "coredns", path: path, logPath: filepath.Join(dir, "coredns.log"),
		args: []string{"-conf", corefile},
	}}
	if err := c.p.start(); err != nil {
		return nil, err
	}
	// CoreDNS answers for its zone (with SERVFAIL while etcd is away) once it listens.
	if err := poll(ctx, serverStartTimeout, func(context.Context) error {
		_, err := exchange(c.Addr, zone, dns.TypeSOA)
		return err
	}); err != nil {
		c.p.stop()
		return nil, fmt.Errorf("coredns at %s did not answer: %w; its log ends:\n%s", c.Addr, err, c.p.logTail())
	}
	return c, nil
}

// Stop stops CoreDNS.
func (c *CoreDNS) Stop() { c.p.stop() }

// Named is BIND 9's named, primary for one zone, taking updates and transfers signed with one
// TSIG key.
type Named struct {
	// Addr is its UDP and TCP address, 127.0.0.1:port.
	Addr string
	// Zone is the zone it serves, without the trailing dot.
	Zone string
	// KeyName, KeyAlgorithm (e.g. hmac-sha256) and KeySecret (base64) are the TSIG key.
	KeyName, KeyAlgorithm, KeySecret string
	p                                *process
}

// NamedPath finds named: on PATH, else /usr/sbin/named.
func NamedPath() (string, error) {
	if p, err := exec.LookPath("named"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/named"); err == nil {
		return "/usr/sbin/named", nil
	}
	return "", errors.New("named (BIND 9) not found on PATH nor at /usr/sbin/named: " +
		"run `apt-get install bind9 bind9-dnsutils` (.ci/run installs it on a fresh machine)")
}

// StartNamed starts named in the foreground with its configuration, zone file, journal, pid
// and session key in dir, on a free loopback port, primary for zone (with an SOA, an NS and
// nothing else) and allowing updates and transfers to the TSIG key keyName (hmac-sha256,
// secret in base64).
func StartNamed(ctx context.Context, dir, zone, keyName, secret string) (*Named, error) {
	path, err := NamedPath()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	zone = dns.Fqdn(zone)
	zoneFile := filepath.Join(dir, "zone.db")
	zoneText := fmt.Sprintf("$TTL 300\n@ IN SOA ns1.%[1]s hostmaster.%[1]s 1 3600 600 86400 30\n@ IN NS ns1.%[1]s\nns1 IN A 127.0.0.1\n", zone)
	if err := os.WriteFile(zoneFile, []byte(zoneText), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", zoneFile, err)
	}
	conf := filepath.Join(dir, "named.conf")
	confText := fmt.Sprintf(`options {
  directory "%[1]s";
  pid-file "%[1]s/named.pid";
  session-keyfile "%[1]s/session.key";
  managed-keys-directory "%[1]s";
  listen-on port %[2]d { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
  allow-query { 127.0.0.1; };
};
controls { };
key "%[3]s" { algorithm hmac-sha256; secret "%[4]s"; };
zone "%[5]s" {
  type primary;
  file "%[6]s";
  journal "%[6]s.jnl";
  allow-update { key "%[3]s"; };
  allow-transfer { key "%[3]s"; };
};
`, dir, port, dns.Fqdn(keyName), secret, zone, zoneFile)
	if err := os.WriteFile(conf, []byte(confText), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", conf, err)
	}
	n := &Named{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Zone: zone[:len(zone)-1],
		KeyName: keyName, KeyAlgorithm: "hmac-sha256", KeySecret: secret,
		p: &process{name: "named", path: path, logPath: filepath.Join(dir, "named.log"), args: []string{"-g", "-c", conf}},
	}
	if err := n.Start(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// Start starts named (again) on the same port with the same zone and journal, and waits until
// it answers for the zone.
func (n *Named) Start(ctx context.Context) error {
	if err := n.p.start(); err != nil {
		return err
	}
	if err := poll(ctx, serverStartTimeout, func(context.Context) error {
		r, err := exchange(n.Addr, n.Zone, dns.TypeSOA)
		if err != nil {
			return err
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			return fmt.Errorf("SOA of %s answered %s", n.Zone, dns.RcodeToString[r.Rcode])
		}
		return nil
	}); err != nil {
		n.p.stop()
		return fmt.Errorf("named at %s did not serve %s: %w; its log ends:\n%s", n.Addr, n.Zone, err, n.p.logTail())
	}
	return nil
}

// Stop stops named; its zone and journal stay for Start.
func (n *Named) Stop() { n.p.stop() }

// exchange asks addr one question over UDP with a short timeout.
func exchange(addr, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// Answer asks the DNS server at addr one question (over UDP, again over TCP when the answer is
// truncated) and returns the rcode's name and the targets of the answer's records of qtype,
// sorted: addresses, CNAME targets with their trailing dot, TXT strings joined.
func Answer(addr, name string, qtype uint16) (rcode string, targets []string, err error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr)
	if err == nil && r.Truncated {
		r, _, err = (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, addr)
	}
	if err != nil {
		return "", nil, fmt.Errorf("asking %s for %s %s: %w", addr, name, dns.TypeToString[qtype], err)
	}
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		switch v := rr.(type) {
		case *dns.A:
			targets = append(targets, v.A.String())
		case *dns.AAAA:
			targets = append(targets, v.AAAA.String())
		case *dns.CNAME:
			targets = append(targets, v.Target)
		case *dns.TXT:
			targets = append(targets, strings.Join(v.Txt, ""))
		}
	}
	slices.Sort(targets)
	return dns.RcodeToString[r.Rcode], targets, nil
}

// WaitForAnswer asks every interval until the targets of name's qtype answer are want, and
// returns how long that took and how many questions it asked (1: the first answer was already
// want); an error when timeout passes first.
func WaitForAnswer(addr, name string, qtype uint16, want []string, interval, timeout time.Duration) (time.Duration, int, error) {
	want = slices.Sorted(slices.Values(want))
	start := time.Now()
	var last []string
	for q := 1; ; q++ {
		_, got, err := Answer(addr, name, qtype)
		if err == nil && slices.Equal(got, want) {
			return time.Since(start), q, nil
		}
		last = got
		if time.Since(start) > timeout {
			return time.Since(start), q, fmt.Errorf("%s %s at %s answered %v, not %v, for %s", name, dns.TypeToString[qtype], addr, last, want, timeout)
		}
		time.Sleep(interval)
	}
}
