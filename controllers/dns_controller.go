package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
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
	// dnsProviderTimeout bounds one reconcile's reads and writes of a provider, so that a DNS
	// server that does not answer costs one DNS worker a bounded time and nothing else.
	dnsProviderTimeout = 10 * time.Second
	// dnsRetry is when a Service whose records a provider did not take is tried again.
	dnsRetry = 5 * time.Second
	// dnsConflictRecheck is how often a Service blocked by another's record looks again.
	dnsConflictRecheck = 30 * time.Second
	// dnsWaitForMembers is when a Service waits for a member's verdict or watch to look again.
	dnsWaitForMembers = 2 * time.Second
	// dnsResync is how long a published plan is trusted without reading the provider again; a
	// record changed behind kfed's back is put right within it.
	dnsResync = 5 * time.Minute
	// dnsWorkers is the DNS controller's concurrency: its own workers, so a slow provider never
	// holds propagation's.
	dnsWorkers = 4
	// dnsControllerServices and dnsControllerIngresses name the two DNS controllers in the drain ledger.
	dnsControllerServices  = "dns"
	dnsControllerIngresses = "dns-ingress"
	// kindFederatedService is the kind in the records' resource label.
	kindFederatedService = "FederatedService"
	// labelServiceName is the label of an EndpointSlice naming its Service.
	labelServiceName = discoveryv1.LabelServiceName
)

// DNSReconciler publishes the DNS names of FederatedServices (issue 10): it follows the cluster
// view, the member Services (their load-balancer addresses) and EndpointSlices (their ready
// endpoints) through watches of its own, plans the records (internal/dns.PlanService) and hands
// them to the FederatedDomain's provider through the ownership registry, which never touches a
// record kfed does not own. It owns the DNSPublished condition and status.dns.
type DNSReconciler struct {
	Client client.Client
	// APIReader reads past the cache (after a conflicting status write).
	APIReader client.Reader
	Registry  *member.Registry

	providers *dnsProviders
	// drains learns which clusters each subject's records hold (drain before move); nil-safe.
	drains *drainLedger
	// recheck wakes the FederatedDomain controller when a provider fails a write.
	recheck chan<- event.GenericEvent

	services, endpoints *member.Watch
	enqueue             atomic.Pointer[func(types.NamespacedName)]
	// wakeIngresses is the global-address controller's: an EndpointSlice of Service (ns, name) changed.
	wakeIngresses atomic.Pointer[func(ns, name string)]
	// published remembers, per FederatedService, the domain and plan last published and when,
	// so that a member event that changes nothing costs no provider read.
	published sync.Map // dnsSubject.memo() → publishedPlan
}

// dnsSubject is the federated object whose records are published: a FederatedService's names
// or a FederatedIngress's global address.
type dnsSubject struct {
	kind string
	key  types.NamespacedName
	uid  types.UID
}

func subjectOf(kind string, o client.Object) dnsSubject {
	return dnsSubject{kind: kind, key: client.ObjectKeyFromObject(o), uid: o.GetUID()}
}

// resource is the subject in the records' resource label.
func (s dnsSubject) resource() string { return kdns.ResourceOf(s.kind, s.key.Namespace, s.key.Name) }

// memo is the subject's key in DNSReconciler.published.
func (s dnsSubject) memo() string { return s.kind + "/" + s.key.String() }

type publishedPlan struct {
	domain, fingerprint string
	at                  time.Time
}

// +kubebuilder:rbac:groups=federation.kfed.io,resources=federateddomains,verbs=get;list;watch
// +kubebuilder:rbac:groups=externaldns.k8s.io,resources=dnsendpoints,verbs=get;list;watch;create;update;patch;delete

// Reconcile publishes one FederatedService's names, or withdraws them.
func (r *DNSReconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	fs := &v1alpha1.FederatedService{}
	if err := r.Client.Get(ctx, req.NamespacedName, fs); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, r.forget(ctx, dnsControllerServices, dnsSubject{kind: kindFederatedService, key: req.NamespacedName})
		}
		return ctrl.Result{}, fmt.Errorf("reading FederatedService %s: %w", req, err)
	}
	if !fs.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.forget(ctx, dnsControllerServices, subjectOf(kindFederatedService, fs))
	}
	before := fs.DeepCopy()
	domains := &v1alpha1.FederatedDomainList{}
	if err := r.Client.List(ctx, domains); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing FederatedDomains: %w", err)
	}
	domain, asked, notFound := domainFor(fs, domains.Items)
	var res dnsResult
	switch {
	case !asked:
		res = dnsResult{absent: true}
	case domain == nil:
		res = dnsResult{cond: dnsCondition(metav1.ConditionFalse, v1alpha1.ReasonDomainNotFound, notFound)}
	default:
		res = r.publish(ctx, fs, domain)
		if res.wait {
			return ctrl.Result{RequeueAfter: dnsWaitForMembers}, nil
		}
	}
	// Names published in another domain before (spec.dns changed, or DNS was turned off) go.
	statusDomain := ""
	if fs.Status.DNS != nil {
		statusDomain = fs.Status.DNS.Domain
	}
	if err := r.withdrawElsewhere(ctx, subjectOf(kindFederatedService, fs), statusDomain, domain, domains.Items); err != nil {
		return ctrl.Result{}, err
	}
	setDNSStatus(fs, res)
	if err := r.patchStatus(ctx, before, fs); err != nil {
		return ctrl.Result{}, err
	}
	if !res.keepNames {
		r.drains.published(dnsControllerServices, subjectOf(kindFederatedService, fs).memo(), res.clusters, res.ttl)
	}
	return ctrl.Result{RequeueAfter: res.requeueAfter}, nil
}

// domainFor returns the FederatedDomain a Service's names go in. asked is false when the Service
// wants no names: spec.dns.disabled, or no spec.dns and not of type LoadBalancer, or of type
// LoadBalancer without spec.dns where there is not exactly one FederatedDomain (federation v1
// gave such Services names only where one DNS domain was configured). With asked and no domain,
// notFound says why.
func domainFor(fs *v1alpha1.FederatedService, domains []v1alpha1.FederatedDomain) (domain *v1alpha1.FederatedDomain, asked bool, notFound string) {
	spec := fs.Spec.DNS
	if spec != nil && spec.Disabled {
		return nil, false, ""
	}
	if spec == nil && fs.Spec.Template.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return nil, false, ""
	}
	if spec == nil {
		if live := liveDomains(domains); len(live) == 1 {
			return live[0], true, ""
		}
		return nil, false, ""
	}
	d, notFound := pickDomain(spec.DomainRef, "spec.dns.domainRef", "set spec.dns.disabled", domains)
	return d, true, notFound
}

// liveDomains are the FederatedDomains not being deleted.
func liveDomains(domains []v1alpha1.FederatedDomain) []*v1alpha1.FederatedDomain {
	live := make([]*v1alpha1.FederatedDomain, 0, len(domains))
	for i := range domains {
		if domains[i].DeletionTimestamp.IsZero() {
			live = append(live, &domains[i])
		}
	}
	return live
}

// pickDomain returns the FederatedDomain that ref (the field named field) names, or the only
// one when ref is empty; else nil and why, optOut saying how to ask for no names.
func pickDomain(ref, field, optOut string, domains []v1alpha1.FederatedDomain) (*v1alpha1.FederatedDomain, string) {
	live := liveDomains(domains)
	if ref != "" {
		for _, d := range live {
			if d.Name == ref {
				return d, ""
			}
		}
		return nil, fmt.Sprintf("%s names FederatedDomain %q, which does not exist", field, ref)
	}
	switch len(live) {
	case 1:
		return live[0], ""
	case 0:
		return nil, "No FederatedDomain exists; create one or " + optOut
	default:
		names := make([]string, len(live))
		for i, d := range live {
			names[i] = d.Name
		}
		slices.Sort(names)
		return nil, fmt.Sprintf("%d FederatedDomains exist (%s): %s must name one", len(live), strings.Join(names, ", "), field)
	}
}

// dnsResult is what one reconcile learned and published, for the status.
type dnsResult struct {
	// absent: the Service wants no names; status.dns and DNSPublished go.
	absent bool
	cond   metav1.Condition
	// names published now; keepNames leaves status.dns as it was (a provider that did not answer).
	status    *v1alpha1.ServiceDNSStatus
	keepNames bool
	// wait: some member has no verdict yet; nothing is written.
	wait         bool
	requeueAfter time.Duration
	// clusters whose addresses the published names hold, and their TTL (for the drain ledger).
	clusters []string
	ttl      time.Duration
}

func dnsCondition(status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: v1alpha1.ConditionDNSPublished, Status: status, Reason: reason, Message: message}
}

// setDNSStatus writes a result into the status and summarises Ready again.
func setDNSStatus(fs *v1alpha1.FederatedService, res dnsResult) {
	conds := &fs.Status.Conditions
	if res.absent {
		fs.Status.DNS = nil
		meta.RemoveStatusCondition(conds, v1alpha1.ConditionDNSPublished)
	} else {
		if !res.keepNames {
			fs.Status.DNS = res.status
		}
		c := res.cond
		c.ObservedGeneration = fs.Generation
		meta.SetStatusCondition(conds, c)
	}
	conditions.Summarize(conds, fs.Generation)
}

// publish plans the Service's records from the members and hands them to the domain's provider.
func (r *DNSReconciler) publish(ctx context.Context, fs *v1alpha1.FederatedService, d *v1alpha1.FederatedDomain) dnsResult {
	views, err := clusterViews(ctx, r.Client, r.Registry)
	if err != nil {
		return dnsResult{keepNames: true, requeueAfter: dnsRetry,
			cond: dnsCondition(metav1.ConditionFalse, v1alpha1.ReasonProviderFailed, err.Error())}
	}
	targets, unhealthy, wait, err := r.targets(ctx, fs, views)
	if err != nil {
		return dnsResult{cond: dnsCondition(metav1.ConditionFalse, v1alpha1.ReasonInvalid, err.Error())}
	}
	if wait {
		return dnsResult{wait: true}
	}
	ttl := ttlOf(d)
	if fs.Spec.DNS != nil && fs.Spec.DNS.TTL != nil {
		ttl = *fs.Spec.DNS.TTL
	}
	plan, err := kdns.PlanService(kdns.ServiceInput{Name: fs.Name, Namespace: fs.Namespace,
		FederationName: d.Spec.FederationName, Domain: d.Spec.Domain, TTL: ttl, Targets: targets})
	if err != nil {
		return dnsResult{cond: dnsCondition(metav1.ConditionFalse, v1alpha1.ReasonInvalid, err.Error())}
	}
	healthy := len(targets) - len(unhealthy)
	summary := fmt.Sprintf("healthy in %d of %d clusters", healthy, len(targets))
	if len(unhealthy) > 0 {
		summary += " (" + strings.Join(unhealthy, "; ") + ")"
	}
	for _, o := range plan.Omitted {
		summary += fmt.Sprintf("; %s of %s left out of %s: %s", o.Target, o.Cluster, o.Name, o.Reason)
	}
	var clusters []string
	for _, t := range targets {
		if t.Healthy {
			clusters = append(clusters, t.Cluster)
		}
	}
	conflicts, err := r.apply(ctx, subjectOf(kindFederatedService, fs), d, plan.Endpoints)
	if err != nil {
		r.wakeDomain(d.Name)
		return dnsResult{keepNames: true, requeueAfter: dnsRetry,
			cond: dnsCondition(metav1.ConditionFalse, v1alpha1.ReasonProviderFailed, fmt.Sprintf(
				"The %s provider of FederatedDomain %s did not take the records (%s): %v", providerKind(&d.Spec.Provider), d.Name, summary, err))}
	}
	st := &v1alpha1.ServiceDNSStatus{Domain: d.Spec.Domain}
	refused := map[string]bool{}
	msgs := make([]string, 0, len(conflicts))
	for _, c := range conflicts {
		refused[c.Record] = true
		msgs = append(msgs, c.Error())
	}
	for _, e := range plan.Endpoints {
		if refused[e.DNSName+" "+e.RecordType] {
			continue
		}
		st.Names = append(st.Names, v1alpha1.DNSName{Name: e.DNSName, Type: v1alpha1.DNSRecordType(e.RecordType), Targets: slices.Clone(e.Targets)})
	}
	if len(conflicts) > 0 {
		r.published.Delete(subjectOf(kindFederatedService, fs).memo())
		return dnsResult{status: st, requeueAfter: dnsConflictRecheck, clusters: clusters, ttl: time.Duration(ttl) * time.Second,
			cond: dnsCondition(metav1.ConditionFalse, v1alpha1.ReasonRecordConflict, "Not published: "+strings.Join(msgs, "; "))}
	}
	msg := fmt.Sprintf("%d names published in %s; %s", len(st.Names), d.Spec.Domain, summary)
	if len(st.Names) == 0 {
		msg = fmt.Sprintf("No names in %s: the Service is healthy in no cluster, so every name answers NXDOMAIN; %s", d.Spec.Domain, summary)
	}
	return dnsResult{status: st, requeueAfter: dnsResync, clusters: clusters, ttl: time.Duration(ttl) * time.Second,
		cond: dnsCondition(metav1.ConditionTrue, v1alpha1.ReasonDNSPublished, msg)}
}

// targets returns the clusters the Service is placed on, each with its load-balancer ingress and
// whether it counts (Ready, with a load-balancer address and a ready endpoint); unhealthy says
// why the others do not. wait is true while a placed cluster has no verdict or its watches have
// not synced: planning then would withdraw a healthy cluster's address only to put it back.
func (r *DNSReconciler) targets(ctx context.Context, fs *v1alpha1.FederatedService, views []fleet.Cluster) (
	targets []kdns.ServiceTarget, unhealthy []string, wait bool, err error) {
	infos := make([]propagate.Cluster, len(views))
	for i := range views {
		infos[i] = propagate.Cluster{Name: views[i].Name, Labels: views[i].Labels}
	}
	selected, err := propagate.SelectClusters(fs.Spec.Placement, infos)
	if err != nil {
		return nil, nil, false, err
	}
	isSelected := map[string]bool{}
	for _, s := range selected {
		isSelected[s] = true
	}
	for i := range views {
		v := &views[i]
		if !isSelected[v.Name] {
			continue
		}
		t := kdns.ServiceTarget{Cluster: v.Name, Region: v.Region}
		if len(v.Zones) > 0 {
			t.Zone = v.Zones[0]
		}
		why := ""
		switch {
		case v.State == fleet.StateConnecting:
			return nil, nil, true, nil
		case v.State == fleet.StateNotReady:
			why = whyNotReady
		case v.Draining():
			why = "draining (a NoExecute taint): out of DNS before its replicas move"
		default:
			var notYet bool
			why, notYet = r.memberHealth(ctx, v.Name, fs, &t)
			if notYet {
				return nil, nil, true, nil
			}
		}
		t.Healthy = why == ""
		if !t.Healthy {
			unhealthy = append(unhealthy, v.Name+": "+why)
		}
		targets = append(targets, t)
	}
	return targets, unhealthy, false, nil
}

// memberHealth reads the member Service and its EndpointSlices from the DNS controller's watches
// in one Ready cluster, fills in t's ingress and says why the cluster does not count ("" when it
// does); notYet is true while the watches have not synced there.
func (r *DNSReconciler) memberHealth(ctx context.Context, cluster string, fs *v1alpha1.FederatedService, t *kdns.ServiceTarget) (why string, notYet bool) {
	notSynced := func(err error) bool {
		return errors.Is(err, member.ErrWatchNotSynced) || errors.Is(err, member.ErrClusterNotConnected)
	}
	svcReader, err := r.services.Reader(cluster)
	if err != nil {
		return err.Error(), notSynced(err)
	}
	svc := &corev1.Service{}
	if err := svcReader.Get(ctx, client.ObjectKeyFromObject(fs), svc); err != nil {
		if apierrors.IsNotFound(err) {
			return "no Service yet", false
		}
		return err.Error(), false
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			t.IPs = append(t.IPs, in.IP)
		} else if in.Hostname != "" {
			t.Hostnames = append(t.Hostnames, in.Hostname)
		}
	}
	epReader, err := r.endpoints.Reader(cluster)
	if err != nil {
		return err.Error(), notSynced(err)
	}
	var list discoveryv1.EndpointSliceList
	if err := epReader.List(ctx, &list, client.InNamespace(fs.Namespace), client.MatchingLabels{labelServiceName: fs.Name}); err != nil {
		return err.Error(), false
	}
	ready := readyEndpoints(list.Items)
	switch {
	case len(t.IPs)+len(t.Hostnames) == 0:
		return "no load-balancer address", false
	case ready == 0:
		return "no ready endpoint", false
	}
	return "", false
}

// readyEndpoints counts the endpoints of the slices that are ready (a missing condition is
// ready, as the EndpointSlice API says).
func readyEndpoints(slices []discoveryv1.EndpointSlice) int {
	n := 0
	for i := range slices {
		for _, ep := range slices[i].Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				n++
			}
		}
	}
	return n
}

// apply makes the domain hold exactly eps for the subject (as the provider will hold them,
// kdns.PrepareEndpoints: a provider that cannot answer their routing gives an
// *kdns.UnsupportedError), and returns the records refused because another owns them. The
// builtin provider needs no write: its zones are built from the subjects' status on every
// replica, so the status write that follows publishes.
func (r *DNSReconciler) apply(ctx context.Context, subj dnsSubject, d *v1alpha1.FederatedDomain,
	eps []*kdns.Endpoint) ([]*kdns.ConflictError, error) {
	memo := subj.memo()
	if d.Spec.Provider.Builtin != nil {
		r.published.Store(memo, publishedPlan{domain: d.Name})
		return nil, nil
	}
	fingerprint := planFingerprint(d, eps)
	if v, ok := r.published.Load(memo); ok {
		if p := v.(publishedPlan); p.domain == d.Name && p.fingerprint == fingerprint && time.Since(p.at) < dnsResync {
			return nil, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, dnsProviderTimeout)
	defer cancel()
	reg, err := r.registry(ctx, d, subj)
	if err != nil {
		return nil, err
	}
	if eps, err = reg.PrepareEndpoints(eps); err != nil {
		return nil, err
	}
	current, err := reg.RecordsFor(ctx, subj.resource())
	if err != nil {
		return nil, err
	}
	changes, err := kdns.Diff(eps, current)
	if err != nil {
		return nil, err
	}
	if !changes.Empty() {
		conflicts, err := splitConflicts(reg.ApplyChanges(ctx, changes))
		if err != nil || len(conflicts) > 0 {
			r.published.Store(memo, publishedPlan{domain: d.Name})
			return conflicts, err
		}
	}
	r.published.Store(memo, publishedPlan{domain: d.Name, fingerprint: fingerprint, at: time.Now()})
	return nil, nil
}

// registry returns the ownership registry over the domain's provider for the subject.
func (r *DNSReconciler) registry(ctx context.Context, d *v1alpha1.FederatedDomain, subj dnsSubject) (*kdns.Registry, error) {
	obj := &DNSObject{Namespace: subj.key.Namespace, Name: subj.key.Name}
	if subj.uid != "" {
		obj.Owner = &metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: subj.kind,
			Name: subj.key.Name, UID: subj.uid, Controller: ptrTo(true)}
	}
	p, err := r.providers.get(ctx, d, obj)
	if err != nil {
		return nil, err
	}
	return kdns.NewRegistry(p, ownerID(d))
}

func ptrTo[T any](v T) *T { return &v }

// ownerID is who kfed is in the ownership records of a domain: its federation.
func ownerID(d *v1alpha1.FederatedDomain) string { return d.Spec.FederationName }

// planFingerprint identifies a plan for a domain as it is now (its spec and status, so that a
// provider coming back, or a domain edited, is read again).
func planFingerprint(d *v1alpha1.FederatedDomain, eps []*kdns.Endpoint) string {
	var b strings.Builder
	b.WriteString(d.ResourceVersion)
	for _, e := range eps {
		b.WriteString("|" + e.String() + fmt.Sprintf("/%d", e.TTL))
	}
	return b.String()
}

// splitConflicts separates the ConflictErrors from the other failures of an ApplyChanges.
func splitConflicts(err error) ([]*kdns.ConflictError, error) {
	if err == nil {
		return nil, nil
	}
	conflicts := kdns.Conflicts(err)
	var rest []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			var c *kdns.ConflictError
			if !errors.As(e, &c) {
				rest = append(rest, e)
			}
		}
	} else if len(conflicts) == 0 {
		rest = append(rest, err)
	}
	return conflicts, errors.Join(rest...)
}

// withdrawElsewhere deletes the subject's records from every domain it published in other
// than keep (nil: every domain). statusDomain is the zone its status says the records are in.
func (r *DNSReconciler) withdrawElsewhere(ctx context.Context, subj dnsSubject, statusDomain string, keep *v1alpha1.FederatedDomain,
	domains []v1alpha1.FederatedDomain) error {
	memo := subj.memo()
	var was []string // FederatedDomain names
	if v, ok := r.published.Load(memo); ok {
		was = append(was, v.(publishedPlan).domain)
	}
	// The status names the zone, not the FederatedDomain: when the records stay in a zone of
	// that name, the memory above says whether another FederatedDomain of the same zone held them.
	if statusDomain != "" && (keep == nil || keep.Spec.Domain != statusDomain) {
		for i := range domains {
			if domains[i].Spec.Domain == statusDomain {
				was = append(was, domains[i].Name)
			}
		}
	}
	for i := range domains {
		d := &domains[i]
		if !slices.Contains(was, d.Name) || (keep != nil && d.Name == keep.Name) {
			continue
		}
		if err := r.withdraw(ctx, subj, d); err != nil {
			return err
		}
		if v, ok := r.published.Load(memo); ok && v.(publishedPlan).domain == d.Name {
			r.published.Delete(memo)
		}
	}
	return nil
}

// forget withdraws a subject that is gone (or going) and tells the drain ledger.
func (r *DNSReconciler) forget(ctx context.Context, controller string, subj dnsSubject) error {
	if err := r.withdrawRemembered(ctx, subj); err != nil {
		return err
	}
	r.drains.published(controller, subj.memo(), nil, 0)
	return nil
}

// withdrawRemembered deletes the records of a subject that is gone from the domain it last
// published in (what the domain controller's sweep would find later).
func (r *DNSReconciler) withdrawRemembered(ctx context.Context, subj dnsSubject) error {
	memo := subj.memo()
	v, ok := r.published.Load(memo)
	if !ok {
		return nil
	}
	d := &v1alpha1.FederatedDomain{}
	if err := r.Client.Get(ctx, types.NamespacedName{Name: v.(publishedPlan).domain}, d); err != nil {
		if apierrors.IsNotFound(err) {
			r.published.Delete(memo)
			return nil
		}
		return fmt.Errorf("reading FederatedDomain %s: %w", v.(publishedPlan).domain, err)
	}
	if err := r.withdraw(ctx, subj, d); err != nil {
		return err
	}
	r.published.Delete(memo)
	return nil
}

// withdraw deletes every record the subject owns in a domain.
func (r *DNSReconciler) withdraw(ctx context.Context, subj dnsSubject, d *v1alpha1.FederatedDomain) error {
	if d.Spec.Provider.Builtin != nil {
		return nil // the zone follows the status
	}
	ctx, cancel := context.WithTimeout(ctx, dnsProviderTimeout)
	defer cancel()
	reg, err := r.registry(ctx, d, subj)
	if err == nil {
		var current []*kdns.Endpoint
		if current, err = reg.RecordsFor(ctx, subj.resource()); err == nil && len(current) > 0 {
			err = reg.ApplyChanges(ctx, &kdns.Changes{Delete: current})
		}
	}
	if err != nil {
		r.wakeDomain(d.Name)
		return fmt.Errorf("withdrawing the records of %s %s from FederatedDomain %s: %w", subj.kind, subj.key, d.Name, err)
	}
	return nil
}

func (r *DNSReconciler) wakeDomain(name string) {
	if r.recheck == nil {
		return
	}
	select {
	case r.recheck <- event.GenericEvent{Object: &v1alpha1.FederatedDomain{ObjectMeta: metav1.ObjectMeta{Name: name}}}:
	default:
	}
}

// patchStatus writes status.dns and DNSPublished when they changed, conditional on the
// object's resourceVersion; on a conflict it writes them onto a fresh read, keeping every other
// writer's conditions.
func (r *DNSReconciler) patchStatus(ctx context.Context, before, fs *v1alpha1.FederatedService) error {
	if equality.Semantic.DeepEqual(before.Status, fs.Status) {
		return nil
	}
	err := r.Client.Status().Patch(ctx, fs, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) && r.APIReader != nil {
		fresh := &v1alpha1.FederatedService{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(fs), fresh); err != nil {
			return fmt.Errorf("reading FederatedService %s again: %w", client.ObjectKeyFromObject(fs), err)
		}
		freshBefore := fresh.DeepCopy()
		takeDNSStatus(fresh, fs)
		if equality.Semantic.DeepEqual(freshBefore.Status, fresh.Status) {
			return nil
		}
		err = r.Client.Status().Patch(ctx, fresh, client.MergeFromWithOptions(freshBefore, client.MergeFromWithOptimisticLock{}))
	}
	if err != nil {
		return fmt.Errorf("patching the status of FederatedService %s: %w", client.ObjectKeyFromObject(fs), err)
	}
	return nil
}

// takeDNSStatus copies what the DNS controller owns (status.dns, DNSPublished) from src to dst
// and summarises Ready again.
func takeDNSStatus(dst, src *v1alpha1.FederatedService) {
	dst.Status.DNS = src.Status.DNS.DeepCopy()
	if c := meta.FindStatusCondition(src.Status.Conditions, v1alpha1.ConditionDNSPublished); c != nil {
		meta.SetStatusCondition(&dst.Status.Conditions, *c)
	} else {
		meta.RemoveStatusCondition(&dst.Status.Conditions, v1alpha1.ConditionDNSPublished)
	}
	conditions.Summarize(&dst.Status.Conditions, dst.Generation)
}

// SetupWithManager registers the DNS controller: FederatedServices (not their status writes),
// FederatedClusters, FederatedDomains, the members' health, and its own member watches of
// the Services kfed writes and of EndpointSlices.
func (r *DNSReconciler) SetupWithManager(mgr ctrl.Manager) error {
	wake := func(_ string, o client.Object) {
		if fn := r.enqueue.Load(); fn != nil {
			(*fn)(types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()})
		}
	}
	var err error
	r.services, err = r.Registry.WatchFor(member.WatchSpec{
		Name:     "dns-services",
		GVK:      corev1.SchemeGroupVersion.WithKind("Service"),
		Selector: managedSelector,
		Handler: func(cluster string, o client.Object) {
			if strings.HasPrefix(o.GetAnnotations()[v1alpha1.AnnotationOrigin], kindFederatedService+"/") {
				wake(cluster, o)
			}
		},
	})
	if err != nil {
		return err
	}
	hasService, err := labels.NewRequirement(labelServiceName, selection.Exists, nil)
	if err != nil {
		return fmt.Errorf("selecting EndpointSlices: %w", err)
	}
	r.endpoints, err = r.Registry.WatchFor(member.WatchSpec{
		Name:     "dns-endpointslices",
		GVK:      discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"),
		Selector: labels.NewSelector().Add(*hasService),
		Handler: func(cluster string, o client.Object) {
			if svc := o.GetLabels()[labelServiceName]; svc != "" {
				if fn := r.enqueue.Load(); fn != nil {
					(*fn)(types.NamespacedName{Namespace: o.GetNamespace(), Name: svc})
				}
				if fn := r.wakeIngresses.Load(); fn != nil {
					(*fn)(o.GetNamespace(), svc)
				}
			}
		},
	})
	if err != nil {
		return err
	}
	if err := (&ingressDNS{DNSReconciler: r}).setup(mgr); err != nil {
		return fmt.Errorf("setting up the DNS controller of FederatedIngress global addresses: %w", err)
	}
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request { return r.all(ctx) })
	r.drains.register(dnsControllerServices)
	health := source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		fn := func(key types.NamespacedName) { q.Add(reconcile.Request{NamespacedName: key}) }
		r.enqueue.Store(&fn)
		r.drains.started(dnsControllerServices, memos(kindFederatedService, r.all(ctx)))
		r.Registry.OnChange(func(string) {
			for _, req := range r.all(ctx) {
				q.Add(req)
			}
		})
		return nil
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.FederatedService{}, builder.WithPredicates(specChanged{})).
		Watches(&v1alpha1.FederatedCluster{}, all).
		Watches(&v1alpha1.FederatedDomain{}, all).
		WatchesRawSource(health).
		Named(dnsControllerServices).
		WithOptions(controller.Options{MaxConcurrentReconciles: dnsWorkers}).
		Complete(r)
}

// memos are the drain ledger's names of the subjects of kind behind reqs.
func memos(kind string, reqs []reconcile.Request) []string {
	out := make([]string, len(reqs))
	for i, req := range reqs {
		out[i] = dnsSubject{kind: kind, key: req.NamespacedName}.memo()
	}
	return out
}

// all returns a request for every FederatedService.
func (r *DNSReconciler) all(ctx context.Context) []reconcile.Request {
	var list v1alpha1.FederatedServiceList
	if err := r.Client.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing FederatedServices")
		return nil
	}
	reqs := make([]reconcile.Request, len(list.Items))
	for i := range list.Items {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
	}
	return reqs
}
