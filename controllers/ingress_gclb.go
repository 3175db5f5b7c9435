package controllers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/conditions"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/internal/propagate"
)

const (
	// gclbResync is how often a GCLB FederatedIngress is looked at again without an event: the
	// members' ingress-uid ConfigMaps are not watched, so a uid changed there is put back within it.
	gclbResync = 30 * time.Second
	// gclbMemberBudget bounds each read or write of a member, so a hung member costs the others nothing.
	gclbMemberBudget = 2 * time.Second
	// FederationIngressUIDName is the host ConfigMap, in the operator's namespace, that records
	// the one ingress uid every member shares (key "uid").
	FederationIngressUIDName = "kfed-ingress-uid"
	// defaultNamespace is the operator's namespace when none is given.
	defaultNamespace = "kfed-system"
)

// GCLBReconciler gives a FederatedIngress of spec.globalLoadBalancer.mode GCLB its one GCE global
// load balancer: the members' GCE ingress controllers put the uid of their kube-system/ingress-uid
// ConfigMap in the names of the load-balancer resources they program, so kfed makes every member
// share one uid (the first one found, recorded in the host so that it never flips), with a
// provider-uid of each cluster's own. Propagation sets the static IP annotation on the member
// Ingresses (propagate.Desired); this controller owns status.addresses (the IPs the member
// Ingresses report) and the GlobalAddressReady condition, and writes nothing else.
type GCLBReconciler struct {
	Client client.Client
	// APIReader reads from the API server, past the cache (after a conflict; the uid record).
	APIReader client.Reader
	Registry  *member.Registry
	// Namespace is the operator's namespace, where the federation's ingress uid is recorded.
	Namespace string
}

// +kubebuilder:rbac:groups="",namespace=kfed-system,resources=configmaps,verbs=get;create

// Reconcile shares the uid with the members the Ingress is placed on and reports the address.
func (r *GCLBReconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	ing := &v1alpha1.FederatedIngress{}
	if err := r.Client.Get(ctx, req.NamespacedName, ing); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ing.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if !isGCLB(ing) {
		// Without a global address nobody owns what this controller wrote: take it away. A DNS
		// global address belongs to the DNS controller, which writes both itself.
		if ing.Spec.GlobalLoadBalancer == nil {
			return ctrl.Result{}, r.clearStatus(ctx, ing)
		}
		return ctrl.Result{}, nil
	}
	placed := make([]string, 0, len(ing.Status.Clusters))
	for _, c := range ing.Status.Clusters {
		placed = append(placed, c.Name)
	}
	ready, err := r.readyClusters(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	uid, err := r.federationUID(ctx, placed, ready)
	if err != nil {
		return ctrl.Result{}, err
	}
	facts := gclbFacts{placed: placed, uid: uid, failed: map[string]string{}}
	_, key, err := propagate.MemberKey(ing)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("the member Ingress of %s: %w", req.NamespacedName, err)
	}
	for _, cluster := range placed {
		if !ready[cluster] {
			facts.failed[cluster] = whyNotReady
			continue
		}
		if err := r.shareUID(ctx, cluster, uid); err != nil {
			facts.failed[cluster] = err.Error()
			continue
		}
		ips, err := r.memberAddresses(ctx, cluster, key)
		if err != nil {
			facts.failed[cluster] = err.Error()
			continue
		}
		for _, ip := range ips {
			facts.addAddress(ip, cluster)
		}
	}
	if err := r.patchStatus(ctx, ing, facts); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: gclbResync}, nil
}

func isGCLB(ing *v1alpha1.FederatedIngress) bool {
	glb := ing.Spec.GlobalLoadBalancer
	return glb != nil && glb.Mode == v1alpha1.GlobalLoadBalancerGCLB
}

// readyClusters returns the joined clusters kfed can read and write now.
func (r *GCLBReconciler) readyClusters(ctx context.Context) (map[string]bool, error) {
	views, err := clusterViews(ctx, r.Client, r.Registry)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(views))
	for i := range views {
		out[views[i].Name] = views[i].Ready()
	}
	return out, nil
}

// federationUID returns the uid every member shares: the one recorded in the host, else the first
// found in the placed members (by cluster name), else a new one; a uid not yet recorded is
// recorded with a create, so that two reconciles (of two Ingresses) that race agree on the winner.
func (r *GCLBReconciler) federationUID(ctx context.Context, placed []string, ready map[string]bool) (string, error) {
	ns := r.Namespace
	if ns == "" {
		ns = defaultNamespace
	}
	key := types.NamespacedName{Namespace: ns, Name: FederationIngressUIDName}
	record := &corev1.ConfigMap{}
	err := r.APIReader.Get(ctx, key, record)
	switch {
	case err == nil && record.Data[v1alpha1.IngressUIDKey] != "":
		return record.Data[v1alpha1.IngressUIDKey], nil
	case err == nil:
		return "", fmt.Errorf("the ConfigMap %s holds no %q: delete it to let kfed choose again", key, v1alpha1.IngressUIDKey)
	case !apierrors.IsNotFound(err):
		return "", fmt.Errorf("reading the federation's ingress uid %s: %w", key, err)
	}
	uid := ""
	for _, cluster := range slices.Sorted(slices.Values(placed)) {
		if !ready[cluster] {
			continue
		}
		cm, err := r.memberUIDConfigMap(ctx, cluster)
		if err == nil && cm != nil && cm.Data[v1alpha1.IngressUIDKey] != "" {
			uid = cm.Data[v1alpha1.IngressUIDKey]
			break
		}
	}
	if uid == "" {
		if len(placed) == 0 {
			return "", nil // nothing to share with yet; recorded once a member holds the Ingress
		}
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("making an ingress uid: %w", err)
		}
		uid = hex.EncodeToString(b)
	}
	record = &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: managedLabels()},
		Data:       map[string]string{v1alpha1.IngressUIDKey: uid},
	}
	if err := r.Client.Create(ctx, record); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return r.federationUID(ctx, placed, ready)
		}
		return "", fmt.Errorf("recording the federation's ingress uid in %s: %w", key, err)
	}
	ctrl.LoggerFrom(ctx).Info("Chose the federation's ingress uid", "uid", uid, "configMap", key)
	return uid, nil
}

// memberUIDConfigMap reads a member's kube-system/ingress-uid; nil when it has none.
func (r *GCLBReconciler) memberUIDConfigMap(ctx context.Context, cluster string) (*corev1.ConfigMap, error) {
	c, err := r.Registry.DirectClient(cluster)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, gclbMemberBudget)
	defer cancel()
	cm := &corev1.ConfigMap{}
	err = c.Get(ctx, types.NamespacedName{Namespace: v1alpha1.IngressUIDNamespace, Name: v1alpha1.IngressUIDName}, cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", v1alpha1.IngressUIDNamespace, v1alpha1.IngressUIDName, err)
	}
	return cm, nil
}

// shareUID makes a member's kube-system/ingress-uid hold uid: created where missing, its uid
// corrected where different, a provider-uid of the cluster's own added where it has none.
func (r *GCLBReconciler) shareUID(ctx context.Context, cluster, uid string) error {
	if uid == "" {
		return errors.New("no ingress uid chosen yet")
	}
	cm, err := r.memberUIDConfigMap(ctx, cluster)
	if err != nil {
		return err
	}
	c, err := r.Registry.DirectClient(cluster)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, gclbMemberBudget)
	defer cancel()
	if cm == nil {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: v1alpha1.IngressUIDNamespace, Name: v1alpha1.IngressUIDName,
				Labels: managedLabels()},
			Data: map[string]string{v1alpha1.IngressUIDKey: uid, v1alpha1.IngressProviderUIDKey: providerUID(cluster)},
		}
		if err := c.Create(ctx, cm); err != nil {
			return fmt.Errorf("creating %s/%s: %w", v1alpha1.IngressUIDNamespace, v1alpha1.IngressUIDName, err)
		}
		ctrl.LoggerFrom(ctx).Info("Created the member's ingress uid", "cluster", cluster, "uid", uid)
		return nil
	}
	if cm.Data[v1alpha1.IngressUIDKey] == uid && cm.Data[v1alpha1.IngressProviderUIDKey] != "" {
		return nil
	}
	before := cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[v1alpha1.IngressUIDKey] = uid
	if cm.Data[v1alpha1.IngressProviderUIDKey] == "" {
		cm.Data[v1alpha1.IngressProviderUIDKey] = providerUID(cluster)
	}
	if err := c.Patch(ctx, cm, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("correcting %s/%s: %w", v1alpha1.IngressUIDNamespace, v1alpha1.IngressUIDName, err)
	}
	ctrl.LoggerFrom(ctx).Info("Corrected the member's ingress uid", "cluster", cluster, "from", before.Data[v1alpha1.IngressUIDKey], "uid", uid)
	return nil
}

// managedLabels label the ConfigMaps kfed creates.

// providerUID is a cluster's own provider-uid: 8 hex digits of a hash of its name, as federation v1 had.
func providerUID(cluster string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(cluster))
	return fmt.Sprintf("%08x", h.Sum32())
}

// memberAddresses returns the load-balancer IPs the member Ingress reports (the static IP once
// the GCE ingress controller has programmed it).
func (r *GCLBReconciler) memberAddresses(ctx context.Context, cluster string, key types.NamespacedName) ([]string, error) {
	c, err := r.Registry.Client(cluster)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, gclbMemberBudget)
	defer cancel()
	ing := &networkingv1.Ingress{}
	if err := c.Get(ctx, key, ing); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the member Ingress: %w", err)
	}
	var ips []string
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(lb.IP); err == nil {
			ips = append(ips, a.Unmap().String())
		}
	}
	return ips, nil
}

// gclbFacts is what one reconcile learned, for the status.
type gclbFacts struct {
	placed    []string
	uid       string
	failed    map[string]string // cluster → why the uid is not shared there, or its address unread
	addresses []v1alpha1.GlobalAddress
}

func (f *gclbFacts) addAddress(ip, cluster string) {
	for i := range f.addresses {
		if f.addresses[i].IP == ip {
			if !slices.Contains(f.addresses[i].Clusters, cluster) {
				f.addresses[i].Clusters = append(f.addresses[i].Clusters, cluster)
			}
			return
		}
	}
	f.addresses = append(f.addresses, v1alpha1.GlobalAddress{IP: ip, Clusters: []string{cluster}})
}

// setGCLBStatus writes what the GCLB controller owns into st: status.addresses and the
// GlobalAddressReady condition, then the summary.
func setGCLBStatus(st *v1alpha1.FederatedIngressStatus, generation int64, f gclbFacts) {
	addrs := slices.Clone(f.addresses)
	for i := range addrs {
		addrs[i].Clusters = slices.Sorted(slices.Values(addrs[i].Clusters))
	}
	slices.SortFunc(addrs, func(a, b v1alpha1.GlobalAddress) int { return strings.Compare(a.IP, b.IP) })
	st.Addresses = addrs
	meta.SetStatusCondition(&st.Conditions, gclbCondition(generation, f, addrs))
	conditions.Summarize(&st.Conditions, generation)
}

// gclbCondition is the GlobalAddressReady condition of a GCLB global address: True once every
// placed cluster shares the uid and a member Ingress reports an address.
func gclbCondition(generation int64, f gclbFacts, addrs []v1alpha1.GlobalAddress) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionGlobalAddressReady, Status: metav1.ConditionFalse, ObservedGeneration: generation}
	var failed []string
	for _, cluster := range slices.Sorted(slices.Values(f.placed)) {
		if why, ok := f.failed[cluster]; ok {
			failed = append(failed, cluster+": "+why)
		}
	}
	switch {
	case len(f.placed) == 0:
		c.Reason, c.Message = v1alpha1.ReasonWaitingForAddress, "No member cluster holds the Ingress yet"
	case len(failed) > 0:
		c.Reason = v1alpha1.ReasonUIDNotShared
		c.Message = fmt.Sprintf("The ingress uid %s is not shared with %s", f.uid, strings.Join(failed, "; "))
	case len(addrs) == 0:
		c.Reason = v1alpha1.ReasonWaitingForAddress
		c.Message = fmt.Sprintf("%d clusters share the ingress uid %s; no member Ingress reports the static IP yet", len(f.placed), f.uid)
	default:
		ips := make([]string, len(addrs))
		for i, a := range addrs {
			ips[i] = a.IP
		}
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonGlobalAddressReady
		c.Message = fmt.Sprintf("%s through %d clusters sharing the ingress uid %s", strings.Join(ips, ", "), len(f.placed), f.uid)
	}
	return c
}

// patchStatus writes what the controller learned: status.addresses and GlobalAddressReady.
func (r *GCLBReconciler) patchStatus(ctx context.Context, ing *v1alpha1.FederatedIngress, f gclbFacts) error {
	return patchIngressStatus(ctx, r.Client, r.APIReader, ing, func(st *v1alpha1.FederatedIngressStatus, generation int64) {
		setGCLBStatus(st, generation, f)
	})
}

// patchIngressStatus applies set (which changes only what its controller owns) to the status
// and writes it when it changed, conditional on the resourceVersion; after a conflict it reads
// the object again (through reader) and applies set onto that, keeping every other writer's work.
func patchIngressStatus(ctx context.Context, c client.Client, reader client.Reader, ing *v1alpha1.FederatedIngress,
	set func(*v1alpha1.FederatedIngressStatus, int64)) error {
	key := client.ObjectKeyFromObject(ing)
	for range 5 {
		before := ing.DeepCopy()
		set(&ing.Status, ing.Generation)
		if equality.Semantic.DeepEqual(before.Status, ing.Status) {
			return nil
		}
		err := c.Status().Patch(ctx, ing, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("patching the status of FederatedIngress %s: %w", key, err)
		}
		ing = &v1alpha1.FederatedIngress{}
		if err := reader.Get(ctx, key, ing); err != nil {
			return fmt.Errorf("reading FederatedIngress %s again: %w", key, err)
		}
	}
	return fmt.Errorf("patching the status of FederatedIngress %s: conflicts on every try", key)
}

// clearStatus removes status.addresses and GlobalAddressReady from an Ingress without a global address.
func (r *GCLBReconciler) clearStatus(ctx context.Context, ing *v1alpha1.FederatedIngress) error {
	return patchIngressStatus(ctx, r.Client, r.APIReader, ing, func(st *v1alpha1.FederatedIngressStatus, generation int64) {
		st.Addresses = nil
		if meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionGlobalAddressReady) {
			conditions.Summarize(&st.Conditions, generation)
		}
	})
}

// SetupWithManager registers the controller: GCLB FederatedIngresses, cluster verdicts, and the
// member Ingresses' events (the static IP they report).
func (r *GCLBReconciler) SetupWithManager(mgr ctrl.Manager) error {
	isGCLBObject := func(o client.Object) bool {
		ing, ok := o.(*v1alpha1.FederatedIngress)
		return ok && isGCLB(ing)
	}
	// An update passes when the Ingress is GCLB before or after it: leaving GCLB is cleaned up.
	gclbOnly := predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return isGCLBObject(e.Object) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		UpdateFunc:  func(e event.UpdateEvent) bool { return isGCLBObject(e.ObjectOld) || isGCLBObject(e.ObjectNew) },
		GenericFunc: func(e event.GenericEvent) bool { return isGCLBObject(e.Object) },
	}
	events := source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		// Its own watch of the member Ingresses kfed writes (metadata is enough to wake; the
		// reconcile reads the Ingress it needs).
		if _, err := r.Registry.WatchFor(member.WatchSpec{
			Name:         "gclb-ingresses",
			GVK:          networkingv1.SchemeGroupVersion.WithKind("Ingress"),
			Selector:     managedSelector,
			MetadataOnly: true,
			Handler: func(_ string, o client.Object) {
				origin, err := propagate.ParseOrigin(o.GetAnnotations()[v1alpha1.AnnotationOrigin])
				if err != nil || origin.Kind != kindFederatedIngress {
					return
				}
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: origin.Namespace, Name: origin.Name}})
			},
		}); err != nil {
			return err
		}
		r.Registry.OnChange(func(string) {
			var list v1alpha1.FederatedIngressList
			if err := r.Client.List(ctx, &list); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "Listing FederatedIngresses")
				return
			}
			for i := range list.Items {
				if isGCLB(&list.Items[i]) {
					q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
				}
			}
		})
		return nil
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.FederatedIngress{}, builder.WithPredicates(gclbOnly, notOwnStatus{})).
		WatchesRawSource(events).
		Named("federatedingress-gclb").
		Complete(r)
}

// notOwnStatus passes every event but an update that changed only what this controller writes
// (status.addresses and GlobalAddressReady, and their summary): propagation's status.clusters
// (where the Ingress is placed) does wake it.
type notOwnStatus struct{ predicate.Funcs }

// Update passes unless only the addresses and conditions changed.
func (notOwnStatus) Update(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*v1alpha1.FederatedIngress)
	n, ok2 := e.ObjectNew.(*v1alpha1.FederatedIngress)
	if !ok1 || !ok2 {
		return true
	}
	return o.Generation != n.Generation || !equality.Semantic.DeepEqual(o.Status.Clusters, n.Status.Clusters) ||
		!equality.Semantic.DeepEqual(o.Annotations, n.Annotations)
}
