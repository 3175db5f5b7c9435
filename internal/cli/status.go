package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kfed-io/kfed/internal/cli/status"
)

func newStatusCommand(s Streams, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the joined clusters and the federated objects",
		Long: `Show two tables read from the host: the joined clusters (READY, REGION, ZONES, VERSION, NODES) and
the federated objects (READY; CLUSTERS as propagated/placed, with the phase of each cluster that
is not Propagated; REPLICAS as cluster=ready/replicas for workloads).`,
		Example: "  kfed status --host-context federation",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, err := g.host()
			if err != nil {
				return err
			}
			if _, err := host.Ping(cmd.Context()); err != nil {
				return fmt.Errorf("host %w", err)
			}
			r, err := status.Collect(cmd.Context(), host.Client)
			if err != nil {
				return err
			}
			return status.Render(s.Out, r)
		},
	}
}
