package localcluster

import (
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// HostContext is the kubeconfig context of the host in WriteKubeconfig's file.
const HostContext = "federation"

// WriteKubeconfig writes one kubeconfig with an admin context per cluster: HostContext for the
// host (the current context) and the member's name for each member.
func (f *Federation) WriteKubeconfig(path string) error {
	out := clientcmdapi.NewConfig()
	add := func(name string, c *Cluster) error {
		cfg, err := clientcmd.Load(c.Kubeconfig)
		if err != nil {
			return fmt.Errorf("reading the kubeconfig of %s: %w", c.Name, err)
		}
		kctx, ok := cfg.Contexts[cfg.CurrentContext]
		if !ok {
			return fmt.Errorf("the kubeconfig of %s has no current context", c.Name)
		}
		out.Clusters[name] = cfg.Clusters[kctx.Cluster]
		out.AuthInfos[name] = cfg.AuthInfos[kctx.AuthInfo]
		out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
		return nil
	}
	if err := add(HostContext, f.Host); err != nil {
		return err
	}
	for _, m := range f.Members {
		if err := add(m.Name, m); err != nil {
			return err
		}
	}
	out.CurrentContext = HostContext
	if err := clientcmd.WriteToFile(*out, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}
