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
	o := dev.Options{Dir: dev.DefaultDir(), Clusters: 3, ToolsDir: dev.DefaultToolsDir(), DNSListen: dev.DefaultDNSListen, LBPort: dev.DefaultLBPort}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local federation on this machine for trying kfed",
		Long: `Run a local federation on this machine: a host and members named after the Kubernetes federation
walkthrough (cluster-us-east1-b, cluster-europe-west1-b, cluster-asia-east1-a, then two more), each
a real API server with a controller manager, a scheduler and kwok fake nodes carrying the region
and zone labels; the operator runs against the host and every member is joined with kfed join.
It runs in the background until 'kfed dev down'. The binaries come from 'make tools'.

Load balancers are a dev-only SIMULATION (no cloud load balancer exists here): Services of type
LoadBalancer and Ingresses get loopback addresses (127.0.10+i.N in member i), and the dev process
answers HTTP on each of them on port 18080 (--lb-port) as the walkthrough's k8shserver does:
{"hostname": "<a Ready pod of the member backing the Service>", "zone": "<the member's zone>"},
or 503 when the Service has no ready endpoint there (or the member's API server is stopped).

The federation has a FederatedDomain example.com (federation name myfed) served by kfed's
builtin DNS server on 127.0.0.1:15353 (--dns-listen): a FederatedService of type LoadBalancer
gets names such as <svc>.<ns>.myfed.svc.example.com, to ask with
dig @127.0.0.1 -p 15353 <name>. Its geo table gives member i's region SIMULATED client networks
(10.i+1.0.0/16 and 2001:db8:i+1::/48, not any cloud's), so a FederatedIngress with a Geo global
address answers dig +subnet=10.1.0.7 with the first member's clusters. 'kfed dev apiserver stop|start <member>' kills a member's API
server and starts it again, to watch kfed take the cluster out of DNS and put it back.`,
		Example: `  kfed dev up
  kfed dev up --clusters 5 --dir /tmp/fed
  kfed dev apiserver stop cluster-europe-west1-b
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
	up.Flags().StringVar(&o.DNSListen, "dns-listen", o.DNSListen, "host:port of kfed's builtin DNS server for the FederatedDomain example.com")
	up.Flags().IntVar(&o.LBPort, "lb-port", o.LBPort, "Port every simulated load-balancer address answers HTTP on (a SIMULATION)")

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
	serve.Flags().StringVar(&o.DNSListen, "dns-listen", o.DNSListen, "host:port of the builtin DNS server")
	serve.Flags().IntVar(&o.LBPort, "lb-port", o.LBPort, "Port of the simulated load balancers")

	apiserver := &cobra.Command{
		Use:   "apiserver stop|start MEMBER",
		Short: "Kill a member's API server, or start it again (same address, same data): a real cluster failure",
		Example: `  kfed dev apiserver stop cluster-europe-west1-b
  kfed dev apiserver start cluster-europe-west1-b`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return dev.APIServer(cmd.Context(), o, args[0], args[1], s.Out)
		},
	}
	cmd.AddCommand(up, down, serve, apiserver)
	return cmd
}
