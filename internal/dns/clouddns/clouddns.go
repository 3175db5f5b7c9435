// Package clouddns is the Provider for a Google Cloud DNS managed zone, through
// google.golang.org/api/dns/v1. Records reads the zone's A, AAAA, CNAME and TXT record sets
// (resourceRecordSets.list, every page); ApplyChanges writes Changes as changes.create, each
// change within the API's limits, waits until Cloud DNS says it is done, and retries throttled
// calls without ever applying a change twice.
//
// Cloud DNS holds one record set per name and type: its routing policy lists the items
// (targets with a weight, a region) that kfed keeps as one Endpoint per member cluster (a set
// identifier). So the Endpoints of one name and type that carry set identifiers become one
// record set, with a routing policy built from them: Weighted → wrr (one item per set, its
// weight), Geo → geo (one item per set, located in its Google Cloud region), Failover →
// primaryBackup (the primary sets' targets as primary targets, the others as geo backups in
// their regions); sets without routing are one plain record set of all their targets. Next to
// it kfed writes a TXT record set of its own, the set list, named
// _kfed-sets-<type>-<first label>.<rest of the name>, holding every set's identifier, routing
// and targets, so that Records gives back exactly the Endpoints written. The set list is kfed's
// bookkeeping: Records does not return it, and it changes in the same change as its record set.
package clouddns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	gdns "google.golang.org/api/dns/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	ctrl "sigs.k8s.io/controller-runtime"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/cloudapi"
)

// Limits of one change and one record set (Cloud DNS quotas and limits page).
const (
	MaxAdditions       = 1000
	MaxDeletions       = 1000
	MaxRrdataBytes     = 100000
	MaxRecordsPerRRSet = 100
	// DefaultTTL is the TTL of a record whose Endpoint has none.
	DefaultTTL = 300
	// DefaultChangeTimeout bounds the wait for a change to be done when Config.ChangeTimeout
	// is zero.
	DefaultChangeTimeout = 2 * time.Minute
	setListTTL           = 300
	setListPrefix        = "_kfed-sets-"
	setEntryPrefix       = "kfed-set?"
)

// Config says which managed zone to write and how to reach it.
type Config struct {
	// Project holds the managed zone.
	Project string
	// ManagedZone is the zone's name (not its DNS name).
	ManagedZone string
	// Endpoint is the API's base URL when it is not https://dns.googleapis.com/ (a test's fake).
	Endpoint string
	// CredentialsJSON is a service account key; empty means Application Default Credentials
	// (workload identity, GOOGLE_APPLICATION_CREDENTIALS, the metadata server).
	CredentialsJSON []byte
	// HTTPClient makes the requests as it is, authenticating them itself; it replaces the
	// credentials. For tests and proxies.
	HTTPClient *http.Client
	// HealthCheck is the health check (its full resource URL) a Failover record set's
	// primaryBackup policy names; empty sends none.
	HealthCheck string
	// Logger logs retries; the zero Logger means the context's.
	Logger logr.Logger
	// Backoff paces the attempts of throttled calls (cloudapi defaults when zero).
	Backoff cloudapi.Backoff
	// ChangeTimeout bounds the wait for a change to be done (DefaultChangeTimeout when zero);
	// PollInterval is the first wait between two looks (doubled up to 5 s; 250 ms when zero).
	ChangeTimeout, PollInterval time.Duration
}

// Provider writes one Cloud DNS managed zone. It is safe for concurrent use.
type Provider struct {
	svc           *gdns.Service
	project, zone string
	healthCheck   string
	log           logr.Logger
	backoff       cloudapi.Backoff
	changeTimeout time.Duration
	pollInterval  time.Duration
	// where names the project, zone and kind of credentials; never a key.
	where string
}

var _ kdns.Provider = (*Provider)(nil)

var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// New checks the Config and returns its Provider; it does not call the API.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Project == "" || strings.ContainsAny(cfg.Project, "/?# ") {
		return nil, fmt.Errorf("clouddns: project %q is not a project ID", cfg.Project)
	}
	if !nameRE.MatchString(cfg.ManagedZone) {
		return nil, fmt.Errorf("clouddns: managed zone %q is not a managed zone name (lower-case letters, digits and dashes)", cfg.ManagedZone)
	}
	var opts []option.ClientOption
	authKind := "application default credentials"
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("clouddns: endpoint %q is not an http:// or https:// URL with a host", cfg.Endpoint)
		}
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(cfg.Endpoint, "/")+"/"))
	}
	switch {
	case cfg.HTTPClient != nil:
		authKind = "the HTTP client's own authentication"
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	case len(cfg.CredentialsJSON) > 0:
		var key struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(cfg.CredentialsJSON, &key); err != nil || key.Type != "service_account" {
			return nil, errors.New(`clouddns: the credentials are not a service account key (JSON with "type": "service_account")`)
		}
		authKind = "a service account key"
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, cfg.CredentialsJSON))
	}
	svc, err := gdns.NewService(ctx, opts...)
	if err != nil {
		// The error of a bad key may quote it: say which step failed, not what it read.
		return nil, fmt.Errorf("clouddns: making the Cloud DNS client with %s failed", authKind)
	}
	p := &Provider{
		svc: svc, project: cfg.Project, zone: cfg.ManagedZone, healthCheck: cfg.HealthCheck, log: cfg.Logger,
		backoff: cfg.Backoff.WithDefaults(), changeTimeout: cfg.ChangeTimeout, pollInterval: cfg.PollInterval,
		where: fmt.Sprintf("clouddns project %s, managed zone %s (%s)", cfg.Project, cfg.ManagedZone, authKind),
	}
	if p.changeTimeout <= 0 {
		p.changeTimeout = DefaultChangeTimeout
	}
	if p.pollInterval <= 0 {
		p.pollInterval = 250 * time.Millisecond
	}
	return p, nil
}

func (p *Provider) logger(ctx context.Context) logr.Logger {
	if p.log.GetSink() != nil {
		return p.log
	}
	return ctrl.LoggerFrom(ctx)
}

// call runs a call that is safe to repeat (a read), retrying it while it is throttled or its
// answer is lost.
func (p *Provider) call(ctx context.Context, what string, f func(context.Context) error) error {
	attempts, err := cloudapi.Retry(ctx, p.backoff, f, func(err error) bool { return classifyRetry(err) != notRetried },
		func(attempt int, d time.Duration, err error) { p.logRetry(ctx, what, attempt, d, err) })
	if err != nil {
		return p.classify(err, what, attempts)
	}
	return nil
}

func (p *Provider) logRetry(ctx context.Context, what string, attempt int, d time.Duration, err error) {
	p.logger(ctx).V(1).Info("Retrying a Cloud DNS call", "call", what, "zone", p.zone, "attempt", attempt, "delay", d, "reason", reasonOf(err))
}

// zoneName reads the managed zone's DNS name (with the trailing dot).
func (p *Provider) zoneName(ctx context.Context) (string, error) {
	var mz *gdns.ManagedZone
	err := p.call(ctx, "managedZones.get", func(ctx context.Context) error {
		var err error
		mz, err = p.svc.ManagedZones.Get(p.project, p.zone).Context(ctx).Do()
		return err
	})
	if err != nil {
		return "", err
	}
	return fqdn(mz.DnsName), nil
}

func (p *Provider) list(ctx context.Context) ([]*gdns.ResourceRecordSet, error) {
	var all []*gdns.ResourceRecordSet
	token := ""
	for {
		var out *gdns.ResourceRecordSetsListResponse
		err := p.call(ctx, "resourceRecordSets.list", func(ctx context.Context) error {
			c := p.svc.ResourceRecordSets.List(p.project, p.zone).Context(ctx)
			if token != "" {
				c = c.PageToken(token)
			}
			var err error
			out, err = c.Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, out.Rrsets...)
		if out.NextPageToken == "" {
			return all, nil
		}
		token = out.NextPageToken
	}
}

// Records returns the zone's A, AAAA, CNAME and TXT record sets as Endpoints: a plain record
// set as one Endpoint, a record set kfed wrote from set-identified Endpoints as those
// Endpoints (read from its set list). A routed record set without a set list (another
// writer's) is left out, as kfed cannot name its sets; one whose set list no longer matches it
// (changed outside kfed) reads as its sets without targets, so the next plan rewrites it.
func (p *Provider) Records(ctx context.Context) ([]*kdns.Endpoint, error) {
	if _, err := p.zoneName(ctx); err != nil {
		return nil, err
	}
	rrs, err := p.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []*kdns.Endpoint
	for _, g := range readGroups(rrs) {
		if !g.foreign {
			out = append(out, g.endpoints()...)
		}
	}
	return out, nil
}

func fqdn(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") + "." }

// SetListName returns the name of the set list of the record set (name, type).
func SetListName(name, recordType string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	first, rest, _ := strings.Cut(name, ".")
	prefix := setListPrefix + strings.ToLower(recordType) + "-"
	label := prefix + first
	if len(label) > 63 {
		sum := sha256.Sum256([]byte(first))
		label = prefix + first[:63-len(prefix)-9] + "-" + hex.EncodeToString(sum[:4])
	}
	if rest == "" {
		return label
	}
	return label + "." + rest
}

type groupKey struct{ name, typ string } // name without the trailing dot

// group is the state of one (name, type): its record set and set list as read, and the
// Endpoints they hold by set identifier ("" for a plain record set).
type group struct {
	key            groupKey
	rrset, setList *gdns.ResourceRecordSet
	sets           map[string]*kdns.Endpoint
	// foreign: a routed record set without a set list, which kfed cannot express.
	foreign bool
}

func (g *group) endpoints() []*kdns.Endpoint {
	out := make([]*kdns.Endpoint, 0, len(g.sets))
	for _, id := range slices.Sorted(maps.Keys(g.sets)) {
		out = append(out, g.sets[id])
	}
	return out
}

var recordTypes = []string{kdns.RecordTypeA, kdns.RecordTypeAAAA, kdns.RecordTypeCNAME, kdns.RecordTypeTXT}

// readGroups sorts the zone's record sets into groups.
func readGroups(rrs []*gdns.ResourceRecordSet) map[groupKey]*group {
	byKey := map[groupKey]*gdns.ResourceRecordSet{}
	for _, r := range rrs {
		byKey[groupKey{strings.TrimSuffix(strings.ToLower(r.Name), "."), r.Type}] = r
	}
	out := map[groupKey]*group{}
	for k, r := range byKey {
		if !slices.Contains(recordTypes, k.typ) {
			continue
		}
		if k.typ == kdns.RecordTypeTXT && strings.HasPrefix(k.name, setListPrefix) {
			if _, ok := parseSetList(r); ok {
				continue // a set list, read with its record set
			}
		}
		g := &group{key: k, rrset: r, sets: map[string]*kdns.Endpoint{}}
		out[k] = g
		if sl, ok := byKey[groupKey{SetListName(k.name, k.typ), kdns.RecordTypeTXT}]; ok {
			if sets, ok := parseSetList(sl); ok {
				g.setList = sl
				for _, e := range sets {
					e.DNSName, e.RecordType = k.name, k.typ
					g.sets[e.SetIdentifier] = e.Normalize()
				}
				if built, _, err := buildRRSet(k, g.endpoints(), ""); err != nil || canon(built) != canon(r) {
					for _, e := range g.sets {
						e.Targets = nil
					}
				}
				continue
			}
		}
		if r.RoutingPolicy != nil {
			g.foreign = true
			continue
		}
		e := &kdns.Endpoint{DNSName: k.name, RecordType: k.typ, TTL: r.Ttl}
		for _, d := range r.Rrdatas {
			e.Targets = append(e.Targets, fromRrdata(k.typ, d))
		}
		g.sets[""] = e.Normalize()
	}
	return out
}

func fromRrdata(typ, d string) string {
	if typ == kdns.RecordTypeTXT {
		return cloudapi.UnquoteTXT(d)
	}
	return d
}

func toRrdata(typ, t string) string {
	switch typ {
	case kdns.RecordTypeTXT:
		return cloudapi.QuoteTXT(t)
	case kdns.RecordTypeCNAME:
		return fqdn(t)
	}
	return t
}

// A set list entry is one TXT string: "kfed-set?" and a URL query of the set's identifier
// (id), TTL (ttl), routing (p: policy, w: weight, pr: primary, r: region) and targets (t).
func encodeSet(e *kdns.Endpoint) string {
	v := url.Values{"id": {e.SetIdentifier}, "ttl": {strconv.FormatInt(e.TTL, 10)}, "t": e.Targets}
	if r := e.Routing; r != nil {
		v.Set("p", r.Policy)
		v.Set("w", strconv.FormatInt(r.Weight, 10))
		v.Set("r", r.Region)
		if r.Primary {
			v.Set("pr", "1")
		}
	}
	return setEntryPrefix + v.Encode()
}

func parseSetList(r *gdns.ResourceRecordSet) ([]*kdns.Endpoint, bool) {
	if r.RoutingPolicy != nil || len(r.Rrdatas) == 0 {
		return nil, false
	}
	var out []*kdns.Endpoint
	for _, d := range r.Rrdatas {
		q, ok := strings.CutPrefix(cloudapi.UnquoteTXT(d), setEntryPrefix)
		if !ok {
			return nil, false
		}
		v, err := url.ParseQuery(q)
		if err != nil || v.Get("id") == "" {
			return nil, false
		}
		ttl, err := strconv.ParseInt(v.Get("ttl"), 10, 64)
		if err != nil {
			return nil, false
		}
		e := &kdns.Endpoint{SetIdentifier: v.Get("id"), TTL: ttl, Targets: v["t"]}
		if pol := v.Get("p"); pol != "" {
			w, _ := strconv.ParseInt(v.Get("w"), 10, 64)
			e.Routing = &kdns.Routing{Policy: pol, Weight: w, Region: v.Get("r"), Primary: v.Get("pr") == "1"}
		}
		out = append(out, e)
	}
	return out, true
}

func invalid(format string, args ...any) error {
	return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "clouddns: "+format, args...)
}

var gcpRegion = regexp.MustCompile(`^[a-z]+(-[a-z]+)+[0-9]+$`)

// buildRRSet returns the record set (and set list, for set-identified Endpoints) of one
// group's Endpoints, sorted by set identifier.
func buildRRSet(k groupKey, sets []*kdns.Endpoint, healthCheck string) (rrset, setList *gdns.ResourceRecordSet, err error) {
	if len(sets) == 0 {
		return nil, nil, nil
	}
	if len(sets) == 1 && sets[0].SetIdentifier == "" {
		e := sets[0]
		if e.Routing != nil {
			return nil, nil, invalid("%s: a routed record set needs a set identifier", e)
		}
		d, err := rrdatas(k, e)
		if err != nil {
			return nil, nil, err
		}
		return &gdns.ResourceRecordSet{Name: fqdn(k.name), Type: k.typ, Ttl: ttlOf(e), Rrdatas: d}, nil, nil
	}
	policy, setList, ttl, err := setListOf(k, sets)
	if err != nil {
		return nil, nil, err
	}
	rrset = &gdns.ResourceRecordSet{Name: fqdn(k.name), Type: k.typ, Ttl: ttl}
	switch policy {
	case "":
		rrset.Rrdatas, err = mergedTargets(k, sets)
	case kdns.RoutingWeighted:
		rrset.RoutingPolicy, err = wrrPolicy(k, sets)
	case kdns.RoutingGeo:
		var geo *gdns.RRSetRoutingPolicyGeoPolicy
		geo, err = geoPolicy(k, sets)
		rrset.RoutingPolicy = &gdns.RRSetRoutingPolicy{Geo: geo}
	case kdns.RoutingFailover:
		rrset.RoutingPolicy, err = primaryBackupPolicy(k, sets, healthCheck)
	default:
		err = invalid("%s %s: routing policy %q is not Weighted, Failover or Geo", k.name, k.typ, policy)
	}
	if err != nil {
		return nil, nil, err
	}
	return rrset, setList, nil
}

// rrdatas returns an Endpoint's targets as record data.
func rrdatas(k groupKey, e *kdns.Endpoint) ([]string, error) {
	if len(e.Targets) == 0 {
		return nil, invalid("%s has no targets", e)
	}
	if len(e.Targets) > MaxRecordsPerRRSet {
		return nil, invalid("%s has %d targets, over the %d of a record set", e, len(e.Targets), MaxRecordsPerRRSet)
	}
	if k.typ == kdns.RecordTypeCNAME && len(e.Targets) != 1 {
		return nil, invalid("%s: a CNAME has exactly one target", e)
	}
	out := make([]string, 0, len(e.Targets))
	for _, t := range e.Targets {
		out = append(out, toRrdata(k.typ, t))
	}
	return out, nil
}

// setListOf checks that the sets share one routing policy and returns it, their set list and
// the record set's TTL (the smallest of theirs).
func setListOf(k groupKey, sets []*kdns.Endpoint) (policy string, setList *gdns.ResourceRecordSet, ttl int64, err error) {
	setList = &gdns.ResourceRecordSet{Name: fqdn(SetListName(k.name, k.typ)), Type: kdns.RecordTypeTXT, Ttl: setListTTL}
	for i, e := range sets {
		if e.SetIdentifier == "" {
			return "", nil, 0, invalid("%s: a record set without a set identifier beside ones with (%s)", e, sets[len(sets)-1])
		}
		p := ""
		if e.Routing != nil {
			p = e.Routing.Policy
		}
		if i == 0 {
			policy = p
		} else if p != policy {
			return "", nil, 0, invalid("%s: the sets of one name and type need one routing policy, not %q and %q", e, policy, p)
		}
		if ttl == 0 || ttlOf(e) < ttl {
			ttl = ttlOf(e)
		}
		stored := e.Normalize()
		stored.TTL = ttlOf(e)
		setList.Rrdatas = append(setList.Rrdatas, cloudapi.QuoteTXT(encodeSet(stored)))
	}
	return policy, setList, ttl, nil
}

// mergedTargets is the record data of sets without routing: all their targets, once each.
func mergedTargets(k groupKey, sets []*kdns.Endpoint) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, e := range sets {
		d, err := rrdatas(k, e)
		if err != nil {
			return nil, err
		}
		for _, x := range d {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	slices.Sort(out)
	if len(out) > MaxRecordsPerRRSet {
		return nil, invalid("%s %s: %d targets, over the %d of a record set", k.name, k.typ, len(out), MaxRecordsPerRRSet)
	}
	return out, nil
}

func wrrPolicy(k groupKey, sets []*kdns.Endpoint) (*gdns.RRSetRoutingPolicy, error) {
	wrr := &gdns.RRSetRoutingPolicyWrrPolicy{}
	for _, e := range sets {
		if e.Routing.Weight < 0 {
			return nil, invalid("%s: weight %d is negative", e, e.Routing.Weight)
		}
		d, err := rrdatas(k, e)
		if err != nil {
			return nil, err
		}
		item := &gdns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{Weight: float64(e.Routing.Weight), Rrdatas: d}
		if e.Routing.Weight == 0 {
			item.ForceSendFields = []string{"Weight"}
		}
		wrr.Items = append(wrr.Items, item)
	}
	return &gdns.RRSetRoutingPolicy{Wrr: wrr}, nil
}

// geoPolicy is one geo item per set, located in its Google Cloud region.
func geoPolicy(k groupKey, sets []*kdns.Endpoint) (*gdns.RRSetRoutingPolicyGeoPolicy, error) {
	geo := &gdns.RRSetRoutingPolicyGeoPolicy{}
	seen := map[string]string{}
	for _, e := range sets {
		r := e.Routing.Region
		if !gcpRegion.MatchString(r) {
			return nil, invalid("%s: region %q is not a Google Cloud region (e.g. us-east1), and Cloud DNS geo routing needs one", e, r)
		}
		if other, ok := seen[r]; ok {
			return nil, invalid("%s: sets %q and %q are both in region %s, and Cloud DNS geo routing takes one item per region", e, other, e.SetIdentifier, r)
		}
		seen[r] = e.SetIdentifier
		d, err := rrdatas(k, e)
		if err != nil {
			return nil, err
		}
		geo.Items = append(geo.Items, &gdns.RRSetRoutingPolicyGeoPolicyGeoPolicyItem{Location: r, Rrdatas: d})
	}
	return geo, nil
}

// primaryBackupPolicy: the primary sets' targets are the primary targets, the other sets geo
// backups in their regions.
func primaryBackupPolicy(k groupKey, sets []*kdns.Endpoint, healthCheck string) (*gdns.RRSetRoutingPolicy, error) {
	if k.typ != kdns.RecordTypeA && k.typ != kdns.RecordTypeAAAA {
		return nil, invalid("%s %s: Cloud DNS failover (primaryBackup) routing is for A and AAAA record sets", k.name, k.typ)
	}
	primary := &gdns.RRSetRoutingPolicyHealthCheckTargets{}
	var backups []*kdns.Endpoint
	for _, e := range sets {
		if !e.Routing.Primary {
			backups = append(backups, e)
			continue
		}
		d, err := rrdatas(k, e)
		if err != nil {
			return nil, err
		}
		primary.ExternalEndpoints = append(primary.ExternalEndpoints, d...)
	}
	if len(primary.ExternalEndpoints) == 0 || len(backups) == 0 {
		return nil, invalid("%s %s: Cloud DNS failover (primaryBackup) routing needs a primary set and a backup set", k.name, k.typ)
	}
	geo, err := geoPolicy(k, backups)
	if err != nil {
		return nil, err
	}
	return &gdns.RRSetRoutingPolicy{HealthCheck: healthCheck, PrimaryBackup: &gdns.RRSetRoutingPolicyPrimaryBackupPolicy{
		PrimaryTargets: primary, BackupGeoTargets: geo,
	}}, nil
}

func ttlOf(e *kdns.Endpoint) int64 {
	if e.TTL > 0 {
		return e.TTL
	}
	return DefaultTTL
}

// canon is a record set as JSON without the fields the server adds, for exact comparison.
func canon(r *gdns.ResourceRecordSet) string {
	if r == nil {
		return ""
	}
	b, _ := json.Marshal(r)
	var c gdns.ResourceRecordSet
	_ = json.Unmarshal(b, &c)
	c.Kind, c.Name = "", fqdn(c.Name)
	if p := c.RoutingPolicy; p != nil {
		p.Kind, p.HealthCheck = "", ""
		if p.Wrr != nil {
			p.Wrr.Kind = ""
			for _, it := range p.Wrr.Items {
				it.Kind = ""
				it.ForceSendFields = nil
			}
		}
		geos := []*gdns.RRSetRoutingPolicyGeoPolicy{p.Geo}
		if pb := p.PrimaryBackup; pb != nil {
			pb.Kind = ""
			if pb.PrimaryTargets != nil {
				slices.Sort(pb.PrimaryTargets.ExternalEndpoints)
			}
			geos = append(geos, pb.BackupGeoTargets)
		}
		for _, g := range geos {
			if g != nil {
				g.Kind = ""
				for _, it := range g.Items {
					it.Kind = ""
				}
			}
		}
	}
	b, _ = json.Marshal(&c)
	return string(b)
}

// reasonOf is the first reason of an API error, for logs.
func reasonOf(err error) string {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		if len(ge.Errors) > 0 {
			return ge.Errors[0].Reason
		}
		return strconv.Itoa(ge.Code)
	}
	return "transport"
}

// AdjustEndpoints returns the Endpoints as Records reads them back once written: normalized,
// with the default TTL filled in. A plan made from them compares like with like, so a written
// zone plans no change.
func AdjustEndpoints(eps []*kdns.Endpoint) []*kdns.Endpoint {
	out := make([]*kdns.Endpoint, 0, len(eps))
	for _, e := range eps {
		n := e.Normalize()
		n.TTL = ttlOf(n)
		out = append(out, n)
	}
	return out
}

// PrepareEndpoints makes the Provider a kdns.RoutingProvider: the Endpoints as AdjustEndpoints
// returns them, or a kdns.UnsupportedError when a name's record sets do not make one Cloud DNS
// routing policy (geo items outside the Google Cloud regions, two in one region).
func (p *Provider) PrepareEndpoints(eps []*kdns.Endpoint) ([]*kdns.Endpoint, error) {
	groups := map[groupKey][]*kdns.Endpoint{}
	var keys []groupKey
	for _, e := range eps {
		k := groupKey{name: strings.TrimSuffix(strings.ToLower(e.DNSName), "."), typ: e.RecordType}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], e)
	}
	for _, k := range keys {
		sets := groups[k]
		slices.SortFunc(sets, func(a, b *kdns.Endpoint) int { return strings.Compare(a.SetIdentifier, b.SetIdentifier) })
		if _, _, err := buildRRSet(k, sets, p.healthCheck); err != nil {
			return nil, &kdns.UnsupportedError{Reason: err.Error()}
		}
	}
	return AdjustEndpoints(eps), nil
}
