package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/conditions"
	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/fleet"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/internal/propagate"
)

const (
	// kindFederatedIngress is the kind in the records' resource label and in member origins.
	kindFederatedIngress = "FederatedIngress"
	// whyNotReady says in messages that a cluster does not count because it is not Ready.
	whyNotReady = "not Ready"
)

// ingressDNS is the DNS-mode controller of FederatedIngress global addresses (issue 11): it
// follows the cluster view, the member Ingresses (their load-balancer addresses, through a
// watch of its own) and the EndpointSlices of their backend Services (the DNS controller's
// watch, shared), plans the host's records by strategy (internal/dns.PlanIngress) and hands them
// to the FederatedDomain's provider through the same publishing path as FederatedService
// names. It owns status.dns, status.addresses and GlobalAddressReady of the Ingresses of mode
// DNS; the GCLB controller owns the latter two in mode GCLB.
type ingressDNS struct {
	*DNSReconciler
	ingresses *member.Watch
	enqueue   atomic.Pointer[func(types.NamespacedName)]
}

// Reconcile publishes one FederatedIngress's global address, or withdraws it.
func (r *ingressDNS) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	ing := &v1alpha1.FederatedIngress{}
	if err := r.Client.Get(ctx, req.NamespacedName, ing); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, r.forget(ctx, dnsControllerIngresses, dnsSubject{kind: kindFederatedIngress, key: req.NamespacedName})
		}
		return ctrl.Result{}, fmt.Errorf("reading FederatedIngress %s: %w", req, err)
	}
	subj := subjectOf(kindFederatedIngress, ing)
	if !ing.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.forget(ctx, dnsControllerIngresses, subj)
	}
	domains := &v1alpha1.FederatedDomainList{}
	if err := r.Client.List(ctx, domains); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing FederatedDomains: %w", err)
	}
	statusDomain := ""
	if ing.Status.DNS != nil {
		statusDomain = ing.Status.DNS.Domain
	}
	if !isDNSMode(ing) {
		// No DNS global address (none, or GCLB): its records go, and status.dns with them; the
		// GCLB controller owns the addresses and the condition then.
		if err := r.withdrawElsewhere(ctx, subj, statusDomain, nil, domains.Items); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.patch(ctx, ing, func(st *v1alpha1.FederatedIngressStatus, generation int64) {
			st.DNS = nil
			if glb := ing.Spec.GlobalLoadBalancer; glb == nil {
				st.Addresses = nil
				if meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionGlobalAddressReady) {
					conditions.Summarize(&st.Conditions, generation)
				}
			}
		}); err != nil {
			return ctrl.Result{}, err
		}
		r.drains.published(dnsControllerIngresses, subj.memo(), nil, 0, ing.Namespace, nil)
		return ctrl.Result{}, nil
	}
	glb := ing.Spec.GlobalLoadBalancer
	domain, notFound := pickDomain(glb.DomainRef, "spec.globalLoadBalancer.domainRef", "remove spec.globalLoadBalancer", domains.Items)
	var res ingressResult
	if domain == nil {
		res = ingressResult{cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonDomainNotFound, notFound)}
	} else {
		res = r.publish(ctx, ing, domain)
		if res.wait {
			return ctrl.Result{RequeueAfter: dnsWaitForMembers}, nil
		}
	}
	keep := domain
	if res.withdraw {
		keep = nil
	}
	if err := r.withdrawElsewhere(ctx, subj, statusDomain, keep, domains.Items); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.patch(ctx, ing, func(st *v1alpha1.FederatedIngressStatus, generation int64) {
		setIngressDNSStatus(st, generation, res)
	}); err != nil {
		return ctrl.Result{}, err
	}
	if !res.keep {
		r.drains.published(dnsControllerIngresses, subj.memo(), res.clusters, res.ttl, ing.Namespace, res.selectors)
	}
	return ctrl.Result{RequeueAfter: res.requeueAfter}, nil
}

func isDNSMode(ing *v1alpha1.FederatedIngress) bool {
	glb := ing.Spec.GlobalLoadBalancer
	return glb != nil && (glb.Mode == "" || glb.Mode == v1alpha1.GlobalLoadBalancerDNS)
}

func (r *ingressDNS) patch(ctx context.Context, ing *v1alpha1.FederatedIngress, set func(*v1alpha1.FederatedIngressStatus, int64)) error {
	return patchIngressStatus(ctx, r.Client, r.APIReader, ing, set)
}

// ingressResult is what one reconcile learned and published, for the status.
type ingressResult struct {
	cond metav1.Condition
	// dns and addresses published now; keep leaves both as they were (a provider that did not answer).
	dns       *v1alpha1.IngressDNSStatus
	addresses []v1alpha1.GlobalAddress
	keep      bool
	// withdraw: nothing may stay published (the provider cannot answer the strategy).
	withdraw bool
	// wait: some member has no verdict yet; nothing is written.
	wait         bool
	requeueAfter time.Duration
	// clusters whose addresses the published records hold, their TTL and the pods behind them
	// (for the drain ledger).
	clusters  []string
	ttl       time.Duration
	selectors []labels.Selector
}

func glbCondition(status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: v1alpha1.ConditionGlobalAddressReady, Status: status, Reason: reason, Message: message}
}

// setIngressDNSStatus writes a result into the status and summarises Ready again.
func setIngressDNSStatus(st *v1alpha1.FederatedIngressStatus, generation int64, res ingressResult) {
	if !res.keep {
		st.DNS, st.Addresses = res.dns, res.addresses
	}
	c := res.cond
	c.ObservedGeneration = generation
	meta.SetStatusCondition(&st.Conditions, c)
	conditions.Summarize(&st.Conditions, generation)
}

// publish plans the host's records from the members and hands them to the domain's provider.
func (r *ingressDNS) publish(ctx context.Context, ing *v1alpha1.FederatedIngress, d *v1alpha1.FederatedDomain) ingressResult {
	glb := ing.Spec.GlobalLoadBalancer
	views, err := clusterViews(ctx, r.Client, r.Registry)
	if err != nil {
		return ingressResult{keep: true, requeueAfter: dnsRetry, cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonProviderFailed, err.Error())}
	}
	selectors := r.backendSelectors(ctx, ing)
	clusters, wait, err := r.clusters(ctx, ing, views, selectors)
	if err != nil {
		return ingressResult{cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonInvalid, err.Error())}
	}
	if wait {
		return ingressResult{wait: true}
	}
	ttl := ttlOf(d)
	if glb.TTL != nil {
		ttl = *glb.TTL
	}
	plan, err := kdns.PlanIngress(kdns.IngressInput{Name: ing.Name, Namespace: ing.Namespace, Host: glb.Host, Domain: d.Spec.Domain,
		TTL: ttl, Strategy: string(glb.Strategy), PrimaryRegion: glb.PrimaryRegion, Clusters: clusters})
	if err != nil {
		return ingressResult{cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonInvalid, err.Error())}
	}
	eps := plan.Endpoints
	if glb.Strategy == v1alpha1.GlobalLoadBalancingStrategy(kdns.RoutingFailover) {
		eps = failoverAsAnswered(eps, false)
	}
	subj := subjectOf(kindFederatedIngress, ing)
	if d.Spec.Provider.Builtin != nil {
		// The builtin zones hold no ownership records: the host is the first Ingress's to ask.
		if other, err := r.hostHolder(ctx, ing, d); err != nil || other != "" {
			if err != nil {
				return ingressResult{keep: true, requeueAfter: dnsRetry, cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonProviderFailed, err.Error())}
			}
			return ingressResult{requeueAfter: dnsConflictRecheck, cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonRecordConflict,
				fmt.Sprintf("Not published: %s in FederatedDomain %s is the global address of FederatedIngress %s, which asked first", glb.Host, d.Name, other))}
		}
	}
	conflicts, err := r.apply(ctx, subj, d, eps)
	var unsupported *kdns.UnsupportedError
	if errors.As(err, &unsupported) && glb.Strategy == v1alpha1.GlobalLoadBalancingStrategy(kdns.RoutingFailover) {
		// A provider without routing answers a Failover address exactly when it holds only the
		// set answered now: the planner decides the failover, so nothing is lost but the ready
		// secondary set (failing over is then a replacement, not a deletion).
		eps = failoverAsAnswered(eps, true)
		conflicts, err = r.apply(ctx, subj, d, eps)
	}
	summary := ingressSummary(plan)
	switch {
	case errors.As(err, &unsupported):
		return ingressResult{withdraw: true, requeueAfter: dnsConflictRecheck, cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonStrategyNotSupported,
			fmt.Sprintf("The %s provider of FederatedDomain %s cannot answer strategy %s: %s; nothing is published for %s",
				providerKind(&d.Spec.Provider), d.Name, glb.Strategy, unsupported.Reason, glb.Host))}
	case err != nil:
		r.wakeDomain(d.Name)
		return ingressResult{keep: true, requeueAfter: dnsRetry, cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonProviderFailed,
			fmt.Sprintf("The %s provider of FederatedDomain %s did not take the records of %s (%s): %v",
				providerKind(&d.Spec.Provider), d.Name, glb.Host, summary, err))}
	case len(conflicts) > 0:
		// What was published before the conflict stays counted: the ledger keeps the subject's last clusters.
		r.published.Delete(subj.memo())
		msgs := make([]string, len(conflicts))
		for i, c := range conflicts {
			msgs[i] = c.Error()
		}
		return ingressResult{requeueAfter: dnsConflictRecheck,
			cond: glbCondition(metav1.ConditionFalse, v1alpha1.ReasonRecordConflict, "Not published: "+strings.Join(msgs, "; "))}
	}
	res := ingressResult{requeueAfter: dnsResync, dns: &v1alpha1.IngressDNSStatus{Domain: d.Spec.Domain},
		clusters: publishedClusters(clusters, plan), ttl: time.Duration(ttl) * time.Second, selectors: selectors}
	for _, e := range eps {
		rs := v1alpha1.DNSRecordSet{DNSName: v1alpha1.DNSName{Name: e.DNSName, Type: v1alpha1.DNSRecordType(e.RecordType), Targets: slices.Clone(e.Targets)},
			SetIdentifier: e.SetIdentifier}
		if e.Routing != nil {
			rs.Policy, rs.Weight, rs.Primary, rs.Region = e.Routing.Policy, e.Routing.Weight, e.Routing.Primary, e.Routing.Region
		}
		res.dns.RecordSets = append(res.dns.RecordSets, rs)
	}
	for _, a := range plan.Addresses {
		res.addresses = append(res.addresses, v1alpha1.GlobalAddress{IP: a.IP, Hostname: a.Hostname, Clusters: slices.Clone(a.Clusters)})
	}
	if len(plan.Addresses) == 0 {
		res.cond = glbCondition(metav1.ConditionFalse, v1alpha1.ReasonNoHealthyCluster,
			fmt.Sprintf("%s answers NXDOMAIN: no cluster is healthy for the Ingress (%s)", glb.Host, summary))
		return res
	}
	msg := fmt.Sprintf("%s answers %s (%s) in %s; %s", glb.Host, describeAddresses(plan.Addresses), glb.Strategy, d.Spec.Domain, summary)
	if note := geoNote(d, glb, eps); note != "" {
		msg += "; " + note
	}
	res.cond = glbCondition(metav1.ConditionTrue, v1alpha1.ReasonGlobalAddressReady, msg)
	return res
}

// hostHolder returns the FederatedIngress (namespace/name) that holds ing's host in a builtin
// domain before it (ingressOrder), or "".
func (r *ingressDNS) hostHolder(ctx context.Context, ing *v1alpha1.FederatedIngress, d *v1alpha1.FederatedDomain) (string, error) {
	var list v1alpha1.FederatedIngressList
	if err := r.Client.List(ctx, &list); err != nil {
		return "", fmt.Errorf("listing FederatedIngresses: %w", err)
	}
	host := ing.Spec.GlobalLoadBalancer.Host
	for i := range list.Items {
		o := &list.Items[i]
		if o.UID == ing.UID || !isDNSMode(o) || !o.DeletionTimestamp.IsZero() || o.Spec.GlobalLoadBalancer.Host != host || ingressOrder(*o, *ing) > 0 {
			continue
		}
		if o.Status.DNS != nil && o.Status.DNS.Domain == d.Spec.Domain {
			return o.Namespace + "/" + o.Name, nil
		}
	}
	return "", nil
}

// publishedClusters are the placed clusters whose addresses the plan's records hold (a
// standby of Failover included: its set is published).
func publishedClusters(clusters []kdns.IngressCluster, plan *kdns.IngressPlan) []string {
	out := map[string]bool{}
	for _, c := range clusters {
		out[c.Cluster] = true
	}
	for _, o := range plan.Omitted {
		if o.Target == "" && o.Reason != kdns.OmitStandby {
			delete(out, o.Cluster)
		}
	}
	return slices.Sorted(maps.Keys(out))
}

// failoverAsAnswered returns a Failover plan's records as plain record sets when only one set
// is left (every provider answers a lone set the same, and Cloud DNS's primaryBackup needs
// two), or, with answeredOnly, the set answered now (the primary while there is one) alone.
func failoverAsAnswered(eps []*kdns.Endpoint, answeredOnly bool) []*kdns.Endpoint {
	ids := map[string]bool{}
	answered := ""
	for _, e := range eps {
		ids[e.SetIdentifier] = true
		if e.Routing != nil && e.Routing.Primary {
			answered = kdns.SetPrimary
		}
	}
	if answered == "" {
		answered = kdns.SetSecondary
	}
	if len(ids) > 1 && !answeredOnly {
		return eps
	}
	out := make([]*kdns.Endpoint, 0, len(eps))
	for _, e := range eps {
		if len(ids) > 1 && e.SetIdentifier != answered {
			continue
		}
		n := *e
		n.SetIdentifier, n.Routing = "", nil
		out = append(out, &n)
	}
	return out
}

// ingressSummary says which clusters count and why the others do not.
func ingressSummary(plan *kdns.IngressPlan) string {
	var out []string
	behind := map[string]bool{}
	for _, a := range plan.Addresses {
		for _, c := range a.Clusters {
			behind[c] = true
		}
	}
	for _, o := range plan.Omitted {
		if o.Target == "" {
			out = append(out, o.Cluster+": "+omissionText(o.Reason))
		} else {
			out = append(out, fmt.Sprintf("%s of %s left out: %s", o.Target, o.Cluster, o.Reason))
		}
	}
	head := fmt.Sprintf("%d clusters answer", len(behind))
	if len(out) == 0 {
		return head
	}
	return head + "; " + strings.Join(out, "; ")
}

func omissionText(reason string) string {
	switch reason {
	case kdns.OmitClusterNotReady:
		return whyNotReady
	case kdns.OmitNoLoadBalancerAddress:
		return "no load-balancer address on the member Ingress"
	case kdns.OmitNoReadyEndpoints:
		return "no ready endpoint of the backend Service"
	case kdns.OmitStandby:
		return "standby (failover secondary)"
	}
	return reason
}

func describeAddresses(addrs []kdns.IngressAddress) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		t := a.IP
		if t == "" {
			t = a.Hostname
		}
		parts[i] = t + " (" + strings.Join(a.Clusters, ", ") + ")"
	}
	return strings.Join(parts, ", ")
}

// geoNote says which regions of a Geo address no client of a builtin domain is placed in (its
// geo table has no CIDR for them): their clusters answer only the clients of no known region.
func geoNote(d *v1alpha1.FederatedDomain, glb *v1alpha1.GlobalLoadBalancer, eps []*kdns.Endpoint) string {
	b := d.Spec.Provider.Builtin
	if b == nil || glb.Strategy != v1alpha1.GlobalLoadBalancingStrategy(kdns.RoutingGeo) {
		return ""
	}
	known := map[string]bool{}
	for _, g := range b.Geo {
		known[strings.ToLower(g.Region)] = true
	}
	var missing []string
	for _, e := range eps {
		if r := e.Routing; r != nil && !known[strings.ToLower(r.Region)] && !slices.Contains(missing, e.SetIdentifier) {
			missing = append(missing, e.SetIdentifier)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("FederatedDomain %s's geo table places no client in %s, which therefore answer only clients of no known region",
		d.Name, strings.Join(missing, ", "))
}

// clusters returns what the planner needs of each cluster the Ingress is placed on. wait is true
// while a placed cluster has no verdict or the watches have not synced there.
func (r *ingressDNS) clusters(ctx context.Context, ing *v1alpha1.FederatedIngress, views []fleet.Cluster,
	selectors []labels.Selector) ([]kdns.IngressCluster, bool, error) {
	infos := make([]propagate.Cluster, len(views))
	for i := range views {
		infos[i] = propagate.Cluster{Name: views[i].Name, Labels: views[i].Labels}
	}
	selected, err := propagate.SelectClusters(ing.Spec.Placement, infos)
	if err != nil {
		return nil, false, err
	}
	var out []kdns.IngressCluster
	for i := range views {
		v := &views[i]
		if !slices.Contains(selected, v.Name) {
			continue
		}
		c := kdns.IngressCluster{Cluster: v.Name, Region: v.Region}
		switch v.State {
		case fleet.StateConnecting:
			return nil, true, nil
		case fleet.StateReady:
			c.Ready, c.Draining = true, v.Draining() || r.drains.leavingFor(ing.Namespace, selectors, v.Name)
			if notYet := r.memberIngress(ctx, v.Name, ing, &c); notYet {
				return nil, true, nil
			}
		}
		out = append(out, c)
	}
	return out, false, nil
}

// memberIngress fills in c's load-balancer targets from the member Ingress and its ready
// endpoints from the EndpointSlices of the Ingress's backend Services there; notYet is true
// while the watches have not synced. A member that cannot be read counts as not Ready.
func (r *ingressDNS) memberIngress(ctx context.Context, cluster string, ing *v1alpha1.FederatedIngress, c *kdns.IngressCluster) (notYet bool) {
	notSynced := func(err error) bool {
		return errors.Is(err, member.ErrWatchNotSynced) || errors.Is(err, member.ErrClusterNotConnected)
	}
	ingReader, err := r.ingresses.Reader(cluster)
	if err != nil {
		c.Ready = false
		return notSynced(err)
	}
	live := &networkingv1.Ingress{}
	if err := ingReader.Get(ctx, client.ObjectKeyFromObject(ing), live); err != nil {
		return false // no member Ingress yet: no load-balancer address
	}
	for _, in := range live.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			c.IPs = append(c.IPs, in.IP)
		} else if in.Hostname != "" {
			c.Hostnames = append(c.Hostnames, in.Hostname)
		}
	}
	epReader, err := r.endpoints.Reader(cluster)
	if err != nil {
		c.Ready = false
		return notSynced(err)
	}
	for _, svc := range ingressBackends(&live.Spec) {
		var list discoveryv1.EndpointSliceList
		if err := epReader.List(ctx, &list, client.InNamespace(ing.Namespace), client.MatchingLabels{labelServiceName: svc}); err != nil {
			continue
		}
		c.ReadyEndpoints += int64(readyEndpoints(list.Items))
	}
	return false
}

// backendSelectors select the pods behind the Ingress: those of its backends that are
// FederatedServices (a backend Service kfed does not federate is not known here).
func (r *ingressDNS) backendSelectors(ctx context.Context, ing *v1alpha1.FederatedIngress) []labels.Selector {
	var out []labels.Selector
	for _, name := range ingressBackends(&ing.Spec.Template.Spec) {
		fs := &v1alpha1.FederatedService{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ing.Namespace, Name: name}, fs); err == nil {
			out = append(out, serviceSelector(fs))
		}
	}
	return out
}

// ingressBackends are the names of the Services an Ingress sends traffic to, sorted.
func ingressBackends(spec *networkingv1.IngressSpec) []string {
	var out []string
	add := func(b *networkingv1.IngressBackend) {
		if b != nil && b.Service != nil && b.Service.Name != "" && !slices.Contains(out, b.Service.Name) {
			out = append(out, b.Service.Name)
		}
	}
	add(spec.DefaultBackend)
	for _, rule := range spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for i := range rule.HTTP.Paths {
			add(&rule.HTTP.Paths[i].Backend)
		}
	}
	slices.Sort(out)
	return out
}

// wakeByBackend enqueues the DNS-mode FederatedIngresses of a namespace whose template sends
// traffic to the Service svc (an EndpointSlice of it changed in a member).
func (r *ingressDNS) wakeByBackend(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], ns, svc string) {
	var list v1alpha1.FederatedIngressList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{indexIngressBackend: svc}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing FederatedIngresses", "namespace", ns, "backend", svc)
		return
	}
	for i := range list.Items {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
}

// indexIngressBackend indexes the DNS-mode FederatedIngresses by the Services they send traffic
// to, so that an EndpointSlice event (frequent during a rollout) finds its Ingresses without
// listing the namespace.
const indexIngressBackend = "federation.kfed.io/dns-backend"

// wakeNamespace enqueues the DNS-mode FederatedIngresses of a namespace.
func (r *ingressDNS) wakeNamespace(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], ns string) {
	var list v1alpha1.FederatedIngressList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return
	}
	for i := range list.Items {
		if isDNSIngress(&list.Items[i]) {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
}

// all returns a request for every FederatedIngress of mode DNS.
func (r *ingressDNS) all(ctx context.Context) []reconcile.Request {
	var list v1alpha1.FederatedIngressList
	if err := r.Client.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing FederatedIngresses")
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if isDNSMode(&list.Items[i]) || list.Items[i].Status.DNS != nil {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}

// setup registers the controller: FederatedIngresses (their spec), FederatedClusters,
// FederatedDomains, the members' health, its own watch of the member Ingresses kfed writes and
// the DNS controller's watch of EndpointSlices (through DNSReconciler.wakeIngresses).
func (r *ingressDNS) setup(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.FederatedIngress{}, indexIngressBackend,
		func(o client.Object) []string {
			if ing, ok := o.(*v1alpha1.FederatedIngress); ok && isDNSMode(ing) {
				return ingressBackends(&ing.Spec.Template.Spec)
			}
			return nil
		}); err != nil {
		return fmt.Errorf("indexing FederatedIngresses by backend: %w", err)
	}
	var err error
	r.ingresses, err = r.Registry.WatchFor(member.WatchSpec{
		Name:     "dns-ingresses",
		GVK:      networkingv1.SchemeGroupVersion.WithKind("Ingress"),
		Selector: managedSelector,
		Handler: func(_ string, o client.Object) {
			origin, err := propagate.ParseOrigin(o.GetAnnotations()[v1alpha1.AnnotationOrigin])
			if fn := r.enqueue.Load(); err == nil && origin.Kind == kindFederatedIngress && fn != nil {
				(*fn)(types.NamespacedName{Namespace: origin.Namespace, Name: origin.Name})
			}
		},
	})
	if err != nil {
		return err
	}
	r.drains.register(dnsControllerIngresses)
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request { return r.all(ctx) })
	events := source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		enqueue := func(key types.NamespacedName) { q.Add(reconcile.Request{NamespacedName: key}) }
		r.enqueue.Store(&enqueue)
		r.drains.started(dnsControllerIngresses, memos(kindFederatedIngress, r.all(ctx)))
		wake := func(ns, svc string) { r.wakeByBackend(ctx, q, ns, svc) }
		r.wakeIngresses.Store(&wake)
		wakeIn := func(ns string) { r.wakeNamespace(ctx, q, ns) }
		r.wakeIngressesIn.Store(&wakeIn)
		r.Registry.OnChange(func(string) {
			for _, req := range r.all(ctx) {
				q.Add(req)
			}
		})
		return nil
	})
	// An update passes when the Ingress has a DNS global address before or after it, so that
	// leaving DNS mode withdraws the records.
	dnsOnly := predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return isDNSIngress(e.Object) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return isDNSIngress(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return isDNSIngress(e.ObjectOld) || isDNSIngress(e.ObjectNew) },
		GenericFunc: func(e event.GenericEvent) bool { return isDNSIngress(e.Object) },
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.FederatedIngress{}, builder.WithPredicates(dnsOnly, specChanged{})).
		Watches(&v1alpha1.FederatedCluster{}, all).
		Watches(&v1alpha1.FederatedDomain{}, all).
		WatchesRawSource(events).
		Named(dnsControllerIngresses).
		WithOptions(controller.Options{MaxConcurrentReconciles: dnsWorkers}).
		Complete(r)
}

// isDNSIngress tells whether an object is a FederatedIngress of mode DNS, or one that still
// holds records of it.
func isDNSIngress(o client.Object) bool {
	ing, ok := o.(*v1alpha1.FederatedIngress)
	return ok && (isDNSMode(ing) || ing.Status.DNS != nil)
}
