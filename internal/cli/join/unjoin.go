package join

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/cli/apply"
	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
)

// DefaultUnjoinWait is how long unjoin waits for the FederatedCluster to be gone.
const DefaultUnjoinWait = time.Minute

// UnjoinOptions of Unjoin.
type UnjoinOptions struct {
	// Name of the FederatedCluster.
	Name string
	// Force removes the cluster from the host even when its member side cannot be cleaned up.
	Force bool
	// Wait is how long to wait for the FederatedCluster to be gone; 0 does not wait.
	Wait time.Duration
	// Out hears of progress.
	Out io.Writer
}

// FindMember returns the cluster the FederatedCluster name points at, through the kubeconfig
// context whose server is its spec.apiEndpoint; nil when no context matches.
func FindMember(ctx context.Context, host *kubeconfig.Cluster, loader kubeconfig.Loader, name string) (*kubeconfig.Cluster, error) {
	fc, err := getJoined(ctx, host, name)
	if err != nil {
		return nil, err
	}
	contextName, ok := loader.ContextForServer(fc.Spec.APIEndpoint)
	if !ok {
		return nil, nil
	}
	return loader.Cluster(contextName)
}

func getJoined(ctx context.Context, host *kubeconfig.Cluster, name string) (*v1alpha1.FederatedCluster, error) {
	if _, err := host.Ping(ctx); err != nil {
		return nil, fmt.Errorf("host %w", err)
	}
	fc := &v1alpha1.FederatedCluster{}
	if err := host.Client.Get(ctx, client.ObjectKey{Name: name}, fc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("no cluster %s is joined", name)
		}
		return nil, fmt.Errorf("reading FederatedCluster %s in the host: %w", name, err)
	}
	return fc, nil
}

// Unjoin removes the FederatedCluster and its credential Secret from the host and kfed's
// identity from the member (reached through member; nil when no context reaches it). Without
// Force, a member that cannot be cleaned up stops it before anything is deleted.
func Unjoin(ctx context.Context, host, member *kubeconfig.Cluster, o UnjoinOptions) error {
	fc, err := getJoined(ctx, host, o.Name)
	if err != nil {
		return err
	}
	cleanMember := member != nil
	switch {
	case member == nil && !o.Force:
		return fmt.Errorf("no kubeconfig context reaches cluster %s at %q: "+
			"pass --cluster-context to clean up the member too, or --force to remove it from the host only", o.Name, fc.Spec.APIEndpoint)
	case member == nil:
		_, _ = fmt.Fprintf(o.Out, "member: no kubeconfig context reaches %s; its kfed objects are left in place (--force)\n", o.Name)
	default:
		if _, err := member.Ping(ctx); err != nil {
			if !o.Force {
				return fmt.Errorf("member %w; `kfed unjoin %s --force` removes it from the host and leaves the member side", err, o.Name)
			}
			_, _ = fmt.Fprintf(o.Out, "member: context %q is unreachable; its kfed objects are left in place (--force)\n", member.Context)
			cleanMember = false
		}
	}

	if err := host.Client.Delete(ctx, fc); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting FederatedCluster %s in the host: %w", o.Name, err)
	}
	_, _ = fmt.Fprintf(o.Out, "host: FederatedCluster %s deleted\n", o.Name)
	if o.Wait > 0 {
		if err := waitGone(ctx, host.Client, fc, o.Wait); err != nil {
			return err
		}
	}
	if err := deleteCredentials(ctx, host, fc, o.Out); err != nil {
		return err
	}
	if cleanMember {
		return deleteMemberObjects(ctx, member, o.Name, o.Out)
	}
	return nil
}

// deleteCredentials deletes the credential Secret when join wrote it.
func deleteCredentials(ctx context.Context, host *kubeconfig.Cluster, fc *v1alpha1.FederatedCluster, out io.Writer) error {
	ns := fc.Spec.SecretRef.Namespace
	if ns == "" {
		ns = Namespace
	}
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: ns, Name: fc.Spec.SecretRef.Name}
	if err := host.Client.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading Secret %s in the host: %w", key, err)
	}
	if secret.Labels[LabelJoinedAs] != fc.Name {
		_, _ = fmt.Fprintf(out, "host: Secret %s left in place: kfed join did not write it\n", key)
		return nil
	}
	if err := host.Client.Delete(ctx, secret); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Secret %s in the host: %w", key, err)
	}
	_, _ = fmt.Fprintf(out, "host: Secret %s deleted\n", key)
	return nil
}

// deleteMemberObjects deletes what join wrote into the member for cluster name: the binding,
// role, token Secret and ServiceAccount. The namespace stays: other joins (of other federations)
// may use it, and a join right after an unjoin would fail while it terminates.
func deleteMemberObjects(ctx context.Context, member *kubeconfig.Cluster, name string, out io.Writer) error {
	objs := NewMemberObjects(name, AccessFederated)
	var errs []error
	for _, obj := range []client.Object{objs.ClusterRoleBinding, objs.ClusterRole, objs.TokenSecret, objs.ServiceAccount} {
		if err := member.Client.Delete(ctx, obj); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting %s %s in the member: %w", kindOf(member.Client.Scheme(), obj), apply.Name(obj), err))
			}
			continue
		}
		_, _ = fmt.Fprintf(out, "member: %s %s deleted\n", kindOf(member.Client.Scheme(), obj), apply.Name(obj))
	}
	return errors.Join(errs...)
}

func waitGone(ctx context.Context, c client.Client, fc *v1alpha1.FederatedCluster, timeout time.Duration) error {
	var lastErr error
	// Read errors are retried: the timeout says when to give up.
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		lastErr = c.Get(ctx, client.ObjectKeyFromObject(fc), &v1alpha1.FederatedCluster{})
		return apierrors.IsNotFound(lastErr), nil
	})
	if err != nil {
		return fmt.Errorf("FederatedCluster %s is not gone after %s (last read: %v)", fc.Name, timeout, lastErr)
	}
	return nil
}
