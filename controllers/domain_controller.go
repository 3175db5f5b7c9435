package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kfed-io/kfed/api/v1alpha1"
	kdns "github.com/kfed-io/kfed/internal/dns"
)

const (
	// domainRecheck is how often a Ready FederatedDomain's provider is checked again.
	domainRecheck = 30 * time.Second
	// domainRetry is how often a FederatedDomain that is not Ready is checked again.
	domainRetry = 5 * time.Second
)

// DomainReconciler checks the provider of each FederatedDomain and says in its Ready condition
// whether it answers and holds the zone, with a reason from the provider's error and a message
// naming the server, Secret and key (never the key material). It also deletes the records kfed
// owns in the zone for FederatedServices and FederatedIngresses that no longer exist (deleted
// while kfed was away).
type DomainReconciler struct {
	Client client.Client

	providers *dnsProviders
	zones     *builtinZones
	recheck   chan event.GenericEvent
}

// +kubebuilder:rbac:groups=federation.kfed.io,resources=federateddomains/status,verbs=get;update;patch

// Reconcile checks one FederatedDomain's provider.
func (r *DomainReconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	d := &v1alpha1.FederatedDomain{}
	if err := r.Client.Get(ctx, req.NamespacedName, d); err != nil {
		if apierrors.IsNotFound(err) {
			r.providers.forget(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading FederatedDomain %s: %w", req.Name, err)
	}
	before := d.DeepCopy()
	cond, notYet := r.check(ctx, d)
	if notYet {
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	cond.ObservedGeneration = d.Generation
	meta.SetStatusCondition(&d.Status.Conditions, cond)
	setClusterProgress(&d.Status.Conditions, cond)
	d.Status.ObservedGeneration = d.Generation
	d.Status.Provider = providerKind(&d.Spec.Provider)
	if !equality.Semantic.DeepEqual(before.Status, d.Status) {
		if err := r.Client.Status().Patch(ctx, d, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("patching the status of FederatedDomain %s: %w", d.Name, err)
		}
	}
	if cond.Status != metav1.ConditionTrue {
		return ctrl.Result{RequeueAfter: domainRetry}, nil
	}
	return ctrl.Result{RequeueAfter: domainRecheck}, nil
}

// check returns the domain's Ready condition; notYet is true while this replica's builtin
// server has not been started.
func (r *DomainReconciler) check(ctx context.Context, d *v1alpha1.FederatedDomain) (metav1.Condition, bool) {
	cond := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse}
	if b := d.Spec.Provider.Builtin; b != nil {
		err := r.zones.listenError(b.Listen)
		switch {
		case errors.Is(err, errBuiltinNotYet):
			r.zones.wake()
			return cond, true
		case err != nil:
			cond.Reason, cond.Message = v1alpha1.ReasonListenFailed, fmt.Sprintf("kfed's DNS server cannot serve %s on %s: %v", d.Spec.Domain, b.Listen, err)
		default:
			cond.Status, cond.Reason = metav1.ConditionTrue, v1alpha1.ReasonProviderReady
			cond.Message = fmt.Sprintf("kfed's DNS server answers for %s on %s (UDP and TCP, every operator replica)", d.Spec.Domain, r.zones.addr(b.Listen))
		}
		return cond, false
	}
	ctx, cancel := context.WithTimeout(ctx, dnsProviderTimeout)
	defer cancel()
	p, err := r.providers.get(ctx, d, nil)
	if err == nil {
		err = r.sweep(ctx, d, p)
	}
	if err != nil {
		cond.Reason, cond.Message = conditionReason(err), err.Error()
		return cond, false
	}
	cond.Status, cond.Reason = metav1.ConditionTrue, v1alpha1.ReasonProviderReady
	cond.Message = fmt.Sprintf("%s answers and holds zone %s", describeProvider(d, r.providers.namespace), zoneOf(d))
	return cond, false
}

// sweep reads the zone through the ownership registry (which proves the provider answers and
// holds it) and deletes the records kfed owns there for FederatedServices and FederatedIngresses
// that are gone. The externalDNS provider's DNSEndpoints go with their object (owner
// references) and are not swept.
func (r *DomainReconciler) sweep(ctx context.Context, d *v1alpha1.FederatedDomain, p kdns.Provider) error {
	reg, err := kdns.NewRegistry(p, ownerID(d))
	if err != nil {
		return err
	}
	owned, err := reg.Records(ctx)
	if err != nil {
		return err
	}
	if d.Spec.Provider.ExternalDNS != nil {
		return nil
	}
	var gone []*kdns.Endpoint
	exists := map[string]bool{}
	for _, e := range owned {
		res := e.Labels[kdns.LabelResource]
		kind, rest, _ := strings.Cut(res, "/")
		ns, name, ok := strings.Cut(rest, "/")
		var obj client.Object
		switch kind {
		case kindFederatedService:
			obj = &v1alpha1.FederatedService{}
		case kindFederatedIngress:
			obj = &v1alpha1.FederatedIngress{}
		}
		if obj == nil || !ok {
			continue
		}
		there, seen := exists[res]
		if !seen {
			err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("reading %s %s/%s: %w", kind, ns, name, err)
			}
			there = err == nil
			exists[res] = there
		}
		if !there {
			gone = append(gone, e)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("Deleting the records of federated objects that are gone", "domain", d.Name, "records", len(gone))
	return reg.ApplyChanges(ctx, &kdns.Changes{Delete: gone})
}

// describeProvider names the provider's server, zone, Secret and key for messages.
func describeProvider(d *v1alpha1.FederatedDomain, namespace string) string {
	p := d.Spec.Provider
	switch {
	case p.CoreDNS != nil:
		prefix := p.CoreDNS.Prefix
		if prefix == "" {
			prefix = "/skydns"
		}
		return fmt.Sprintf("coreDNS etcd %s (prefix %s)", strings.Join(p.CoreDNS.EtcdEndpoints, ","), prefix)
	case p.RFC2136 != nil:
		return fmt.Sprintf("rfc2136 server %s (TSIG key from Secret %s key %q)", p.RFC2136.Server,
			secretName(p.RFC2136.TSIGSecretRef, namespace), v1alpha1.SecretKeyTSIG)
	case p.ExternalDNS != nil:
		return "externalDNS (DNSEndpoint objects in the host)"
	}
	return providerKind(&p)
}

// SetupWithManager registers the domain controller: FederatedDomains (their spec), the Secrets
// they read, and the DNS controller's nudges after a failed write.
func (r *DomainReconciler) SetupWithManager(mgr ctrl.Manager) error {
	secrets := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list v1alpha1.FederatedDomainList
		if err := r.Client.List(ctx, &list); err != nil {
			return nil
		}
		var reqs []reconcile.Request
		for i := range list.Items {
			for _, ref := range secretRefs(&list.Items[i]) {
				if ref.Name == o.GetName() && (ref.Namespace == o.GetNamespace() || ref.Namespace == "" && o.GetNamespace() == r.providers.namespace) {
					reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}})
				}
			}
		}
		return reqs
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.FederatedDomain{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, secrets).
		WatchesRawSource(source.Channel(r.recheck, &handler.EnqueueRequestForObject{})).
		Named("federateddomain").
		Complete(r)
}
