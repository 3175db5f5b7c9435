package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfed-io/kfed/config"
	"github.com/kfed-io/kfed/internal/cli/install"
	"github.com/kfed-io/kfed/internal/cli/manifest"
)

func newInitCommand(s Streams, g *globals) *cobra.Command {
	var (
		dryRun bool
		image  string
		wait   time.Duration
		dns    dnsFlags
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Install kfed into the host cluster: CRDs, RBAC, admission policies and the manager",
		Long: `Install kfed into the host cluster with server-side apply: the CRDs, the manager's RBAC, the
admission policies and the manager Deployment in kfed-system, from the manifests embedded in this
binary (the ones config/ holds). Then wait until the manager Deployment is available.

With --dns-domain and --dns-provider it also creates the FederatedDomain where FederatedServices
get their DNS names (and, for externaldns, external-dns's DNSEndpoint CRD unless
--dns-endpoint-crd=false).`,
		Example: `  # Install into the host cluster and wait for the manager
  kfed init --host-context federation

  # Print the manifests instead
  kfed init --dry-run

  # Publish federated Service names in example.com from kfed's own DNS server
  kfed init --dns-domain example.com --dns-provider builtin --dns-listen 0.0.0.0:5353

  # ... or in BIND through TSIG-signed dynamic updates
  kfed init --dns-domain example.com --dns-provider rfc2136 --dns-server 10.0.0.53:53 --dns-tsig-secret tsig`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			objs, err := install.Manifests(config.FS, config.Root)
			if err != nil {
				return err
			}
			crds, domain, err := dns.objects()
			if err != nil {
				return err
			}
			objs = append(append(crds, objs...), domain...)
			if image != "" {
				if err := install.SetImage(objs, image); err != nil {
					return err
				}
			}
			if dryRun {
				return manifest.Print(s.Out, manifest.YAML, unstructuredObjects(objs)...)
			}
			if wait < 0 {
				return fmt.Errorf("--wait must not be negative, not %s", wait)
			}
			host, err := g.host()
			if err != nil {
				return err
			}
			if _, err := host.Ping(cmd.Context()); err != nil {
				return fmt.Errorf("host %w", err)
			}
			if err := install.Install(cmd.Context(), host.Client, objs, install.Options{Wait: wait, Out: s.Out}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "kfed is installed in the host (context %q)\n", host.Context)
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "Print the manifests and install nothing")
	f.StringVar(&image, "image", "", "Image of the manager container (default: the one in config/manager)")
	f.DurationVar(&wait, "wait", 5*time.Minute, "How long to wait for the manager to be available; 0 does not wait")
	dns.add(f)
	return cmd
}
