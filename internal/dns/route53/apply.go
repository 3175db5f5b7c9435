package route53

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/cloudapi"
)

// ApplyChanges writes the Changes as ChangeResourceRecordSets batches: a Create is a CREATE,
// an Update an UPSERT (a DELETE of the old and a CREATE of the new record set when the two
// differ in name, type or set identifier), a Delete a DELETE of the record set exactly as
// read. Weights of the created and updated sets are scaled per name and type (ScaleWeights).
//
// The changes of one name travel in one batch where they fit (DELETEs, then UPSERTs, then
// CREATEs), so that each batch is valid on its own: replacing a simple record set by routed
// ones, or an A by a CNAME, never leaves a batch Route 53 refuses. A batch holds at most 1,000
// records and 32,000 characters of values, an UPSERT counting twice. Each batch is all or
// nothing, so Changes that span batches are applied up to the first batch that fails.
func (p *Provider) ApplyChanges(ctx context.Context, changes *kdns.Changes) error {
	if err := kdns.CheckChanges("route53", changes); err != nil {
		return err
	}
	if changes == nil || changes.Empty() {
		return nil
	}
	zone, err := p.zone(ctx)
	if err != nil {
		return err
	}
	list, err := p.changeList(zone, changes)
	if err != nil {
		return err
	}
	batches, err := makeBatches(list)
	if err != nil {
		return err
	}
	return cloudapi.ApplyAll(ctx, batches, p.submit)
}

// change is one change with the Endpoint it writes (as Records reads it back) for checks.
type change struct {
	types.Change
	ep *kdns.Endpoint
}

func (c *change) name() string { return aws.ToString(c.ResourceRecordSet.Name) }

// cost is the change's share of a batch's limits: records and characters of values.
func (c *change) cost() (records, chars int) {
	n := 1
	if c.Action == types.ChangeActionUpsert {
		n = 2
	}
	for _, rr := range c.ResourceRecordSet.ResourceRecords {
		chars += n * len(aws.ToString(rr.Value))
	}
	return n * len(c.ResourceRecordSet.ResourceRecords), chars
}

func (p *Provider) changeList(zone string, c *kdns.Changes) ([]*change, error) {
	written := make([]*kdns.Endpoint, 0, len(c.Create)+len(c.UpdateNew))
	written = append(written, c.Create...)
	written = append(written, c.UpdateNew...)
	weights, err := ScaleWeights(written)
	if err != nil {
		return nil, err
	}
	var out []*change
	add := func(action types.ChangeAction, ep *kdns.Endpoint, weight int64) error {
		if ep == nil {
			return invalid("the changes hold a nil record")
		}
		if action == types.ChangeActionDelete && ep.Routing != nil && ep.Routing.Policy == kdns.RoutingWeighted {
			weight = ep.Routing.Weight // as read: a DELETE must match the record set exactly
		}
		s, err := toRecordSet(zone, ep, weight)
		if err != nil {
			return err
		}
		out = append(out, &change{Change: types.Change{Action: action, ResourceRecordSet: s}, ep: toEndpoint(s)})
		return nil
	}
	for _, ep := range c.Delete {
		if err := add(types.ChangeActionDelete, ep, 0); err != nil {
			return nil, err
		}
	}
	for i, old := range c.UpdateOld {
		n := c.UpdateNew[i]
		if old == nil || n == nil {
			return nil, invalid("the changes hold a nil record")
		}
		if old.Normalize().Key() == n.Normalize().Key() {
			if err := add(types.ChangeActionUpsert, n, weights[n]); err != nil {
				return nil, err
			}
			continue
		}
		if err := add(types.ChangeActionDelete, old, 0); err != nil {
			return nil, err
		}
		if err := add(types.ChangeActionCreate, n, weights[n]); err != nil {
			return nil, err
		}
	}
	for _, ep := range c.Create {
		if err := add(types.ChangeActionCreate, ep, weights[ep]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var actionOrder = map[types.ChangeAction]int{types.ChangeActionDelete: 0, types.ChangeActionUpsert: 1, types.ChangeActionCreate: 2}

// makeBatches groups the changes by name (DELETEs, UPSERTs, CREATEs within a name) and packs
// whole groups into batches within the limits; a group too large for one batch is split in
// its order, so its deletes land first.
func makeBatches(list []*change) ([][]*change, error) {
	groups := map[string][]*change{}
	var names []string
	for _, c := range list {
		if _, ok := groups[c.name()]; !ok {
			names = append(names, c.name())
		}
		groups[c.name()] = append(groups[c.name()], c)
	}
	slices.Sort(names)
	var batches [][]*change
	var cur []*change
	curRecords, curChars := 0, 0
	flush := func() {
		if len(cur) > 0 {
			batches = append(batches, cur)
			cur, curRecords, curChars = nil, 0, 0
		}
	}
	for _, name := range names {
		g := groups[name]
		slices.SortStableFunc(g, func(a, b *change) int { return actionOrder[a.Action] - actionOrder[b.Action] })
		records, chars := 0, 0
		for _, c := range g {
			r, ch := c.cost()
			if r > MaxRecordsPerBatch || ch > MaxValueChars {
				return nil, invalid("%s %s alone holds %d records and %d characters of values, over the %d and %d of a batch",
					c.Action, c.ep, r, ch, MaxRecordsPerBatch, MaxValueChars)
			}
			records, chars = records+r, chars+ch
		}
		if curRecords+records > MaxRecordsPerBatch || curChars+chars > MaxValueChars {
			flush()
		}
		if records <= MaxRecordsPerBatch && chars <= MaxValueChars {
			cur = append(cur, g...)
			curRecords, curChars = curRecords+records, curChars+chars
			continue
		}
		for _, c := range g {
			r, ch := c.cost()
			if curRecords+r > MaxRecordsPerBatch || curChars+ch > MaxValueChars {
				flush()
			}
			cur = append(cur, c)
			curRecords, curChars = curRecords+r, curChars+ch
		}
	}
	flush()
	return batches, nil
}

// submit sends one batch until it is applied, refused, or the attempts run out.
//
// Throttled answers (Throttling, PriorRequestNotComplete, HTTP 429) mean Route 53 did nothing:
// the same batch is sent again after a backoff. A batch whose answer is unknown (the
// connection dropped after the request left, an HTTP 5xx) may have been applied; sending it
// again would fail (its CREATEs exist, its DELETEs are gone) or, for UPSERTs, hide a lost
// answer. So the zone is read again first: a zone that holds the batch's result means the batch
// was applied, once; a zone that holds its starting point means it was not, and the batch is
// sent again; anything else is another writer's change (Conflict).
func (p *Provider) submit(ctx context.Context, batch []*change) error {
	in := &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(p.zoneID), ChangeBatch: &types.ChangeBatch{}}
	for _, c := range batch {
		in.ChangeBatch.Changes = append(in.ChangeBatch.Changes, c.Change)
	}
	what := fmt.Sprintf("ChangeResourceRecordSets (%d changes)", len(batch))
	for attempt := 0; ; attempt++ {
		_, err := p.client.ChangeResourceRecordSets(ctx, in)
		if err == nil {
			return nil
		}
		kind := classifyRetry(err)
		if kind == notRetried || attempt+1 >= p.backoff.Attempts {
			return p.classify(err, what, attempt+1)
		}
		d := p.backoff.Delay(attempt)
		p.logRetry(ctx, what, attempt+1, d, err)
		if cloudapi.Sleep(ctx, d) != nil {
			return p.classify(err, what, attempt+1)
		}
		if kind == throttled {
			continue
		}
		state, rerr := p.batchState(ctx, batch)
		switch {
		case rerr != nil:
			return fmt.Errorf("%s: the answer to %s was lost and reading the zone to learn whether it was applied failed: %w",
				p.describe(), what, rerr)
		case state == applied:
			p.logger(ctx).V(1).Info("A Route 53 change batch whose answer was lost is applied", "zone", p.zoneID, "changes", len(batch))
			return nil
		case state == otherState:
			return kdns.NewProviderError(kdns.ReasonConflict, err,
				"%s: the answer to %s was lost and the zone now holds neither its starting point nor its result: another writer changed it", p.describe(), what)
		}
	}
}

type batchOutcome int

const (
	notApplied batchOutcome = iota
	applied
	otherState
)

// batchState reads the zone and tells whether it holds the batch's result or its starting point.
func (p *Provider) batchState(ctx context.Context, batch []*change) (batchOutcome, error) {
	sets, err := p.list(ctx)
	if err != nil {
		return otherState, err
	}
	current := map[kdns.Key]*kdns.Endpoint{}
	for i := range sets {
		if ep := toEndpoint(&sets[i]); ep != nil {
			current[ep.Key()] = ep
		}
	}
	result := map[kdns.Key]*kdns.Endpoint{}
	start := map[kdns.Key]*kdns.Endpoint{} // nil: absent at the start; missing: either
	for _, c := range batch {
		k := c.ep.Key()
		if _, seen := result[k]; !seen {
			switch c.Action {
			case types.ChangeActionDelete:
				start[k] = c.ep
			case types.ChangeActionCreate:
				start[k] = nil
			}
		}
		if c.Action == types.ChangeActionDelete {
			result[k] = nil
		} else {
			result[k] = c.ep
		}
	}
	holds := func(want map[kdns.Key]*kdns.Endpoint) bool {
		for k, w := range want {
			if !sameSet(current[k], w) {
				return false
			}
		}
		return true
	}
	switch {
	case holds(result):
		return applied, nil
	case holds(start):
		return notApplied, nil
	}
	return otherState, nil
}

func sameSet(a, b *kdns.Endpoint) bool {
	if a == nil || b == nil {
		return a == b
	}
	sameRouting := (a.Routing == nil && b.Routing == nil) || (a.Routing != nil && b.Routing != nil && *a.Routing == *b.Routing)
	return a.TTL == b.TTL && slices.Equal(a.Targets, b.Targets) && sameRouting
}

type retryKind int

const (
	notRetried retryKind = iota
	// throttled: Route 53 refused the call for its rate; it did nothing.
	throttled
	// unknown: the call may have been carried out (its answer was lost, or a server error).
	unknown
)

var throttleCodes = []string{"Throttling", "ThrottlingException", "PriorRequestNotComplete", "TooManyRequestsException", "RequestLimitExceeded"}

func classifyRetry(err error) retryKind {
	if slices.Contains(throttleCodes, errorCode(err)) || httpStatus(err) == http.StatusTooManyRequests {
		return throttled
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return notRetried
	}
	if httpStatus(err) >= 500 {
		return unknown
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) && !cloudapi.NotSent(err) {
		return unknown
	}
	return notRetried
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

var unauthorizedCodes = []string{
	"AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
	"ExpiredToken", "ExpiredTokenException", "NotAuthorizedException", "IncompleteSignature", "MissingAuthenticationToken",
}

// classify turns an SDK error into a ProviderError whose message names the zone and call.
func (p *Provider) classify(err error, what string, attempts int) error {
	where := p.describe()
	code := errorCode(err)
	var icb *types.InvalidChangeBatch
	var signing *v4.SigningError
	switch {
	case errors.As(err, &icb):
		msgs := strings.Join(icb.Messages, "; ")
		for _, m := range icb.Messages {
			if strings.Contains(m, "but it already exists") || strings.Contains(m, "but it was not found") ||
				strings.Contains(m, "do not match the current values") {
				return kdns.NewProviderError(kdns.ReasonConflict, nil, "%s: %s refused: %s (another writer changed the records since they were read)", where, what, msgs)
			}
		}
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: %s refused: %s", where, what, msgs)
	case code == "NoSuchHostedZone" || code == "HostedZoneNotFound":
		return kdns.NewProviderError(kdns.ReasonZoneNotFound, nil, "%s: %s: no such hosted zone", where, what)
	case slices.Contains(unauthorizedCodes, code) || httpStatus(err) == http.StatusForbidden:
		return kdns.NewProviderError(kdns.ReasonUnauthorized, nil, "%s: %s refused the credentials (%s)", where, what, code)
	case errors.As(err, &signing):
		return kdns.NewProviderError(kdns.ReasonUnauthorized, err, "%s: %s: no usable credentials", where, what)
	case code == "InvalidInput":
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, err, "%s: %s refused", where, what)
	case classifyRetry(err) == throttled:
		return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: %s still throttled after %d attempts", where, what, attempts)
	case cloudapi.Unreachable(err) || classifyRetry(err) == unknown:
		return kdns.NewProviderError(kdns.ReasonProviderUnreachable, err, "%s: no answer to %s after %d attempts", where, what, attempts)
	}
	return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: %s", where, what)
}
