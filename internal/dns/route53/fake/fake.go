// Package fake is a fake of the Route 53 API for tests: an HTTP server (httptest) that speaks
// the REST-XML subset the route53 provider uses (GetHostedZone, ListResourceRecordSets,
// ChangeResourceRecordSets, GetChange), keeps its hosted zones in memory and validates change
// batches as the documented API does: a batch is applied whole or not at all; a CREATE of an
// existing record set, a DELETE that does not match the record set exactly, a simple record
// beside a routed one, two failover records of one role, a weight outside 0–255, an unknown
// latency region, or a batch over 1,000 records or 32,000 characters of values (an UPSERT
// counted twice) fail the whole batch with InvalidChangeBatch. It records every request and
// every batch it applied, and answers with throttling or failures on demand. It is a fake:
// nothing here has been checked against the real service but its documentation.
package fake

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/kfed-io/kfed/internal/dns/cloudapi/cloudapitest"
)

// Limits of one ChangeResourceRecordSets request.
const (
	MaxRecordsPerBatch = 1000
	MaxValueChars      = 32000
	// MaxItems is the most record sets one ListResourceRecordSets page holds.
	MaxItems = 300
)

// Record is one record set in a fake zone.
type Record struct {
	Name          string // lower case, with the trailing dot
	Type          string
	SetIdentifier string
	TTL           int64
	Values        []string
	Weight        *int64
	Failover      string // PRIMARY or SECONDARY
	Region        string // latency region
	MultiValue    bool
}

type key struct{ name, typ, set string }

func (r *Record) key() key { return key{r.Name, r.Type, r.SetIdentifier} }

func (r *Record) String() string {
	return fmt.Sprintf("[name='%s', type='%s'%s]", r.Name, r.Type, setPart(r.SetIdentifier))
}

func setPart(s string) string {
	if s == "" {
		return ""
	}
	return ", set-identifier='" + s + "'"
}

// Change is one change of a batch.
type Change struct {
	Action string // CREATE, DELETE, UPSERT
	Record Record
}

// Request is one request the fake answered.
type Request struct {
	Op     string // GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets, GetChange
	Method string
	Path   string
	Query  string
	// Batch is the change batch of a ChangeResourceRecordSets.
	Batch []Change
	// Authorization is whether the request carried an Authorization header.
	Authorization string
}

// Fault kinds.
const (
	// FaultThrottle answers HTTP 400 Throttling ("Rate exceeded") and does nothing.
	FaultThrottle = "Throttling"
	// FaultPriorRequestNotComplete answers HTTP 400 PriorRequestNotComplete and does nothing.
	FaultPriorRequestNotComplete = "PriorRequestNotComplete"
	// FaultTooManyRequests answers HTTP 429 and does nothing.
	FaultTooManyRequests = "TooManyRequests"
	// FaultAccessDenied answers HTTP 403 AccessDenied.
	FaultAccessDenied = "AccessDenied"
	// FaultServerError answers HTTP 500 InternalFailure and does nothing.
	FaultServerError = "InternalFailure"
	// FaultLoseResponse carries the request out and then closes the connection without an
	// answer: the client cannot tell whether the change was made.
	FaultLoseResponse = "LoseResponse"
)

// Fault is an answer the fake gives instead of the real one (Kind one of the Fault constants).
type Fault = cloudapitest.Fault

type zone struct {
	id, name string
	records  map[key]*Record
}

// Server is the fake Route 53 API.
type Server struct {
	*httptest.Server

	mu          sync.Mutex
	zones       map[string]*zone
	requests    []Request
	applied     [][]Change
	faults      cloudapitest.Faults
	accessKeyID string
	changeSeq   int
}

// NewServer starts a fake with no zones; Close stops it.
func NewServer() *Server {
	s := &Server{zones: map[string]*zone{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddZone adds a hosted zone (id without "/hostedzone/", name such as example.com).
func (s *Server) AddZone(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[id] = &zone{id: id, name: fqdn(name), records: map[key]*Record{}}
}

// RequireAccessKeyID makes the fake refuse (403 InvalidClientTokenId) requests not signed
// with this access key ID.
func (s *Server) RequireAccessKeyID(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessKeyID = id
}

// Put adds or replaces record sets without a change batch, as another writer would.
func (s *Server) Put(zoneID string, recs ...Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zoneID]
	for _, r := range recs {
		r.Name = fqdn(r.Name)
		z.records[r.key()] = &r
	}
}

// Records returns the zone's record sets in Route 53's order.
func (s *Server) Records(zoneID string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zoneID]
	out := make([]Record, 0, len(z.records))
	for _, r := range sortedRecords(z) {
		out = append(out, *r)
	}
	return out
}

// Requests returns every request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Applied returns every change batch applied so far, in order.
func (s *Server) Applied() [][]Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.applied)
}

// Inject queues a fault; faults are used in the order queued.
func (s *Server) Inject(f Fault) { s.faults.Inject(f) }

const ns = "https://route53.amazonaws.com/doc/2013-04-01/"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimSuffix(r.URL.Path, "/")
	parts := strings.Split(strings.TrimPrefix(path, "/2013-04-01/"), "/")
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorization: r.Header.Get("Authorization")}
	if req.Op = operation(r.Method, parts); req.Op == "" {
		writeError(w, http.StatusNotFound, sender, "UnknownOperationException", "no such operation "+r.Method+" "+r.URL.Path)
		return
	}
	var batch changeRequest
	if req.Op == opChangeResourceRecordSets {
		if err := xml.Unmarshal(body, &batch); err != nil {
			writeError(w, http.StatusBadRequest, sender, "InvalidInput", "malformed XML: "+err.Error())
			return
		}
		for _, c := range batch.Changes {
			req.Batch = append(req.Batch, Change{Action: c.Action, Record: c.Set.record()})
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if s.accessKeyID != "" && !strings.Contains(req.Authorization, "Credential="+s.accessKeyID+"/") {
		writeError(w, http.StatusForbidden, sender, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	fault := s.faults.Take(req.Op)
	if e, ok := faultAnswers[fault]; ok {
		writeError(w, e.status, e.typ, e.code, e.msg)
		return
	}
	lose := fault == FaultLoseResponse

	var status int
	var out any
	switch req.Op {
	case opGetHostedZone:
		status, out = s.getHostedZone(parts[1])
	case opListResourceRecordSets:
		status, out = s.list(parts[1], r)
	case opChangeResourceRecordSets:
		status, out = s.change(parts[1], req.Batch)
	case opGetChange:
		status, out = http.StatusOK, &getChangeResponse{Xmlns: ns, Info: changeInfo{ID: "/change/" + parts[1], Status: "INSYNC",
			SubmittedAt: time.Now().UTC().Format(time.RFC3339)}}
	}
	if lose {
		hijackAndClose(w)
		return
	}
	if e, ok := out.(*errorResponse); ok {
		writeXML(w, status, e)
		return
	}
	writeXML(w, status, out)
}

const (
	opGetHostedZone            = "GetHostedZone"
	opListResourceRecordSets   = "ListResourceRecordSets"
	opChangeResourceRecordSets = "ChangeResourceRecordSets"
	opGetChange                = "GetChange"
	pathHostedZone             = "hostedzone"
	typeCNAME                  = "CNAME"
	// sender is the error type of a client's fault.
	sender = "Sender"
)

// operation names the API operation of a request, or "" for none the fake serves.
func operation(method string, parts []string) string {
	switch {
	case len(parts) == 2 && parts[0] == pathHostedZone && method == http.MethodGet:
		return opGetHostedZone
	case len(parts) == 3 && parts[0] == pathHostedZone && parts[2] == "rrset" && method == http.MethodGet:
		return opListResourceRecordSets
	case len(parts) == 3 && parts[0] == pathHostedZone && parts[2] == "rrset" && method == http.MethodPost:
		return opChangeResourceRecordSets
	case len(parts) == 2 && parts[0] == "change" && method == http.MethodGet:
		return opGetChange
	}
	return ""
}

// faultAnswers are the error answers of the faults that do nothing.
var faultAnswers = map[string]struct {
	status         int
	typ, code, msg string
}{
	FaultThrottle: {http.StatusBadRequest, sender, "Throttling", "Rate exceeded"},
	FaultPriorRequestNotComplete: {http.StatusBadRequest, sender, "PriorRequestNotComplete",
		"The request was rejected because Route 53 was still processing a prior request."},
	FaultTooManyRequests: {http.StatusTooManyRequests, sender, "TooManyRequestsException", "Too Many Requests"},
	FaultAccessDenied:    {http.StatusForbidden, sender, "AccessDenied", "User is not authorized to perform this action"},
	FaultServerError:     {http.StatusInternalServerError, "Receiver", "InternalFailure", "An internal error occurred"},
}

// hijackAndClose drops the connection without an answer.
func hijackAndClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fake: the response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func (s *Server) zone(id string) (*zone, *errorResponse) {
	z, ok := s.zones[id]
	if !ok {
		return nil, newError(sender, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
	}
	return z, nil
}

func (s *Server) getHostedZone(id string) (int, any) {
	z, e := s.zone(id)
	if e != nil {
		return http.StatusNotFound, e
	}
	return http.StatusOK, &getHostedZoneResponse{Xmlns: ns, Zone: hostedZone{
		ID: "/hostedzone/" + z.id, Name: z.name, CallerReference: "fake", Count: int64(len(z.records)),
	}}
}

// order is Route 53's listing order: the name with its labels reversed, then type, then set.
func order(r *Record) string {
	labels := strings.Split(strings.TrimSuffix(r.Name, "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "\x00" + r.Type + "\x00" + r.SetIdentifier
}

func sortedRecords(z *zone) []*Record {
	out := make([]*Record, 0, len(z.records))
	for _, r := range z.records {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Record) int { return strings.Compare(order(a), order(b)) })
	return out
}

func (s *Server) list(id string, r *http.Request) (int, any) {
	z, e := s.zone(id)
	if e != nil {
		return http.StatusNotFound, e
	}
	q := r.URL.Query()
	maxItems := MaxItems
	if m := q.Get("maxitems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 {
			return http.StatusBadRequest, newError(sender, "InvalidInput", "maxitems must be a positive integer")
		}
		maxItems = min(n, MaxItems)
	}
	if q.Get("type") != "" && q.Get("name") == "" {
		return http.StatusBadRequest, newError(sender, "InvalidInput", "type needs name")
	}
	if q.Get("identifier") != "" && q.Get("type") == "" {
		return http.StatusBadRequest, newError(sender, "InvalidInput", "identifier needs type")
	}
	start := ""
	if n := q.Get("name"); n != "" {
		start = order(&Record{Name: fqdn(n), Type: q.Get("type"), SetIdentifier: q.Get("identifier")})
	}
	out := &listResponse{Xmlns: ns, MaxItems: strconv.Itoa(maxItems)}
	for _, rec := range sortedRecords(z) {
		if order(rec) < start {
			continue
		}
		if len(out.Sets) == maxItems {
			out.IsTruncated = true
			out.NextName, out.NextType, out.NextIdentifier = rec.Name, rec.Type, rec.SetIdentifier
			break
		}
		out.Sets = append(out.Sets, toXML(rec))
	}
	return http.StatusOK, out
}

// change validates and applies a batch, whole or not at all.
func (s *Server) change(id string, batch []Change) (int, any) {
	z, e := s.zone(id)
	if e != nil {
		return http.StatusNotFound, e
	}
	if len(batch) == 0 {
		return http.StatusBadRequest, newError(sender, "InvalidInput", "the change batch holds no change")
	}
	var msgs []string
	records, chars := BatchCost(batch)
	if records > MaxRecordsPerBatch {
		msgs = append(msgs, fmt.Sprintf("Number of records limit of %d exceeded.", MaxRecordsPerBatch))
	}
	if chars > MaxValueChars {
		msgs = append(msgs, fmt.Sprintf("RDATA character limit of %d exceeded.", MaxValueChars))
	}
	next := make(map[key]*Record, len(z.records))
	for k, r := range z.records {
		next[k] = r
	}
	touched := map[key]bool{}
	for _, c := range batch {
		r := c.Record
		r.Name = fqdn(r.Name)
		if m := validate(z, &r); m != "" {
			msgs = append(msgs, m)
			continue
		}
		k := r.key()
		touched[key{name: k.name, typ: k.typ}] = true
		cur, exists := next[k]
		switch c.Action {
		case "CREATE":
			if exists {
				msgs = append(msgs, fmt.Sprintf("Tried to create resource record set %s but it already exists", &r))
				continue
			}
			next[k] = &r
		case "DELETE":
			switch {
			case !exists:
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but it was not found", &r))
			case !same(cur, &r):
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", &r))
			default:
				delete(next, k)
			}
		case "UPSERT":
			next[k] = &r
		default:
			msgs = append(msgs, fmt.Sprintf("Unknown action %q for %s", c.Action, &r))
		}
	}
	if len(msgs) == 0 {
		msgs = consistent(next, touched)
	}
	if len(msgs) > 0 {
		return http.StatusBadRequest, &invalidChangeBatch{Xmlns: ns, Messages: msgs}
	}
	z.records = next
	s.applied = append(s.applied, batch)
	s.changeSeq++
	return http.StatusOK, &changeResponse{Xmlns: ns, Info: changeInfo{
		ID: fmt.Sprintf("/change/C%08d", s.changeSeq), Status: "PENDING", SubmittedAt: time.Now().UTC().Format(time.RFC3339),
	}}
}

// BatchCost is a batch's share of the limits: its records and characters of values, an UPSERT
// counting twice.
func BatchCost(batch []Change) (records, chars int) {
	for _, c := range batch {
		n := 1
		if c.Action == "UPSERT" {
			n = 2
		}
		records += n * len(c.Record.Values)
		for _, v := range c.Record.Values {
			chars += n * len(v)
		}
	}
	return records, chars
}

var latencyRegions = types.ResourceRecordSetRegion("").Values()

// validate checks one record set as Route 53 does; it returns the message of the first fault.
func validate(z *zone, r *Record) string {
	if r.Name != z.name && !strings.HasSuffix(r.Name, "."+z.name) {
		return fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", r.Name, z.name)
	}
	if len(r.Values) == 0 {
		return fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], "+
			"but found none in Change with %s", r)
	}
	if r.TTL < 0 || r.TTL > 2147483647 {
		return fmt.Sprintf("Invalid TTL %d in %s", r.TTL, r)
	}
	if m := validValues(r); m != "" {
		return m
	}
	return validRouting(r)
}

// validValues checks the values of a record set of its type.
func validValues(r *Record) string {
	for _, v := range r.Values {
		switch r.Type {
		case "A":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
				return fmt.Sprintf("Invalid Resource Record: FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '%s'", v)
			}
		case "AAAA":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is6() || a.Is4In6() {
				return fmt.Sprintf("Invalid Resource Record: FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '%s'", v)
			}
		case "TXT":
			if m := validTXT(v); m != "" {
				return fmt.Sprintf("Invalid Resource Record: FATAL problem: %s encountered with '%s'", m, v)
			}
		}
	}
	if r.Type == typeCNAME && len(r.Values) != 1 {
		return fmt.Sprintf("Invalid Resource Record: a CNAME record set holds exactly one value, %s has %d", r, len(r.Values))
	}
	return ""
}

// validRouting checks a record set's routing policy and set identifier.
func validRouting(r *Record) string {
	routings := 0
	if r.Weight != nil {
		routings++
		if *r.Weight < 0 || *r.Weight > 255 {
			return fmt.Sprintf("Invalid weight %d in %s: it must be between 0 and 255", *r.Weight, r)
		}
	}
	if r.Failover != "" {
		routings++
		if r.Failover != "PRIMARY" && r.Failover != "SECONDARY" {
			return fmt.Sprintf("Invalid failover %q in %s", r.Failover, r)
		}
	}
	if r.Region != "" {
		routings++
		if !slices.Contains(latencyRegions, types.ResourceRecordSetRegion(r.Region)) {
			return fmt.Sprintf("Invalid region %q in %s", r.Region, r)
		}
	}
	if r.MultiValue {
		routings++
		if r.Type == typeCNAME {
			return fmt.Sprintf("Invalid request: multivalue answer records cannot be of type CNAME: %s", r)
		}
	}
	switch {
	case routings > 1:
		return fmt.Sprintf("Invalid request: %s has more than one routing policy", r)
	case r.SetIdentifier == "" && routings > 0:
		return fmt.Sprintf("Invalid request: missing field 'SetIdentifier' in Change with %s", r)
	case r.SetIdentifier != "" && routings == 0:
		return fmt.Sprintf("Invalid request: %s has a SetIdentifier and no routing policy", r)
	case len(r.SetIdentifier) > 128:
		return fmt.Sprintf("Invalid request: the SetIdentifier of %s is longer than 128 characters", r)
	}
	return ""
}

// validTXT checks that a TXT value is quoted character-strings of at most 255 characters.
func validTXT(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return "" // Route 53 takes an unquoted value as one string.
	}
	n, in := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			in, n = !in, 0
		case !in && c == ' ':
		case !in:
			return "TXTRDATAMalformed (characters outside quotes)"
		case c == '\\' && i+1 < len(v):
			i++
			n++
		default:
			n++
		}
		if n > 255 {
			return "TXTRDATATooLong (a character-string is longer than 255 characters)"
		}
	}
	if in {
		return "TXTRDATAMalformed (unbalanced quotes)"
	}
	return ""
}

func routingKind(r *Record) string {
	switch {
	case r.Weight != nil:
		return "weighted"
	case r.Failover != "":
		return "failover"
	case r.Region != "":
		return "latency"
	case r.MultiValue:
		return "multivalue"
	}
	return "simple"
}

// consistent checks the record sets of every (name, type) the batch touched: one simple set,
// or routed sets of one kind; a failover role at most once; a CNAME alone at its name.
func consistent(recs map[key]*Record, touched map[key]bool) []string {
	groups := map[key][]*Record{}
	names := map[string][]*Record{}
	for k, r := range recs {
		if touched[key{name: k.name, typ: k.typ}] {
			groups[key{name: k.name, typ: k.typ}] = append(groups[key{name: k.name, typ: k.typ}], r)
		}
		names[k.name] = append(names[k.name], r)
	}
	var msgs []string
	for g, rs := range groups {
		kinds := map[string]bool{}
		roles := map[string]int{}
		for _, r := range rs {
			kinds[routingKind(r)] = true
			if r.Failover != "" {
				roles[r.Failover]++
			}
		}
		if len(kinds) > 1 {
			msgs = append(msgs, fmt.Sprintf("RRSet of type %s with DNS name %s does not contain the same routing policy type as other record sets "+
				"with the same name and type", g.typ, g.name))
		}
		for role, n := range roles {
			if n > 1 {
				msgs = append(msgs, fmt.Sprintf("RRSet of type %s with DNS name %s has %d %s failover records: at most one is allowed", g.typ, g.name, n, role))
			}
		}
		if g.typ == typeCNAME {
			for _, other := range names[g.name] {
				if other.Type != typeCNAME {
					msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted because a conflicting RRSet of type %s "+
						"with the same DNS name already exists", g.name, other.Type))
					break
				}
			}
		} else {
			for _, other := range names[g.name] {
				if other.Type == typeCNAME {
					msgs = append(msgs, fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type CNAME "+
						"with the same DNS name already exists", g.typ, g.name))
					break
				}
			}
		}
	}
	slices.Sort(msgs)
	return msgs
}

func same(a, b *Record) bool {
	eq := func(x, y *int64) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.TTL == b.TTL && slices.Equal(a.Values, b.Values) && eq(a.Weight, b.Weight) &&
		a.Failover == b.Failover && a.Region == b.Region && a.MultiValue == b.MultiValue
}

func fqdn(name string) string {
	name = strings.ReplaceAll(strings.ToLower(name), `\052`, "*")
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// The wire format.

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func newError(typ, code, msg string) *errorResponse {
	return &errorResponse{Xmlns: ns, Type: typ, Code: code, Message: msg, RequestID: "fake-request"}
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	writeXML(w, status, newError(typ, code, msg))
}

type invalidChangeBatch struct {
	XMLName   xml.Name `xml:"InvalidChangeBatch"`
	Xmlns     string   `xml:"xmlns,attr"`
	Messages  []string `xml:"Messages>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "fake-request")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b) //nolint:gosec // a test fake answering XML it marshalled itself
}

type hostedZone struct {
	ID              string `xml:"Id"`
	Name            string `xml:"Name"`
	CallerReference string `xml:"CallerReference"`
	Count           int64  `xml:"ResourceRecordSetCount"`
}

type getHostedZoneResponse struct {
	XMLName xml.Name   `xml:"GetHostedZoneResponse"`
	Xmlns   string     `xml:"xmlns,attr"`
	Zone    hostedZone `xml:"HostedZone"`
}

type xmlRecordSet struct {
	Name          string     `xml:"Name"`
	Type          string     `xml:"Type"`
	SetIdentifier string     `xml:"SetIdentifier,omitempty"`
	Weight        *int64     `xml:"Weight,omitempty"`
	Region        string     `xml:"Region,omitempty"`
	Failover      string     `xml:"Failover,omitempty"`
	MultiValue    *bool      `xml:"MultiValueAnswer,omitempty"`
	TTL           *int64     `xml:"TTL,omitempty"`
	Values        []xmlValue `xml:"ResourceRecords>ResourceRecord"`
}

type xmlValue struct {
	Value string `xml:"Value"`
}

func (x *xmlRecordSet) record() Record {
	r := Record{
		Name: fqdn(x.Name), Type: x.Type, SetIdentifier: x.SetIdentifier,
		Weight: x.Weight, Region: x.Region, Failover: x.Failover, MultiValue: x.MultiValue != nil && *x.MultiValue,
	}
	if x.TTL != nil {
		r.TTL = *x.TTL
	}
	for _, v := range x.Values {
		r.Values = append(r.Values, v.Value)
	}
	return r
}

func toXML(r *Record) xmlRecordSet {
	ttl := r.TTL
	x := xmlRecordSet{
		// Route 53 answers a '*' in a name as the octal escape \052.
		Name: strings.ReplaceAll(r.Name, "*", `\052`), Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight, Region: r.Region,
		Failover: r.Failover, TTL: &ttl,
	}
	for _, v := range r.Values {
		x.Values = append(x.Values, xmlValue{Value: v})
	}
	if r.MultiValue {
		t := true
		x.MultiValue = &t
	}
	return x
}

type listResponse struct {
	XMLName        xml.Name       `xml:"ListResourceRecordSetsResponse"`
	Xmlns          string         `xml:"xmlns,attr"`
	Sets           []xmlRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated    bool           `xml:"IsTruncated"`
	NextName       string         `xml:"NextRecordName,omitempty"`
	NextType       string         `xml:"NextRecordType,omitempty"`
	NextIdentifier string         `xml:"NextRecordIdentifier,omitempty"`
	MaxItems       string         `xml:"MaxItems"`
}

type changeRequest struct {
	XMLName xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	Changes []struct {
		Action string       `xml:"Action"`
		Set    xmlRecordSet `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

type changeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
}

type changeResponse struct {
	XMLName xml.Name   `xml:"ChangeResourceRecordSetsResponse"`
	Xmlns   string     `xml:"xmlns,attr"`
	Info    changeInfo `xml:"ChangeInfo"`
}

type getChangeResponse struct {
	XMLName xml.Name   `xml:"GetChangeResponse"`
	Xmlns   string     `xml:"xmlns,attr"`
	Info    changeInfo `xml:"ChangeInfo"`
}
