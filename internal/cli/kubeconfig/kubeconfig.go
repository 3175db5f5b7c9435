// Package kubeconfig reaches the clusters a user names by kubeconfig context, the way kubectl
// does: --kubeconfig, else $KUBECONFIG, else ~/.kube/config.
package kubeconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// PingTimeout bounds the reachability check of a cluster.
const PingTimeout = 10 * time.Second

// Loader finds kubeconfig contexts.
type Loader struct {
	// Path is --kubeconfig; empty means $KUBECONFIG, else ~/.kube/config.
	Path string
}

// Cluster is a cluster reached through a kubeconfig context.
type Cluster struct {
	// Context is the kubeconfig context's name.
	Context string
	// Server is the API server URL of the context.
	Server string
	// CA is the PEM CA bundle the context trusts the server with; empty when it trusts the
	// system roots.
	CA []byte
	// Config reaches the cluster as the context's user.
	Config *rest.Config
	// Client is a client of Config with the built-in kinds, CRDs and kfed's kinds.
	Client client.Client
	// Clientset is a typed client of Config.
	Clientset kubernetes.Interface
}

// NewScheme returns the scheme of the CLI's clients: built-in kinds, CRDs and kfed's kinds.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for name, add := range map[string]func(*runtime.Scheme) error{
		"the built-in kinds":       clientgoscheme.AddToScheme,
		"CustomResourceDefinition": apiextensionsv1.AddToScheme,
		"the kfed kinds":           v1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("adding %s to the scheme: %w", name, err)
		}
	}
	return s, nil
}

func (l Loader) rules() *clientcmd.ClientConfigLoadingRules {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = l.Path
	return rules
}

// where names the kubeconfig files, for error messages.
func (l Loader) where() string {
	if l.Path != "" {
		return l.Path
	}
	if files := l.rules().Precedence; len(files) > 0 {
		return strings.Join(files, ":")
	}
	return "the default kubeconfig"
}

// Raw loads the merged kubeconfig.
func (l Loader) Raw() (*clientcmdapi.Config, error) {
	raw, err := l.rules().Load()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	return raw, nil
}

// Cluster returns the cluster of a context; an empty name means the current context.
func (l Loader) Cluster(contextName string) (*Cluster, error) {
	raw, err := l.Raw()
	if err != nil {
		return nil, err
	}
	if contextName == "" {
		contextName = raw.CurrentContext
		if contextName == "" {
			return nil, fmt.Errorf("the kubeconfig (%s) has no current context: name one with --host-context", l.where())
		}
	}
	kctx, ok := raw.Contexts[contextName]
	if !ok {
		names := make([]string, 0, len(raw.Contexts))
		for n := range raw.Contexts {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("context %q not found in the kubeconfig (%s); it has: %s", contextName, l.where(), strings.Join(names, ", "))
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, contextName, &clientcmd.ConfigOverrides{}, l.rules()).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", contextName, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "kfed"
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("reading the CA file of context %q: %w", contextName, err)
		}
	}
	if cl, ok := raw.Clusters[kctx.Cluster]; ok && cl.InsecureSkipTLSVerify {
		ca = nil
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating a client of context %q: %w", contextName, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a client of context %q: %w", contextName, err)
	}
	return &Cluster{Context: contextName, Server: cfg.Host, CA: ca, Config: cfg, Client: c, Clientset: cs}, nil
}

// ContextForServer returns the name of a context whose cluster's server is server, preferring
// the current context; false when there is none.
func (l Loader) ContextForServer(server string) (string, bool) {
	raw, err := l.Raw()
	if err != nil || server == "" {
		return "", false
	}
	matches := func(name string) bool {
		kctx, ok := raw.Contexts[name]
		if !ok {
			return false
		}
		cl, ok := raw.Clusters[kctx.Cluster]
		return ok && strings.TrimSuffix(cl.Server, "/") == strings.TrimSuffix(server, "/")
	}
	if matches(raw.CurrentContext) {
		return raw.CurrentContext, true
	}
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if matches(n) {
			return n, true
		}
	}
	return "", false
}

// ErrUnreachable says a cluster did not answer.
var ErrUnreachable = errors.New("unreachable")

// Ping asks the cluster for its version, within PingTimeout.
func (c *Cluster) Ping(ctx context.Context) (*version.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, PingTimeout)
	defer cancel()
	raw, err := c.Clientset.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster of context %q (%s) is %w: %w", c.Context, c.Server, ErrUnreachable, err)
	}
	var info version.Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("decoding the /version of context %q: %w", c.Context, err)
	}
	return &info, nil
}
