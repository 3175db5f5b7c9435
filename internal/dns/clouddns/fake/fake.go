// Package fake is a fake of the Google Cloud DNS API (v1) for tests: an HTTP server
// (httptest) that speaks the JSON subset the clouddns provider uses (managedZones.get,
// resourceRecordSets.list, changes.create, changes.get, and an OAuth token endpoint), keeps its
// managed zones in memory and validates changes as the documented API does: a change is
// applied whole or not at all; a deletion must match the record set exactly (404 notFound,
// 412 conditionNotMet), an addition of an existing record set fails (409 alreadyExists), and a
// change over 1,000 additions, 1,000 deletions or 100,000 bytes of record data, a record set
// of more than 100 records, or a routing policy that is not exactly one of wrr, geo and
// primaryBackup with valid items, is refused (400 invalid). It records every request and
// every change it applied, and answers with throttling or failures on demand. It is a fake:
// nothing here has been checked against the real service but its documentation.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	gdns "google.golang.org/api/dns/v1"

	"github.com/kfed-io/kfed/internal/dns/cloudapi/cloudapitest"
	"github.com/kfed-io/kfed/internal/dns/clouddns"
)

// Limits of one change and one record set.
const (
	MaxAdditions        = 1000
	MaxDeletions        = 1000
	MaxRrdataBytes      = 100000
	MaxRecordsPerRRSet  = 100
	DefaultPageSize     = 100
	maxTXTCharacterData = 255
)

const typeCNAME = "CNAME"

// Token is the access token the fake's token endpoint issues.
const Token = "fake-access-token"

// Request is one request the fake answered.
type Request struct {
	Op            string // managedZones.get, resourceRecordSets.list, changes.create, changes.get, token
	Method, Path  string
	Query         string
	Change        *gdns.Change // of changes.create
	Authorization string
	Body          string
}

// Fault kinds.
const (
	FaultRateLimit    = "rateLimitExceeded"     // HTTP 429, nothing done
	FaultRateLimit403 = "userRateLimitExceeded" // HTTP 403 with a rate-limit reason, nothing done
	FaultForbidden    = "forbidden"             // HTTP 403 forbidden
	FaultServerError  = "backendError"          // HTTP 503, nothing done
	// FaultLoseResponse carries the request out and closes the connection without an answer.
	FaultLoseResponse = "LoseResponse"
)

// Fault is an answer the fake gives instead of the real one (Kind one of the Fault constants).
type Fault = cloudapitest.Fault

type key struct{ name, typ string }

type zone struct {
	project, name, dnsName string
	rrsets                 map[key]*gdns.ResourceRecordSet
	changes                map[string]*gdns.Change
}

// Server is the fake Cloud DNS API.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	zones    map[string]*zone // by project/zone
	requests []Request
	applied  []*gdns.Change
	faults   cloudapitest.Faults
	// PendingPolls is how many changes.get answer "pending" before "done".
	pendingPolls int
	polls        map[string]int
	requireAuth  bool
	pageSize     int
	seq          int
}

// NewServer starts a fake with no zones; Close stops it.
func NewServer() *Server {
	s := &Server{zones: map[string]*zone{}, polls: map[string]int{}, pageSize: DefaultPageSize}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddZone adds a managed zone of a project, e.g. ("proj", "example", "example.com").
func (s *Server) AddZone(project, name, dnsName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[project+"/"+name] = &zone{project: project, name: name, dnsName: fqdn(dnsName),
		rrsets: map[key]*gdns.ResourceRecordSet{}, changes: map[string]*gdns.Change{}}
}

// SetPendingPolls makes changes.get answer "pending" n times per change before "done".
func (s *Server) SetPendingPolls(n int) { s.mu.Lock(); s.pendingPolls = n; s.mu.Unlock() }

// SetPageSize sets the most record sets one list page holds.
func (s *Server) SetPageSize(n int) { s.mu.Lock(); s.pageSize = n; s.mu.Unlock() }

// RequireAuth makes the API refuse (401) requests without a bearer token: the one the token
// endpoint issues, or a signed JWT.
func (s *Server) RequireAuth() { s.mu.Lock(); s.requireAuth = true; s.mu.Unlock() }

// Put adds or replaces record sets without a change, as another writer would.
func (s *Server) Put(project, zoneName string, rrs ...*gdns.ResourceRecordSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[project+"/"+zoneName]
	for _, r := range rrs {
		c := clone(r)
		c.Name = fqdn(c.Name)
		z.rrsets[key{c.Name, c.Type}] = c
	}
}

// RRSets returns a zone's record sets sorted by name and type.
func (s *Server) RRSets(project, zoneName string) []*gdns.ResourceRecordSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := sorted(s.zones[project+"/"+zoneName])
	for i, r := range out {
		out[i] = clone(r)
	}
	return out
}

// Requests returns every request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Applied returns every change applied so far, in order.
func (s *Server) Applied() []*gdns.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.applied)
}

// Inject queues a fault; faults are used in the order queued.
func (s *Server) Inject(f Fault) { s.faults.Inject(f) }

var pathRE = regexp.MustCompile(`^/dns/v1/projects/([^/]+)/managedZones/([^/]+)(/rrsets|/changes(/[^/]+)?)?$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorization: r.Header.Get("Authorization"), Body: string(body)}
	if r.URL.Path == "/token" {
		req.Op = "token"
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"`+Token+`","token_type":"Bearer","expires_in":3600}`)
		return
	}
	m := pathRE.FindStringSubmatch(r.URL.Path)
	switch {
	case m == nil:
		writeError(w, http.StatusNotFound, "notFound", "no such method "+r.Method+" "+r.URL.Path)
		return
	case m[3] == "" && r.Method == http.MethodGet:
		req.Op = "managedZones.get"
	case m[3] == "/rrsets" && r.Method == http.MethodGet:
		req.Op = "resourceRecordSets.list"
	case m[3] == "/changes" && r.Method == http.MethodPost:
		req.Op = "changes.create"
		req.Change = &gdns.Change{}
		if err := json.Unmarshal(body, req.Change); err != nil {
			writeError(w, http.StatusBadRequest, "parseError", "malformed JSON: "+err.Error())
			return
		}
	case strings.HasPrefix(m[3], "/changes/") && r.Method == http.MethodGet:
		req.Op = "changes.get"
	default:
		writeError(w, http.StatusNotFound, "notFound", "no such method "+r.Method+" "+r.URL.Path)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if s.requireAuth {
		tok, ok := strings.CutPrefix(req.Authorization, "Bearer ")
		if !ok || (tok != Token && strings.Count(tok, ".") != 2) {
			writeError(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials.")
			return
		}
	}
	fault := s.faults.Take(req.Op)
	if e, ok := faultAnswers[fault]; ok {
		writeError(w, e.code, e.reason, e.msg)
		return
	}
	lose := fault == FaultLoseResponse
	z, ok := s.zones[m[1]+"/"+m[2]]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The 'parameters.managedZone' resource named '%s' does not exist.", m[2]))
		return
	}
	var status int
	var out any
	switch req.Op {
	case "managedZones.get":
		status, out = http.StatusOK, &gdns.ManagedZone{Kind: "dns#managedZone", Name: z.name, DnsName: z.dnsName}
	case "resourceRecordSets.list":
		status, out = s.list(z, r)
	case "changes.create":
		status, out = s.create(z, req.Change)
	case "changes.get":
		status, out = s.getChange(z, strings.TrimPrefix(m[4], "/"))
	}
	if lose {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
		return
	}
	writeJSON(w, status, out)
}

// faultAnswers are the error answers of the faults that do nothing.
var faultAnswers = map[string]struct {
	code        int
	reason, msg string
}{
	FaultRateLimit:    {http.StatusTooManyRequests, "rateLimitExceeded", "Rate Limit Exceeded"},
	FaultRateLimit403: {http.StatusForbidden, "userRateLimitExceeded", "User Rate Limit Exceeded"},
	FaultForbidden:    {http.StatusForbidden, "forbidden", "Forbidden"},
	FaultServerError:  {http.StatusServiceUnavailable, "backendError", "Backend Error"},
}

func (s *Server) getChange(z *zone, id string) (int, any) {
	c, ok := z.changes[id]
	if !ok {
		return http.StatusNotFound, errorBody(http.StatusNotFound, "notFound", fmt.Sprintf("The 'parameters.changeId' resource named '%s' does not exist.", id))
	}
	s.polls[id]++
	got := *c
	got.Status = "done"
	if s.polls[id] <= s.pendingPolls {
		got.Status = "pending"
	}
	return http.StatusOK, &got
}

func (s *Server) list(z *zone, r *http.Request) (int, any) {
	all := sorted(z)
	start := 0
	if tok := r.URL.Query().Get("pageToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(all) {
			return http.StatusBadRequest, errorBody(http.StatusBadRequest, "invalid", "Invalid value for 'parameters.pageToken'")
		}
		start = n
	}
	size := s.pageSize
	if m := r.URL.Query().Get("maxResults"); m != "" {
		if n, err := strconv.Atoi(m); err == nil && n > 0 {
			size = min(n, size)
		}
	}
	end := min(start+size, len(all))
	out := &gdns.ResourceRecordSetsListResponse{Kind: "dns#resourceRecordSetsListResponse", Rrsets: all[start:end:end]}
	if end < len(all) {
		out.NextPageToken = strconv.Itoa(end)
	}
	return http.StatusOK, out
}

// create validates and applies a change, whole or not at all.
func (s *Server) create(z *zone, c *gdns.Change) (int, any) {
	if len(c.Additions) == 0 && len(c.Deletions) == 0 {
		return http.StatusBadRequest, errorBody(http.StatusBadRequest, "required", "The change holds no addition and no deletion.")
	}
	if len(c.Additions) > MaxAdditions || len(c.Deletions) > MaxDeletions {
		return http.StatusBadRequest, errorBody(http.StatusBadRequest, "invalid",
			fmt.Sprintf("The change holds %d additions and %d deletions: at most %d and %d are allowed.",
				len(c.Additions), len(c.Deletions), MaxAdditions, MaxDeletions))
	}
	size := 0
	for _, r := range append(slices.Clone(c.Additions), c.Deletions...) {
		size += clouddns.RecordDataBytes(r)
	}
	if size > MaxRrdataBytes {
		return http.StatusBadRequest, errorBody(http.StatusBadRequest, "invalid",
			fmt.Sprintf("The change holds %d bytes of record data: at most %d are allowed.", size, MaxRrdataBytes))
	}
	next := make(map[key]*gdns.ResourceRecordSet, len(z.rrsets))
	for k, r := range z.rrsets {
		next[k] = r
	}
	for i, d := range c.Deletions {
		k := key{fqdn(d.Name), d.Type}
		cur, ok := next[k]
		if !ok {
			return http.StatusNotFound, errorBody(http.StatusNotFound, "notFound",
				fmt.Sprintf("The 'entity.change.deletions[%d]' resource named '%s (%s)' does not exist.", i, d.Name, d.Type))
		}
		if Canon(cur) != Canon(d) {
			return http.StatusPreconditionFailed, errorBody(http.StatusPreconditionFailed, "conditionNotMet",
				fmt.Sprintf("Precondition not met for 'entity.change.deletions[%d]'", i))
		}
		delete(next, k)
	}
	for i, a := range c.Additions {
		if msg := z.validate(a); msg != "" {
			return http.StatusBadRequest, errorBody(http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for 'entity.change.additions[%d]': %s", i, msg))
		}
		k := key{a.Name, a.Type}
		if _, ok := next[k]; ok {
			return http.StatusConflict, errorBody(http.StatusConflict, "alreadyExists",
				fmt.Sprintf("The resource 'entity.change.additions[%d]' named '%s (%s)' already exists", i, a.Name, a.Type))
		}
		next[k] = clone(a)
	}
	types := map[string][]string{}
	for k := range next {
		types[k.name] = append(types[k.name], k.typ)
	}
	for name, ts := range types {
		if len(ts) > 1 && slices.Contains(ts, typeCNAME) {
			return http.StatusBadRequest, errorBody(http.StatusBadRequest, "cnameResourceRecordSetConflict",
				fmt.Sprintf("The resource record set 'entity.change.additions' is invalid because a CNAME at %s cannot coexist with other types (%v)", name, ts))
		}
	}
	z.rrsets = next
	s.seq++
	applied := *c
	applied.Id = strconv.Itoa(s.seq)
	applied.Kind = "dns#change"
	applied.Status = "pending"
	z.changes[applied.Id] = &applied
	s.applied = append(s.applied, &applied)
	return http.StatusOK, &applied
}

var gcpRegion = regexp.MustCompile(`^[a-z]+(-[a-z]+)+[0-9]+$`)

// validate checks an addition as Cloud DNS does; it returns the fault or "".
func (z *zone) validate(r *gdns.ResourceRecordSet) string {
	if !strings.HasSuffix(r.Name, ".") {
		return fmt.Sprintf("the name %q does not end with a dot", r.Name)
	}
	if r.Name != z.dnsName && !strings.HasSuffix(r.Name, "."+z.dnsName) {
		return fmt.Sprintf("the name %s is not within the zone %s", r.Name, z.dnsName)
	}
	if r.Ttl < 0 {
		return "a negative TTL"
	}
	check := func(rrdatas []string) string {
		if len(rrdatas) == 0 {
			return "no rrdatas"
		}
		if len(rrdatas) > MaxRecordsPerRRSet {
			return fmt.Sprintf("%d records in one record set, over %d", len(rrdatas), MaxRecordsPerRRSet)
		}
		if r.Type == typeCNAME && len(rrdatas) != 1 {
			return "a CNAME holds exactly one record"
		}
		for _, d := range rrdatas {
			if m := checkRrdata(r.Type, d); m != "" {
				return m
			}
		}
		return ""
	}
	p := r.RoutingPolicy
	if p == nil {
		return check(r.Rrdatas)
	}
	if len(r.Rrdatas) > 0 {
		return "both rrdatas and a routing policy"
	}
	n := 0
	for _, set := range []bool{p.Wrr != nil, p.Geo != nil, p.PrimaryBackup != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return "a routing policy must be exactly one of wrr, geo and primaryBackup"
	}
	return z.validPolicy(r, check)
}

// validPolicy checks the items of a routing policy, each item's record data with check.
func (z *zone) validPolicy(r *gdns.ResourceRecordSet, check func([]string) string) string {
	p := r.RoutingPolicy
	switch {
	case p.Wrr != nil:
		if len(p.Wrr.Items) == 0 {
			return "a wrr policy without items"
		}
		for _, it := range p.Wrr.Items {
			if it.Weight < 0 {
				return fmt.Sprintf("weight %v is negative", it.Weight)
			}
			if m := check(it.Rrdatas); m != "" {
				return m
			}
		}
	case p.Geo != nil:
		return checkGeo(p.Geo, check)
	case p.PrimaryBackup != nil:
		if r.Type != "A" && r.Type != "AAAA" {
			return "primaryBackup routing is for A and AAAA record sets"
		}
		pt := p.PrimaryBackup.PrimaryTargets
		if pt == nil || len(pt.ExternalEndpoints) == 0 {
			return "primaryBackup without primary targets"
		}
		if m := check(pt.ExternalEndpoints); m != "" {
			return m
		}
		return checkGeo(p.PrimaryBackup.BackupGeoTargets, check)
	}
	return ""
}

func checkGeo(g *gdns.RRSetRoutingPolicyGeoPolicy, check func([]string) string) string {
	if g == nil || len(g.Items) == 0 {
		return "a geo policy without items"
	}
	seen := map[string]bool{}
	for _, it := range g.Items {
		if !gcpRegion.MatchString(it.Location) {
			return fmt.Sprintf("location %q is not a Google Cloud region", it.Location)
		}
		if seen[it.Location] {
			return fmt.Sprintf("location %q appears twice", it.Location)
		}
		seen[it.Location] = true
		if m := check(it.Rrdatas); m != "" {
			return m
		}
	}
	return ""
}

var (
	ipv4 = regexp.MustCompile(`^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$`)
	ipv6 = regexp.MustCompile(`^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$`)
)

func checkRrdata(typ, d string) string {
	switch typ {
	case "A":
		if !ipv4.MatchString(d) {
			return fmt.Sprintf("%q is not an IPv4 address", d)
		}
	case "AAAA":
		if !ipv6.MatchString(d) {
			return fmt.Sprintf("%q is not an IPv6 address", d)
		}
	case typeCNAME:
		if !strings.HasSuffix(d, ".") {
			return fmt.Sprintf("the CNAME target %q does not end with a dot", d)
		}
	case "TXT":
		n, in := 0, false
		for i := 0; i < len(d); i++ {
			switch c := d[i]; {
			case c == '"':
				in, n = !in, 0
			case c == '\\' && in:
				i++
				n++
			case in:
				n++
			}
			if n > maxTXTCharacterData {
				return "a TXT character-string longer than 255 characters"
			}
		}
		if in {
			return "unbalanced quotes in a TXT record"
		}
	}
	return ""
}

// Canon is a record set as JSON without its kinds, for exact comparison.
func Canon(r *gdns.ResourceRecordSet) string {
	c := clone(r)
	c.Kind = ""
	c.Name = fqdn(c.Name)
	if p := c.RoutingPolicy; p != nil {
		p.Kind = ""
		if p.Wrr != nil {
			p.Wrr.Kind = ""
			for _, it := range p.Wrr.Items {
				it.Kind = ""
			}
		}
		for _, g := range []*gdns.RRSetRoutingPolicyGeoPolicy{p.Geo, backup(p)} {
			if g != nil {
				g.Kind = ""
				for _, it := range g.Items {
					it.Kind = ""
				}
			}
		}
		if p.PrimaryBackup != nil {
			p.PrimaryBackup.Kind = ""
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func backup(p *gdns.RRSetRoutingPolicy) *gdns.RRSetRoutingPolicyGeoPolicy {
	if p.PrimaryBackup == nil {
		return nil
	}
	return p.PrimaryBackup.BackupGeoTargets
}

func clone(r *gdns.ResourceRecordSet) *gdns.ResourceRecordSet {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	var c gdns.ResourceRecordSet
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}

// sorted returns the zone's record sets by name and type, shared: clone what leaves the fake.
func sorted(z *zone) []*gdns.ResourceRecordSet {
	out := make([]*gdns.ResourceRecordSet, 0, len(z.rrsets))
	for _, r := range z.rrsets {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *gdns.ResourceRecordSet) int {
		return strings.Compare(a.Name+"\x00"+a.Type, b.Name+"\x00"+b.Type)
	})
	return out
}

func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			Domain  string `json:"domain"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"error"`
}

func errorBody(code int, reason, msg string) *apiError {
	e := &apiError{}
	e.Error.Code, e.Error.Message = code, msg
	e.Error.Errors = append(e.Error.Errors, struct {
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}{"global", reason, msg})
	return e
}

func writeError(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, errorBody(code, reason, msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
