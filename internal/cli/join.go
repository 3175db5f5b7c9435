package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfed-io/kfed/internal/cli/join"
)

func newJoinCommand(s Streams, g *globals) *cobra.Command {
	o := join.Options{Out: s.Out}
	var (
		clusterContext string
		access         string
	)
	cmd := &cobra.Command{
		Use:   "join NAME --cluster-context CTX",
		Short: "Join a member cluster to the federation",
		Long: `Join a member cluster, reached through kubeconfig context --cluster-context, as NAME.

In the member: namespace kfed-system, a ServiceAccount kfed-member-NAME, a ClusterRole with only
the access kfed needs (the built-in federated kinds, namespaces, reads of nodes and pods, the
health endpoints; --access=all grants everything, for FederatedObjects of any kind), its binding,
and a service-account-token Secret. When no token controller fills that Secret within a few
seconds, a token is minted with the TokenRequest API instead (it expires after a year).
In the host: the credential Secret NAME in kfed-system (token and ca.crt) and the FederatedCluster
NAME, whose apiEndpoint is the member context's server or --api-endpoint. Then wait for Ready.`,
		Example: `  kfed join cluster-us-east1-b --cluster-context us-east1-b --host-context federation
  kfed join cluster-europe-west1-b --cluster-context eu --region europe-west1 --zones europe-west1-b
  kfed join lab --cluster-context lab --api-endpoint https://10.0.0.5:6443 --access=all --wait 0
  kfed join lab --cluster-context lab --dry-run`,
		Args: exactlyOneName("join NAME --cluster-context CTX"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			o.Access = join.Access(access)
			if err := o.Validate(); err != nil {
				return err
			}
			host, err := g.host()
			if err != nil {
				return err
			}
			member, err := g.loader().Cluster(clusterContext)
			if err != nil {
				return fmt.Errorf("member: %w", err)
			}
			endpoint, err := join.Preflight(cmd.Context(), host, member, o)
			if err != nil {
				return err
			}
			res, err := join.Join(cmd.Context(), host, member, endpoint, o)
			if err != nil || o.DryRun {
				return err
			}
			fc := res.Cluster
			if o.Wait == 0 {
				_, err = fmt.Fprintf(s.Out, "Cluster %s joined (not waiting for Ready: --wait 0)\n", fc.Name)
				return err
			}
			_, err = fmt.Fprintf(s.Out, "Cluster %s is Ready after %s: region %s, zones %s, Kubernetes %s, %d nodes\n",
				fc.Name, res.ReadyAfter.Round(100*time.Millisecond), orNone(fc.Status.Region), orNone(strings.Join(fc.Status.Zones, ",")),
				orNone(fc.Status.KubernetesVersion), fc.Status.Nodes)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&clusterContext, "cluster-context", "", "Kubeconfig context of the member cluster (required)")
	f.StringVar(&o.Region, "region", "", "Region of the member (default: discovered from its nodes' topology labels)")
	f.StringSliceVar(&o.Zones, "zones", nil, "Zones of the member, comma-separated (needs --region)")
	f.StringVar(&o.APIEndpoint, "api-endpoint", "", "https URL the operator reaches the member at (default: the member context's server)")
	f.StringVar(&access, "access", "", `"all" grants kfed every verb on every resource in the member (default: only what it needs)`)
	f.BoolVar(&o.DryRun, "dry-run", false, "Check, then print what would be written (Secret data redacted) and write nothing")
	f.DurationVar(&o.Wait, "wait", join.DefaultWait, "How long to wait for the cluster to be Ready; 0 does not wait")
	f.DurationVar(&o.TokenWait, "token-wait", join.DefaultTokenWait, "How long to wait for the token controller before minting a token")
	_ = f.MarkHidden("token-wait")
	_ = cmd.MarkFlagRequired("cluster-context")
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
