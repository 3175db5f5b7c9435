package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfed-io/kfed/internal/cli/dev"
)

func newDevCommand(s Streams) *cobra.Command {
	o := dev.Options{Dir: dev.DefaultDir(), Clusters: 3, ToolsDir: dev.DefaultToolsDir()}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local federation on this machine for trying kfed",
		Long: `Run a local federation on this machine: a host and members named after the Kubernetes federation
walkthrough (cluster-us-east1-b, cluster-europe-west1-b, cluster-asia-east1-a, then two more), each
a real API server with a controller manager, a scheduler and kwok fake nodes carrying the region
and zone labels; the operator runs against the host and every member is joined with kfed join.
It runs in the background until 'kfed dev down'. The binaries come from 'make tools'.

Services of type LoadBalancer get loopback addresses (127.0.10+i.N in member i) from a dev-only
SIMULATION: no cloud load balancer exists here.`,
		Example: `  kfed dev up
  kfed dev up --clusters 5 --dir /tmp/fed
  kfed dev down`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.Dir, "dir", o.Dir, "Folder of the federation's kubeconfig, data and logs")

	var wait time.Duration
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the local federation in the background",
		Example: `  kfed dev up
  export KUBECONFIG=~/.kfed/dev/kubeconfig; kfed status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding the kfed binary: %w", err)
			}
			return dev.Up(cmd.Context(), o, exe, wait, s.Out)
		},
	}
	up.Flags().IntVar(&o.Clusters, "clusters", o.Clusters, "Number of members: 3 or 5 for the walkthrough (1 to 5)")
	up.Flags().StringVar(&o.ToolsDir, "tools-dir", o.ToolsDir, "Folder of the binaries 'make tools' builds: $KFED_TOOLS_DIR, else the folder of the kfed binary")
	up.Flags().DurationVar(&wait, "wait", 5*time.Minute, "How long to wait for the federation to be up")

	down := &cobra.Command{
		Use:     "down",
		Short:   "Stop the local federation; no process is left",
		Example: "  kfed dev down",
		Args:    cobra.NoArgs,
		RunE:    func(*cobra.Command, []string) error { return dev.Down(o.Dir, s.Out) },
	}

	serve := &cobra.Command{
		Use:    "serve",
		Short:  "Run the local federation in the foreground (what up starts in the background)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			signal.Ignore(syscall.SIGHUP) // the user's shell closing does not stop it
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return dev.Serve(ctx, o, s.Out)
		},
	}
	serve.Flags().IntVar(&o.Clusters, "clusters", o.Clusters, "Number of members")
	serve.Flags().StringVar(&o.ToolsDir, "tools-dir", o.ToolsDir, "Folder of the tools")
	cmd.AddCommand(up, down, serve)
	return cmd
}
