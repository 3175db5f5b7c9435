package join

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/cli/apply"
	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
	"github.com/kfed-io/kfed/internal/cli/manifest"
)

// Defaults of Options.
const (
	DefaultWait = 2 * time.Minute
	// DefaultTokenWait is how long join waits for the token controller to fill the token Secret
	// before it mints a token with the TokenRequest API.
	DefaultTokenWait = 5 * time.Second
	// MintedTokenLifetime is the lifetime asked of a token minted with the TokenRequest API.
	MintedTokenLifetime = 365 * 24 * time.Hour
)

// managerSelector finds the kfed manager Deployment in the host (labels of config/manager).
var managerSelector = client.MatchingLabels{"app.kubernetes.io/name": "kfed", "app.kubernetes.io/component": "manager"}

// Options of Join.
type Options struct {
	// Name of the FederatedCluster.
	Name string
	// Region and Zones of the member, when set.
	Region string
	Zones  []string
	// APIEndpoint overrides the member context's server.
	APIEndpoint string
	// Access in the member.
	Access Access
	// DryRun prints what would be written (token data redacted) and writes nothing.
	DryRun bool
	// Wait is how long to wait for the cluster to be Ready; 0 does not wait.
	Wait time.Duration
	// TokenWait is how long to wait for the token controller (DefaultTokenWait when 0).
	TokenWait time.Duration
	// Out hears of progress.
	Out io.Writer
}

// Result is what Join did.
type Result struct {
	Cluster *v1alpha1.FederatedCluster
	// Minted is true when the token came from the TokenRequest API (it expires).
	Minted bool
	// ReadyAfter is how long the cluster took to become Ready after the FederatedCluster was
	// created (zero when not waited for).
	ReadyAfter time.Duration
}

// Validate checks the options that need no cluster.
func (o Options) Validate() error {
	if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
		return fmt.Errorf("cluster name %q is not valid: %s", o.Name, strings.Join(errs, "; "))
	}
	if o.Access != AccessFederated && o.Access != AccessAll {
		return fmt.Errorf(`--access must be "all" or left out, not %q`, o.Access)
	}
	if o.APIEndpoint != "" {
		if err := checkEndpoint(o.APIEndpoint); err != nil {
			return fmt.Errorf("--api-endpoint: %w", err)
		}
	}
	if len(o.Zones) > 0 && o.Region == "" {
		return errors.New("--zones needs --region")
	}
	if o.Wait < 0 {
		return fmt.Errorf("--wait must not be negative, not %s", o.Wait)
	}
	return nil
}

func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return fmt.Errorf("%q is not an https:// URL with a host", endpoint)
	}
	return nil
}

// isLoopback says whether an endpoint's host is on loopback.
func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Preflight checks what can fail before anything is written: the host serves FederatedCluster
// and has no cluster of that name; the member answers; its endpoint is reachable from where the
// operator runs; its CA is known.
func Preflight(ctx context.Context, host, member *kubeconfig.Cluster, o Options) (endpoint string, err error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	if _, err := host.Ping(ctx); err != nil {
		return "", fmt.Errorf("host %w", err)
	}
	existing := &v1alpha1.FederatedCluster{}
	switch err := host.Client.Get(ctx, client.ObjectKey{Name: o.Name}, existing); {
	case err == nil:
		return "", fmt.Errorf("cluster %s is already joined; kfed unjoin %s first", o.Name, o.Name)
	case meta.IsNoMatchError(err) || (apierrors.IsNotFound(err) && !isObjectNotFound(err)):
		return "", fmt.Errorf("the host (context %q) does not serve FederatedCluster: run `kfed init --host-context %s` first", host.Context, host.Context)
	case !apierrors.IsNotFound(err):
		return "", fmt.Errorf("reading FederatedCluster %s in the host: %w", o.Name, err)
	}
	if _, err := member.Ping(ctx); err != nil {
		return "", fmt.Errorf("member %w", err)
	}
	endpoint = o.APIEndpoint
	if endpoint == "" {
		endpoint = member.Server
		if err := checkEndpoint(endpoint); err != nil {
			return "", fmt.Errorf("the server of context %q: %w; pass --api-endpoint", member.Context, err)
		}
	}
	if isLoopback(endpoint) {
		inPod, err := managerInPod(ctx, host.Client)
		if err != nil {
			return "", err
		}
		if inPod != "" {
			return "", fmt.Errorf("API endpoint %s is on loopback, but the kfed manager runs in a pod (Deployment %s) that cannot reach it: "+
				"pass --api-endpoint with an address the pod can reach", endpoint, inPod)
		}
	}
	return endpoint, nil
}

// isObjectNotFound tells a missing object from a missing resource type (a 404 of the whole
// resource, which the server reports with no name).
func isObjectNotFound(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Name != ""
}

// managerInPod returns the name of a kfed manager Deployment in the host with ready pods.
func managerInPod(ctx context.Context, host client.Client) (string, error) {
	var list appsv1.DeploymentList
	if err := host.List(ctx, &list, client.InNamespace(Namespace), managerSelector); err != nil {
		return "", fmt.Errorf("looking for the kfed manager Deployment in the host: %w", err)
	}
	for _, d := range list.Items {
		if d.Status.ReadyReplicas > 0 {
			return Namespace + "/" + d.Name, nil
		}
	}
	return "", nil
}

// Join writes kfed's identity into the member and the credential Secret and FederatedCluster
// into the host, then waits for the cluster to be Ready. Run Preflight first; endpoint is what it
// returned.
func Join(ctx context.Context, host, member *kubeconfig.Cluster, endpoint string, o Options) (*Result, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("cluster", o.Name)
	ctx = ctrl.LoggerInto(ctx, log)
	objs := NewMemberObjects(o.Name, o.Access)
	if o.DryRun {
		return nil, printDryRun(member, host, objs, o, endpoint)
	}
	ns := &corev1.Namespace{}
	if err := member.Client.Get(ctx, client.ObjectKey{Name: Namespace}, ns); err == nil && !ns.DeletionTimestamp.IsZero() {
		return nil, fmt.Errorf("namespace %s of the member (context %q) is being deleted: join again when it is gone", Namespace, member.Context)
	}
	for _, obj := range objs.All() {
		if err := apply.Object(ctx, member.Client, obj); err != nil {
			return nil, fmt.Errorf("in the member (context %q): %w", member.Context, err)
		}
		_, _ = fmt.Fprintf(o.Out, "member: %s %s applied\n", kindOf(member.Client.Scheme(), obj), apply.Name(obj))
	}
	token, ca, minted, err := memberToken(ctx, member, objs, o)
	if err != nil {
		return nil, err
	}
	if len(member.CA) > 0 {
		ca = member.CA // what the user trusts the member's serving certificate with
	}
	if len(ca) == 0 {
		return nil, fmt.Errorf("no CA certificate for the member: context %q has none and Secret %s/%s has no ca.crt",
			member.Context, Namespace, objs.TokenSecret.Name)
	}

	secret, fc := HostObjects(o, endpoint, token, ca)
	if err := ensureNamespace(ctx, host.Client); err != nil {
		return nil, err
	}
	if err := apply.Object(ctx, host.Client, secret); err != nil {
		return nil, fmt.Errorf("in the host: %w", err)
	}
	_, _ = fmt.Fprintf(o.Out, "host: Secret %s applied\n", apply.Name(secret))
	if err := host.Client.Create(ctx, fc); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("cluster %s is already joined; kfed unjoin %s first", o.Name, o.Name)
		}
		return nil, fmt.Errorf("creating FederatedCluster %s in the host: %w", o.Name, err)
	}
	_, _ = fmt.Fprintf(o.Out, "host: FederatedCluster %s created\n", fc.Name)
	res := &Result{Cluster: fc, Minted: minted}
	if o.Wait == 0 {
		return res, nil
	}
	start := time.Now()
	_, _ = fmt.Fprintf(o.Out, "Waiting up to %s for cluster %s to be Ready\n", o.Wait, o.Name)
	if err := WaitReady(ctx, host.Client, fc, o.Wait); err != nil {
		return res, err
	}
	res.ReadyAfter = time.Since(start)
	return res, nil
}

func kindOf(s *runtime.Scheme, obj client.Object) string {
	gvks, _, err := s.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return fmt.Sprintf("%T", obj)
	}
	return gvks[0].Kind
}

func ensureNamespace(ctx context.Context, c client.Client) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s in the host: %w", Namespace, err)
	}
	return nil
}

// memberToken waits for the token controller to fill the token Secret; when it does not within
// TokenWait (a cluster without a controller manager), it mints a token with the TokenRequest API.
func memberToken(ctx context.Context, member *kubeconfig.Cluster, objs MemberObjects, o Options) (token, ca []byte, minted bool, err error) {
	log := ctrl.LoggerFrom(ctx)
	tokenWait := o.TokenWait
	if tokenWait == 0 {
		tokenWait = DefaultTokenWait
	}
	key := client.ObjectKeyFromObject(objs.TokenSecret)
	var (
		secret  corev1.Secret
		readErr error
	)
	// Read errors are retried until tokenWait passes; minting then says whether the member works.
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, tokenWait, true, func(ctx context.Context) (bool, error) {
		readErr = member.Client.Get(ctx, key, &secret)
		return readErr == nil && len(secret.Data[corev1.ServiceAccountTokenKey]) > 0, nil
	})
	if err == nil {
		return secret.Data[corev1.ServiceAccountTokenKey], secret.Data[corev1.ServiceAccountRootCAKey], false, nil
	}
	if ctx.Err() != nil {
		return nil, nil, false, fmt.Errorf("waiting for the token of Secret %s in the member: %w", key, ctx.Err())
	}
	log.V(1).Info("The token controller did not fill the token Secret; minting a token", "secret", key, "waited", tokenWait, "lastReadError", readErr)
	tr, err := member.Clientset.CoreV1().ServiceAccounts(Namespace).CreateToken(ctx, objs.ServiceAccount.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(MintedTokenLifetime / time.Second))},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, false, fmt.Errorf("the token controller did not fill Secret %s in the member within %s, "+
			"and minting a token for ServiceAccount %s/%s failed: %w", key, tokenWait, Namespace, objs.ServiceAccount.Name, err)
	}
	_, _ = fmt.Fprintf(o.Out, "member: the token controller did not fill Secret %s within %s: minted a token with the TokenRequest API, valid until %s\n",
		key, tokenWait, tr.Status.ExpirationTimestamp.UTC().Format(time.RFC3339))
	return []byte(tr.Status.Token), secret.Data[corev1.ServiceAccountRootCAKey], true, nil
}

// WaitReady waits for the cluster's Ready condition to be True.
func WaitReady(ctx context.Context, c client.Client, fc *v1alpha1.FederatedCluster, timeout time.Duration) error {
	var (
		lastErr error
		read    bool
	)
	// Read errors are retried: the timeout says when to give up.
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		latest := &v1alpha1.FederatedCluster{}
		if lastErr = c.Get(ctx, client.ObjectKeyFromObject(fc), latest); lastErr != nil {
			return false, nil
		}
		read, *fc = true, *latest
		return meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady), nil
	})
	if err == nil {
		return nil
	}
	why := "no Ready condition yet: is the kfed manager running in the host?"
	if !read && lastErr != nil {
		why = "reading it: " + lastErr.Error()
	}
	if cond := meta.FindStatusCondition(fc.Status.Conditions, v1alpha1.ConditionReady); cond != nil {
		why = fmt.Sprintf("Ready=%s, %s: %s", cond.Status, cond.Reason, cond.Message)
	}
	return fmt.Errorf("cluster %s is joined but not Ready after %s (%s); see `kfed status`, or undo with `kfed unjoin %s`", fc.Name, timeout, why, fc.Name)
}

// printDryRun prints what Join would write, with every Secret value redacted.
func printDryRun(member, host *kubeconfig.Cluster, objs MemberObjects, o Options, endpoint string) error {
	secret, fc := HostObjects(o, endpoint, nil, nil)
	redacted := map[string]string{v1alpha1.SecretKeyToken: "<redacted>", v1alpha1.SecretKeyCA: "<redacted>"}
	secret.Data, secret.StringData = nil, redacted
	_, _ = fmt.Fprintf(o.Out, "# In the member (context %q):\n", member.Context)
	memberObjs := make([]runtime.Object, 0, len(objs.All()))
	for _, obj := range objs.All() {
		u, err := apply.ToUnstructured(member.Client.Scheme(), obj)
		if err != nil {
			return err
		}
		memberObjs = append(memberObjs, u)
	}
	if err := manifest.Print(o.Out, manifest.YAML, memberObjs...); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(o.Out, "# In the host (context %q); the token comes from the member's token Secret or the TokenRequest API:\n", host.Context)
	hostObjs := make([]runtime.Object, 0, 2)
	for _, obj := range []client.Object{secret, fc} {
		u, err := apply.ToUnstructured(host.Client.Scheme(), obj)
		if err != nil {
			return err
		}
		hostObjs = append(hostObjs, u)
	}
	return manifest.Print(o.Out, manifest.YAML, hostObjs...)
}
