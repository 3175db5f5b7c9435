// Package route53 is the Provider for an AWS Route 53 hosted zone, through the AWS SDK for Go
// v2. Records reads the zone's A, AAAA, CNAME and TXT record sets (ListResourceRecordSets,
// every page); ApplyChanges writes Changes as ChangeResourceRecordSets batches, each within the
// API's limits and valid on its own, retried on throttling without ever applying a change twice.
//
// Routing maps onto Route 53's routing policies: Weighted onto weighted record sets (weights
// scaled into 0–255, see ScaleWeights), Failover onto failover records (PRIMARY, SECONDARY),
// Geo onto latency records in the set's AWS region. A set identifier without routing is a
// multivalue answer record set.
package route53

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/cloudapi"
)

// Limits of one ChangeResourceRecordSets request (an UPSERT counts twice in both).
const (
	MaxRecordsPerBatch = 1000
	MaxValueChars      = 32000
	// MaxWeight is the largest weight of a weighted record set.
	MaxWeight = 255
	// DefaultTTL is the TTL of a record whose Endpoint has none.
	DefaultTTL = 300
	// DefaultRegion signs the requests when Config.Region is empty: Route 53 is a global
	// service whose API lives in us-east-1.
	DefaultRegion    = "us-east-1"
	maxSetIdentifier = 128
)

// Credentials are a static AWS access key.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// String never shows the key.
func (c Credentials) String() string { return "static AWS access key" }

// GoString never shows the key.
func (c Credentials) GoString() string { return c.String() }

// Config says which hosted zone to write and how to reach it.
type Config struct {
	// HostedZoneID is the zone's ID, e.g. Z0123456789ABCDEFGHIJ ("/hostedzone/" may prefix it).
	HostedZoneID string
	// Region signs the requests (DefaultRegion when empty).
	Region string
	// Endpoint is the API's base URL when it is not the SDK's for the region (another
	// partition, a test's fake).
	Endpoint string
	// Credentials is a static access key; nil means the SDK's default chain (environment,
	// shared files, web identity such as EKS pod identity or IRSA, instance role).
	Credentials *Credentials
	// HTTPClient makes the requests; nil means the SDK's.
	HTTPClient *http.Client
	// Logger logs retries; the zero Logger means the context's.
	Logger logr.Logger
	// Backoff paces the attempts of throttled calls (cloudapi defaults when zero).
	Backoff cloudapi.Backoff
}

// Provider writes one Route 53 hosted zone. It is safe for concurrent use.
type Provider struct {
	client  *route53.Client
	zoneID  string
	log     logr.Logger
	backoff cloudapi.Backoff
	// where names the zone and the kind of credentials for messages; never a key.
	where string

	mu       sync.Mutex
	zoneName string // with the trailing dot, once read
}

var _ kdns.Provider = (*Provider)(nil)

// New checks the Config and returns its Provider. It does not contact the API; with no
// static Credentials it loads the SDK's default configuration (environment and files).
func New(ctx context.Context, cfg Config) (*Provider, error) {
	zoneID := strings.TrimPrefix(strings.TrimSpace(cfg.HostedZoneID), "/hostedzone/")
	if zoneID == "" || strings.ContainsAny(zoneID, "/?# ") {
		return nil, fmt.Errorf("route53: hosted zone ID %q is not a zone ID such as Z0123456789ABCDEFGHIJ", cfg.HostedZoneID)
	}
	region := cfg.Region
	if region == "" {
		region = DefaultRegion
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("route53: endpoint %q is not an http:// or https:// URL with a host", cfg.Endpoint)
		}
	}
	p := &Provider{zoneID: zoneID, log: cfg.Logger, backoff: cfg.Backoff.WithDefaults()}
	var awsCfg aws.Config
	authKind := "the default credential chain"
	if c := cfg.Credentials; c != nil {
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return nil, errors.New("route53: static credentials need both an access key ID and a secret access key")
		}
		authKind = "static credentials"
		awsCfg = aws.Config{
			Region:      region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)),
		}
		if cfg.HTTPClient != nil {
			awsCfg.HTTPClient = cfg.HTTPClient
		}
	} else {
		opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
		if cfg.HTTPClient != nil {
			opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
		}
		var err error
		if awsCfg, err = config.LoadDefaultConfig(ctx, opts...); err != nil {
			return nil, fmt.Errorf("route53: loading the default AWS configuration: %w", err)
		}
	}
	p.client = route53.NewFromConfig(awsCfg, func(o *route53.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		// The SDK's own retries would resend a change batch whose answer was lost; the
		// Provider retries itself, knowing which calls are safe to repeat (see submit).
		o.Retryer = aws.NopRetryer{}
	})
	p.where = fmt.Sprintf("route53 hosted zone %s (%s)", zoneID, authKind)
	return p, nil
}

func (p *Provider) logger(ctx context.Context) logr.Logger {
	if p.log.GetSink() != nil {
		return p.log
	}
	return ctrl.LoggerFrom(ctx)
}

// zone returns the hosted zone's name, reading it once.
func (p *Provider) zone(ctx context.Context) (string, error) {
	p.mu.Lock()
	name := p.zoneName
	p.mu.Unlock()
	if name != "" {
		return name, nil
	}
	var out *route53.GetHostedZoneOutput
	err := p.call(ctx, "GetHostedZone", func(ctx context.Context) error {
		var err error
		out, err = p.client.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(p.zoneID)})
		return err
	})
	if err != nil {
		return "", err
	}
	if out.HostedZone == nil || out.HostedZone.Name == nil {
		return "", kdns.NewProviderError(kdns.ReasonProviderError, nil, "%s: GetHostedZone answered no zone name", p.where)
	}
	name = fqdn(decodeName(*out.HostedZone.Name))
	p.mu.Lock()
	p.zoneName = name
	p.where = fmt.Sprintf("%s, %s", p.where, strings.TrimSuffix(name, "."))
	p.mu.Unlock()
	return name, nil
}

func (p *Provider) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.where
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
	p.logger(ctx).V(1).Info("Retrying a Route 53 call", "call", what, "zone", p.zoneID, "attempt", attempt, "delay", d, "error", errorCode(err))
}

// Records reads every page of the zone and returns its A, AAAA, CNAME and TXT record sets
// that kfed can express: alias, geolocation, geoproximity, CIDR and traffic-policy record
// sets are left out.
func (p *Provider) Records(ctx context.Context) ([]*kdns.Endpoint, error) {
	if _, err := p.zone(ctx); err != nil {
		return nil, err
	}
	sets, err := p.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []*kdns.Endpoint
	for i := range sets {
		if ep := toEndpoint(&sets[i]); ep != nil {
			out = append(out, ep)
		}
	}
	return out, nil
}

func (p *Provider) list(ctx context.Context) ([]types.ResourceRecordSet, error) {
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(p.zoneID)}
	var all []types.ResourceRecordSet
	for page := 1; ; page++ {
		var out *route53.ListResourceRecordSetsOutput
		err := p.call(ctx, "ListResourceRecordSets", func(ctx context.Context) error {
			var err error
			out, err = p.client.ListResourceRecordSets(ctx, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, out.ResourceRecordSets...)
		if !out.IsTruncated {
			return all, nil
		}
		if out.NextRecordName == nil {
			return nil, kdns.NewProviderError(kdns.ReasonProviderError, nil, "%s: page %d of ListResourceRecordSets is truncated without a next record name",
				p.describe(), page)
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
}

// toEndpoint returns the Endpoint of a record set, or nil when kfed cannot express it.
func toEndpoint(s *types.ResourceRecordSet) *kdns.Endpoint {
	switch s.Type {
	case types.RRTypeA, types.RRTypeAaaa, types.RRTypeCname, types.RRTypeTxt:
	default:
		return nil
	}
	if s.AliasTarget != nil || s.GeoLocation != nil || s.GeoProximityLocation != nil || s.CidrRoutingConfig != nil ||
		s.TrafficPolicyInstanceId != nil || s.Name == nil {
		return nil
	}
	ep := &kdns.Endpoint{DNSName: decodeName(*s.Name), RecordType: string(s.Type), SetIdentifier: aws.ToString(s.SetIdentifier), TTL: aws.ToInt64(s.TTL)}
	for _, rr := range s.ResourceRecords {
		v := aws.ToString(rr.Value)
		if s.Type == types.RRTypeTxt {
			v = cloudapi.UnquoteTXT(v)
		}
		ep.Targets = append(ep.Targets, v)
	}
	switch {
	case s.Weight != nil:
		ep.Routing = &kdns.Routing{Policy: kdns.RoutingWeighted, Weight: *s.Weight}
	case s.Failover != "":
		ep.Routing = &kdns.Routing{Policy: kdns.RoutingFailover, Primary: s.Failover == types.ResourceRecordSetFailoverPrimary}
	case s.Region != "":
		ep.Routing = &kdns.Routing{Policy: kdns.RoutingGeo, Region: string(s.Region)}
	}
	return ep.Normalize()
}

// decodeName turns Route 53's octal escapes (\052 for '*') back into characters and drops the
// trailing dot.
func decodeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+3 < len(name) {
			if n, err := strconv.ParseUint(name[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(name[i])
	}
	return strings.TrimSuffix(strings.ToLower(b.String()), ".")
}

func fqdn(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") + "." }

// ScaleWeights returns the Route 53 weight of every Weighted Endpoint: the sets of one name
// and type keep their weights when the largest is at most 255; otherwise each weight is
// scaled proportionally to the largest (which becomes 255), rounded, and a non-zero weight is
// never scaled to 0. A negative weight is an error.
func ScaleWeights(eps []*kdns.Endpoint) (map[*kdns.Endpoint]int64, error) {
	type group struct{ name, typ string }
	largest := map[group]int64{}
	for _, ep := range eps {
		if ep.Routing == nil || ep.Routing.Policy != kdns.RoutingWeighted {
			continue
		}
		if ep.Routing.Weight < 0 {
			return nil, invalid("%s: weight %d is negative", ep, ep.Routing.Weight)
		}
		g := group{fqdn(ep.DNSName), ep.RecordType}
		largest[g] = max(largest[g], ep.Routing.Weight)
	}
	out := map[*kdns.Endpoint]int64{}
	for _, ep := range eps {
		if ep.Routing == nil || ep.Routing.Policy != kdns.RoutingWeighted {
			continue
		}
		w, top := ep.Routing.Weight, largest[group{fqdn(ep.DNSName), ep.RecordType}]
		if top > MaxWeight {
			scaled := (w*MaxWeight + top/2) / top
			if w > 0 && scaled == 0 {
				scaled = 1
			}
			w = scaled
		}
		out[ep] = w
	}
	return out, nil
}

// AdjustEndpoints returns the Endpoints as Records will read them back once written: weights
// scaled (ScaleWeights), the fields a routing policy does not store cleared (a weighted or
// failover set keeps no region), the default TTL filled in. A plan made from them compares
// like with like, so a written zone plans no change.
func AdjustEndpoints(eps []*kdns.Endpoint) ([]*kdns.Endpoint, error) {
	weights, err := ScaleWeights(eps)
	if err != nil {
		return nil, err
	}
	out := make([]*kdns.Endpoint, 0, len(eps))
	for _, ep := range eps {
		n := ep.Normalize()
		if n.TTL == 0 {
			n.TTL = DefaultTTL
		}
		if r := n.Routing; r != nil {
			switch r.Policy {
			case kdns.RoutingWeighted:
				n.Routing = &kdns.Routing{Policy: r.Policy, Weight: weights[ep]}
			case kdns.RoutingFailover:
				n.Routing = &kdns.Routing{Policy: r.Policy, Primary: r.Primary}
			case kdns.RoutingGeo:
				n.Routing = &kdns.Routing{Policy: r.Policy, Region: r.Region}
			}
		}
		out = append(out, n)
	}
	return out, nil
}

func invalid(format string, args ...any) error {
	return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "route53: "+format, args...)
}

var latencyRegions = types.ResourceRecordSetRegion("").Values()

// toRecordSet returns the record set of an Endpoint, with weight as its Route 53 weight.
func toRecordSet(zone string, ep *kdns.Endpoint, weight int64) (*types.ResourceRecordSet, error) {
	name := fqdn(ep.DNSName)
	if name != zone && !strings.HasSuffix(name, "."+zone) {
		return nil, invalid("%s is outside the hosted zone %s", ep, strings.TrimSuffix(zone, "."))
	}
	typ := types.RRType(ep.RecordType)
	switch typ {
	case types.RRTypeA, types.RRTypeAaaa, types.RRTypeCname, types.RRTypeTxt:
	default:
		return nil, invalid("%s: record type %q is not one of A, AAAA, CNAME, TXT", ep, ep.RecordType)
	}
	if len(ep.Targets) == 0 {
		return nil, invalid("%s has no targets", ep)
	}
	if typ == types.RRTypeCname && len(ep.Targets) != 1 {
		return nil, invalid("%s: a CNAME has exactly one target", ep)
	}
	ttl := ep.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 {
		return nil, invalid("%s: TTL %d is negative", ep, ttl)
	}
	s := &types.ResourceRecordSet{Name: aws.String(name), Type: typ, TTL: aws.Int64(ttl)}
	for _, t := range ep.Targets {
		v := t
		switch typ {
		case types.RRTypeTxt:
			v = cloudapi.QuoteTXT(t)
		case types.RRTypeCname:
			v = fqdn(t)
		}
		s.ResourceRecords = append(s.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	if ep.SetIdentifier == "" {
		if ep.Routing != nil {
			return nil, invalid("%s: a routed record set needs a set identifier", ep)
		}
		return s, nil
	}
	if len(ep.SetIdentifier) > maxSetIdentifier {
		return nil, invalid("%s: the set identifier is longer than %d characters", ep, maxSetIdentifier)
	}
	s.SetIdentifier = aws.String(ep.SetIdentifier)
	r := ep.Routing
	switch {
	case r == nil:
		if typ == types.RRTypeCname {
			return nil, invalid("%s: a CNAME with a set identifier needs a routing policy (Route 53 has no multivalue CNAME)", ep)
		}
		s.MultiValueAnswer = aws.Bool(true)
	case r.Policy == kdns.RoutingWeighted:
		if weight < 0 || weight > MaxWeight {
			return nil, invalid("%s: weight %d is not between 0 and %d", ep, weight, MaxWeight)
		}
		s.Weight = aws.Int64(weight)
	case r.Policy == kdns.RoutingFailover:
		s.Failover = types.ResourceRecordSetFailoverSecondary
		if r.Primary {
			s.Failover = types.ResourceRecordSetFailoverPrimary
		}
	case r.Policy == kdns.RoutingGeo:
		if !slices.Contains(latencyRegions, types.ResourceRecordSetRegion(r.Region)) {
			return nil, invalid("%s: region %q is not an AWS region, and Route 53 latency records need one (e.g. us-east-1)", ep, r.Region)
		}
		s.Region = types.ResourceRecordSetRegion(r.Region)
	default:
		return nil, invalid("%s: routing policy %q is not Weighted, Failover or Geo", ep, r.Policy)
	}
	return s, nil
}

// PrepareEndpoints makes the Provider a kdns.RoutingProvider: the Endpoints as AdjustEndpoints
// returns them, or a kdns.UnsupportedError for a Geo set outside the AWS regions (latency
// records are answered by the region of an AWS data centre, so they need one).
func (p *Provider) PrepareEndpoints(eps []*kdns.Endpoint) ([]*kdns.Endpoint, error) {
	for _, ep := range eps {
		if r := ep.Routing; r != nil && r.Policy == kdns.RoutingGeo && !slices.Contains(latencyRegions, types.ResourceRecordSetRegion(r.Region)) {
			return nil, &kdns.UnsupportedError{Reason: fmt.Sprintf(
				"its latency records (Geo) need an AWS region such as us-east-1, and the set %q of %s is in region %q", ep.SetIdentifier, ep.DNSName, r.Region)}
		}
	}
	return AdjustEndpoints(eps)
}
