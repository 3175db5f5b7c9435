// Package coredns is the Provider that writes records into etcd in the SkyDNS layout CoreDNS's
// etcd plugin serves. The name a.b.example.com under the prefix /skydns is the key path
// /skydns/com/example/b/a; each record of a set is a child key of that path whose value is the
// JSON the plugin reads ({"host": ..., "ttl": ..., "text": ...}): an IP address host is an A or
// AAAA record, a name host a CNAME, a text a TXT record.
//
// kfed's A, AAAA and TXT child keys have stable names made of the record type and the target
// (_kfed-a-c0000201 for 192.0.2.1), so applying the same Changes twice writes the same keys and
// never doubles a record. They start with "_kfed-", which no host name has, so Records tells
// kfed's record sets from keys other writers put under the prefix, and ApplyChanges deletes and
// overwrites only kfed's keys, in etcd transactions guarded against a concurrent change of the
// keys it read. A CNAME is the value of the name's own key (/skydns/com/example/b/a), because
// the plugin answers a CNAME question from that key alone; ApplyChanges never overwrites that
// key when it holds something other than a CNAME.
//
// CoreDNS answers a name with every key under its path, so a record set of a name that is a
// parent of another record set's name would also be served for the parent; the federated names
// kfed publishes never nest.
package coredns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	ctrl "sigs.k8s.io/controller-runtime"

	kdns "github.com/kfed-io/kfed/internal/dns"
)

const (
	// DefaultPrefix is the etcd path of the records, as in CoreDNS's etcd plugin.
	DefaultPrefix = "/skydns"
	// DefaultTimeout bounds one etcd request when Config.Timeout is zero.
	DefaultTimeout = 5 * time.Second
	// maxTxnOps is etcd's default --max-txn-ops: the most operations, and separately the most
	// comparisons, one transaction may hold.
	maxTxnOps = 128
	// childPrefix starts the name of every key kfed writes.
	childPrefix = "_kfed-"
	// conflictRetries is how often ApplyChanges reads again after a concurrent change.
	conflictRetries = 3
)

// Config says which etcd to write and where.
type Config struct {
	// Endpoints are etcd's client URLs, e.g. http://127.0.0.1:2379.
	Endpoints []string
	// Prefix is the path the etcd plugin reads (DefaultPrefix when empty).
	Prefix string
	// Zone is the zone whose records Records returns and ApplyChanges may write, e.g. example.com.
	Zone string
	// Timeout bounds one etcd request (DefaultTimeout when zero).
	Timeout time.Duration
}

// Provider writes one zone's records into etcd. Close releases its etcd client. It is safe for
// concurrent use.
type Provider struct {
	client   *clientv3.Client
	prefix   string // without a trailing slash
	zone     string // lower case, no trailing dot
	zonePath string // prefix + the zone's labels reversed
	timeout  time.Duration
	// where names the etcd endpoints, prefix and zone for messages.
	where string
}

var _ kdns.Provider = (*Provider)(nil)

// New checks the Config and returns its Provider. It does not wait for etcd: a Provider made
// while etcd is away works once etcd answers.
func New(cfg Config) (*Provider, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("coredns: no etcd endpoints")
	}
	for _, e := range cfg.Endpoints {
		if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
			return nil, fmt.Errorf("coredns: etcd endpoint %q is not an http:// or https:// URL", e)
		}
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "//") {
		return nil, fmt.Errorf("coredns: prefix %q is not an etcd path such as /skydns", cfg.Prefix)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	zone := strings.TrimSuffix(strings.ToLower(cfg.Zone), ".")
	if _, ok := dns.IsDomainName(zone); !ok || zone == "" || strings.Contains(zone, "..") {
		return nil, fmt.Errorf("coredns: zone %q is not a DNS name", cfg.Zone)
	}
	p := &Provider{prefix: prefix, zone: zone, timeout: cfg.Timeout}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	p.zonePath = p.path(zone)
	p.where = fmt.Sprintf("coreDNS etcd %s, prefix %s, zone %s", strings.Join(cfg.Endpoints, ","), prefix, zone)
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: p.timeout,
		Logger:      zap.NewNop(),
		// Fail a request at once on a dead connection instead of waiting for the deadline.
		DialKeepAliveTime:    p.timeout,
		DialKeepAliveTimeout: p.timeout,
		// Reconnect within seconds of etcd's return: gRPC's default backoff grows to two minutes.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: p.timeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: creating the etcd client: %w", p.where, err)
	}
	p.client = c
	return p, nil
}

// Close closes the etcd client.
func (p *Provider) Close() error {
	if err := p.client.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: closing the etcd client: %w", p.where, err)
	}
	return nil
}

// path is the etcd path of a name: the prefix, then the labels from the top.
func (p *Provider) path(name string) string {
	labels := strings.Split(name, ".")
	slices.Reverse(labels)
	return p.prefix + "/" + strings.Join(labels, "/")
}

// nameOf is the name whose path is key's parent path (or key itself for a foreign key).
func (p *Provider) nameOf(path string) string {
	labels := strings.Split(strings.TrimPrefix(path, p.prefix+"/"), "/")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

// service is the value CoreDNS's etcd plugin reads (its other fields kfed does not write).
type service struct {
	Host string `json:"host,omitempty"`
	TTL  uint32 `json:"ttl,omitempty"`
	Text string `json:"text,omitempty"`
}

// classify turns an etcd client error into a ProviderError.
func (p *Provider) classify(err error, what string) error {
	if err == nil {
		return nil
	}
	code := codes.Unknown
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	} else if s, ok := status.FromError(err); ok {
		code = s.Code()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		code == codes.Unavailable, code == codes.DeadlineExceeded, code == codes.Canceled:
		return kdns.NewProviderError(kdns.ReasonProviderUnreachable, err, "%s: no answer to %s within %s", p.where, what, p.timeout)
	case code == codes.PermissionDenied, code == codes.Unauthenticated,
		errors.Is(err, rpctypes.ErrPermissionDenied), errors.Is(err, rpctypes.ErrAuthFailed), errors.Is(err, rpctypes.ErrUserEmpty):
		return kdns.NewProviderError(kdns.ReasonUnauthorized, err, "%s: etcd refused %s", p.where, what)
	default:
		return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: %s", p.where, what)
	}
}

// Records returns the record sets under the zone's path: kfed's, from their child keys, and
// other writers' keys each as a record set of the key's own name.
func (p *Provider) Records(ctx context.Context) ([]*kdns.Endpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, err := p.client.Get(ctx, p.zonePath+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, p.classify(err, "reading "+p.zonePath+"/")
	}
	log := ctrl.LoggerFrom(ctx)
	byKey := map[kdns.Key]*kdns.Endpoint{}
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		var s service
		if err := json.Unmarshal(kv.Value, &s); err != nil {
			log.Info("Skipping an etcd key that holds no SkyDNS record", "key", key, "error", err.Error())
			continue
		}
		name := key // another writer's key is a record of its own name
		if i := strings.LastIndex(key, "/"); strings.HasPrefix(key[i+1:], childPrefix) {
			name = key[:i] // kfed's key is a record of its parent's name
		}
		typ, target := typeOf(s)
		if typ == "" {
			log.Info("Skipping an etcd key with neither host nor text", "key", key)
			continue
		}
		k := kdns.Key{DNSName: p.nameOf(name), RecordType: typ}
		ep, ok := byKey[k]
		if !ok {
			ep = &kdns.Endpoint{DNSName: k.DNSName, RecordType: typ, TTL: int64(s.TTL)}
			byKey[k] = ep
		}
		ep.Targets = append(ep.Targets, target)
		ep.TTL = min(ep.TTL, int64(s.TTL))
	}
	out := make([]*kdns.Endpoint, 0, len(byKey))
	for _, ep := range byKey {
		out = append(out, ep.Normalize())
	}
	slices.SortFunc(out, func(a, b *kdns.Endpoint) int {
		return strings.Compare(a.DNSName+" "+a.RecordType, b.DNSName+" "+b.RecordType)
	})
	return out, nil
}

// typeOf is the record type and target CoreDNS makes of a value.
func typeOf(s service) (typ, target string) {
	if s.Host == "" {
		if s.Text == "" {
			return "", ""
		}
		return kdns.RecordTypeTXT, s.Text
	}
	if ip, err := netip.ParseAddr(s.Host); err == nil {
		if ip.Is4() || ip.Is4In6() {
			return kdns.RecordTypeA, ip.Unmap().String()
		}
		return kdns.RecordTypeAAAA, ip.String()
	}
	return kdns.RecordTypeCNAME, strings.TrimSuffix(strings.ToLower(s.Host), ".")
}

// recordSet is what ApplyChanges makes of one name and type: the path of the name, the child
// prefix of the type, and the keys and values that should be there (none to delete the set).
type recordSet struct {
	what  string
	path  string
	child string // e.g. _kfed-a- ; a key of the set is path + "/" + child + suffix
	// cname: the set is the value of path itself.
	cname  bool
	values map[string]string
}

// readOp reads the keys the record set has now.
func (rs *recordSet) readOp() clientv3.Op {
	if rs.cname {
		return clientv3.OpGet(rs.path)
	}
	return clientv3.OpGet(rs.path+"/"+rs.child, clientv3.WithPrefix())
}

// ApplyChanges makes etcd hold the Changes: for every name and type they touch, kfed's child
// keys become exactly the new targets (none for a Delete). A record set already as wanted is
// left alone, so applying the same Changes again changes nothing. Each transaction holds whole
// record sets and at most etcd's 128 operations; it commits only if no key it read has changed
// since (else it reads again, three times, then says Conflict).
func (p *Provider) ApplyChanges(ctx context.Context, changes *kdns.Changes) error {
	if err := kdns.CheckChanges(p.where, changes); err != nil {
		return err
	}
	if changes == nil || changes.Empty() {
		return nil
	}
	sets := map[string]*recordSet{} // by path + child
	var order []string
	touch := func(ep *kdns.Endpoint, write bool) error {
		rs, values, err := p.recordSet(ep)
		if err != nil {
			return err
		}
		id := rs.path + "/" + rs.child // a CNAME's child is ""
		have, ok := sets[id]
		if !ok {
			sets[id], have = rs, rs
			order = append(order, id)
		}
		if write {
			have.what = rs.what
			for k, v := range values {
				have.values[k] = v
			}
		}
		return nil
	}
	for _, ep := range slices.Concat(changes.Delete, changes.UpdateOld) {
		if err := touch(ep, false); err != nil {
			return err
		}
	}
	for _, ep := range slices.Concat(changes.UpdateNew, changes.Create) {
		if err := touch(ep, true); err != nil {
			return err
		}
	}
	log := ctrl.LoggerFrom(ctx).WithValues("etcd", p.where)
	// Batches of whole record sets: each set costs one read, and at most one write per key.
	var batch []*recordSet
	ops := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := p.applyBatch(ctx, batch)
		batch, ops = nil, 0
		return err
	}
	for _, id := range order {
		rs := sets[id]
		cost := max(len(rs.values), 1) * 2 // its puts, plus as many deletes of stale keys (a guess)
		if ops+cost > maxTxnOps && len(batch) > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, rs)
		ops += cost
	}
	if err := flush(); err != nil {
		return err
	}
	log.V(1).Info("Applied DNS changes", "recordSets", len(order))
	return nil
}

// applyBatch reads the keys of the record sets and writes what differs, in transactions
// guarded by the read's revisions; it reads again after a concurrent change.
func (p *Provider) applyBatch(ctx context.Context, batch []*recordSet) error {
	for attempt := 1; ; attempt++ {
		conflict, err := p.tryBatch(ctx, batch)
		if err != nil || !conflict {
			return err
		}
		if attempt == conflictRetries {
			return kdns.NewProviderError(kdns.ReasonConflict, nil, "%s: the keys of %s kept changing while being written (%d tries)",
				p.where, batch[0].what, attempt)
		}
	}
}

// tryBatch does one read and the guarded writes; conflict says a guard failed.
func (p *Provider) tryBatch(ctx context.Context, batch []*recordSet) (conflict bool, err error) {
	reads := make([]clientv3.Op, len(batch))
	for i, rs := range batch {
		reads[i] = rs.readOp()
	}
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, err := p.client.Txn(rctx).Then(reads...).Commit()
	if err != nil {
		return false, p.classify(err, fmt.Sprintf("reading the keys of %s", batch[0].what))
	}
	var cmps []clientv3.Cmp
	var writes []clientv3.Op
	commit := func() (bool, error) {
		if len(writes) == 0 {
			return false, nil
		}
		wctx, cancel := context.WithTimeout(ctx, p.timeout)
		defer cancel()
		tr, err := p.client.Txn(wctx).If(cmps...).Then(writes...).Commit()
		if err != nil {
			return false, p.classify(err, fmt.Sprintf("writing the keys of %s", batch[0].what))
		}
		cmps, writes = nil, nil
		return !tr.Succeeded, nil
	}
	for i, rs := range batch {
		existing := map[string]int64{} // key → mod revision
		current := map[string]string{}
		for _, kv := range resp.Responses[i].GetResponseRange().Kvs {
			if rs.cname && !isCNAME(kv.Value) {
				if len(rs.values) > 0 {
					return false, kdns.NewProviderError(kdns.ReasonConflict, nil, "%s: %s: key %s holds another writer's record, not a CNAME",
						p.where, rs.what, kv.Key)
				}
				continue // not kfed's to delete
			}
			existing[string(kv.Key)] = kv.ModRevision
			current[string(kv.Key)] = string(kv.Value)
		}
		var setCmps []clientv3.Cmp
		var setWrites []clientv3.Op
		for _, key := range sortedKeys(existing) {
			if _, keep := rs.values[key]; !keep {
				setCmps = append(setCmps, clientv3.Compare(clientv3.ModRevision(key), "=", existing[key]))
				setWrites = append(setWrites, clientv3.OpDelete(key))
			}
		}
		for _, key := range sortedKeys(rs.values) {
			v := rs.values[key]
			rev, ok := existing[key]
			switch {
			case ok && current[key] == v:
				continue // already as wanted
			case ok:
				setCmps = append(setCmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
			default:
				setCmps = append(setCmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
			}
			setWrites = append(setWrites, clientv3.OpPut(key, v))
		}
		if len(setWrites) > maxTxnOps {
			return false, kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: %s needs %d etcd operations, more than the %d of one transaction",
				p.where, rs.what, len(setWrites), maxTxnOps)
		}
		if len(writes)+len(setWrites) > maxTxnOps {
			if c, err := commit(); c || err != nil {
				return c, err
			}
		}
		cmps = append(cmps, setCmps...)
		writes = append(writes, setWrites...)
	}
	return commit()
}

// isCNAME tells whether a value is a CNAME to CoreDNS.
func isCNAME(value []byte) bool {
	var s service
	if json.Unmarshal(value, &s) != nil {
		return false
	}
	typ, _ := typeOf(s)
	return typ == kdns.RecordTypeCNAME
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// recordSet checks an Endpoint and returns its record set with no values, and the keys and
// values of its targets.
func (p *Provider) recordSet(ep *kdns.Endpoint) (*recordSet, map[string]string, error) {
	if ep == nil {
		return nil, nil, kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: a nil record in the changes", p.where)
	}
	invalid := func(format string, args ...any) error {
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: record %s: %s", p.where, ep, fmt.Sprintf(format, args...))
	}
	name := strings.TrimSuffix(strings.ToLower(ep.DNSName), ".")
	switch {
	case !validName(name):
		return nil, nil, invalid("%q is not a DNS name", ep.DNSName)
	case name != p.zone && !strings.HasSuffix(name, "."+p.zone):
		return nil, nil, invalid("the name is outside the zone")
	case ep.SetIdentifier != "":
		return nil, nil, invalid("CoreDNS's etcd plugin has no set identifiers (%q)", ep.SetIdentifier)
	case len(ep.Targets) == 0:
		return nil, nil, invalid("no targets")
	case ep.TTL < 0 || ep.TTL > 1<<31-1:
		return nil, nil, invalid("TTL %d is not between 0 and 2147483647", ep.TTL)
	}
	rs := &recordSet{what: ep.String(), path: p.path(name), values: map[string]string{}}
	values := map[string]string{}
	for _, t := range ep.Targets {
		s := service{TTL: uint32(ep.TTL)}
		var child string
		switch ep.RecordType {
		case kdns.RecordTypeA, kdns.RecordTypeAAAA:
			ip, err := netip.ParseAddr(t)
			switch {
			case err != nil || ip.Zone() != "":
				return nil, nil, invalid("target %q is not an IP address", t)
			case ep.RecordType == kdns.RecordTypeA && !ip.Is4():
				return nil, nil, invalid("target %q is not an IPv4 address", t)
			case ep.RecordType == kdns.RecordTypeAAAA && (!ip.Is6() || ip.Is4In6()):
				return nil, nil, invalid("target %q is not an IPv6 address", t)
			}
			rs.child = childPrefix + strings.ToLower(ep.RecordType) + "-"
			child = hex.EncodeToString(ip.AsSlice())
			s.Host = ip.String()
		case kdns.RecordTypeCNAME:
			target := strings.TrimSuffix(strings.ToLower(t), ".")
			if len(ep.Targets) != 1 {
				return nil, nil, invalid("a CNAME has exactly one target, not %d", len(ep.Targets))
			}
			if !validName(target) {
				return nil, nil, invalid("target %q is not a DNS name", t)
			}
			rs.cname = true
			s.Host = target
		case kdns.RecordTypeTXT:
			if t == "" {
				return nil, nil, invalid("an empty TXT target (CoreDNS would not serve it)")
			}
			sum := sha256.Sum256([]byte(t))
			rs.child = childPrefix + "txt-"
			child = hex.EncodeToString(sum[:8])
			s.Text = t
		default:
			return nil, nil, invalid("record type %q is not one of A, AAAA, CNAME, TXT", ep.RecordType)
		}
		b, err := json.Marshal(s)
		if err != nil {
			return nil, nil, invalid("encoding its value: %v", err)
		}
		if rs.cname {
			values[rs.path] = string(b)
		} else {
			values[rs.path+"/"+rs.child+child] = string(b)
		}
	}
	return rs, values, nil
}

// validName tells whether a name without the trailing dot is a DNS name.
func validName(name string) bool {
	if name == "" || strings.Contains(name, "..") || strings.ContainsAny(name, " /\\\"()") {
		return false
	}
	_, ok := dns.IsDomainName(name)
	return ok
}
