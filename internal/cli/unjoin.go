package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kfed-io/kfed/internal/cli/join"
	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
)

func newUnjoinCommand(s Streams, g *globals) *cobra.Command {
	o := join.UnjoinOptions{Out: s.Out}
	var clusterContext string
	cmd := &cobra.Command{
		Use:   "unjoin NAME",
		Short: "Remove a member cluster from the federation",
		Long: `Remove member NAME: in the host, its FederatedCluster and the credential Secret kfed join wrote;
in the member, the ServiceAccount, ClusterRole, binding and token Secret kfed join wrote (the
kfed-system namespace stays). The member is reached through --cluster-context,
else the kubeconfig context whose server is the cluster's apiEndpoint. When the member is dead,
--force removes it from the host only.`,
		Example: `  kfed unjoin cluster-us-east1-b --host-context federation
  kfed unjoin cluster-asia-east1-a --cluster-context asia-east1-a
  kfed unjoin cluster-asia-east1-a --force   # the member is gone for good`,
		Args: exactlyOneName("unjoin NAME [--force]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if o.Wait < 0 {
				return fmt.Errorf("--wait must not be negative, not %s", o.Wait)
			}
			host, err := g.host()
			if err != nil {
				return err
			}
			var member *kubeconfig.Cluster
			if clusterContext != "" {
				if member, err = g.loader().Cluster(clusterContext); err != nil {
					return fmt.Errorf("member: %w", err)
				}
			} else if member, err = join.FindMember(cmd.Context(), host, g.loader(), o.Name); err != nil {
				return err
			}
			if err := join.Unjoin(cmd.Context(), host, member, o); err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "Cluster %s unjoined\n", o.Name)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&clusterContext, "cluster-context", "", "Kubeconfig context of the member (default: the context whose server is the cluster's apiEndpoint)")
	f.BoolVar(&o.Force, "force", false, "Remove the cluster from the host even when its member side cannot be cleaned up")
	f.DurationVar(&o.Wait, "wait", join.DefaultUnjoinWait, "How long to wait for the FederatedCluster to be gone; 0 does not wait")
	return cmd
}
