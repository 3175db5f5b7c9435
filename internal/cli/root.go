// Package cli is the kfed command line: one cobra command per file, the work done by the
// packages beside it (join, federate, status, install).
package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
)

// programName is the command's name when it does not run as a kubectl plugin.
const programName = "kfed"

// Streams are where a command reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// globals are the flags every command has.
type globals struct {
	kubeconfig  string
	hostContext string
	verbosity   int
}

func (g *globals) loader() kubeconfig.Loader { return kubeconfig.Loader{Path: g.kubeconfig} }

// host returns the host cluster (--host-context, else the current context).
func (g *globals) host() (*kubeconfig.Cluster, error) {
	c, err := g.loader().Cluster(g.hostContext)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	return c, nil
}

// Main runs the command line args (args[0] is the program) and returns the exit code. Errors
// are one line on s.Err.
func Main(ctx context.Context, args []string, s Streams) int {
	root := NewRoot(s, displayName(args[0]))
	root.SetArgs(args[1:])
	if err := root.ExecuteContext(ctx); err != nil {
		_, _ = fmt.Fprintln(s.Err, "Error: "+oneLine(err.Error()))
		return 1
	}
	return 0
}

// displayName is "kubectl kfed" when the binary runs as the kubectl plugin kubectl-kfed.
func displayName(program string) string {
	if strings.HasPrefix(filepath.Base(program), "kubectl-") {
		return "kubectl " + strings.TrimPrefix(filepath.Base(program), "kubectl-")
	}
	return programName
}

// oneLine folds a message onto one line.
func oneLine(msg string) string {
	return strings.Join(strings.Fields(msg), " ")
}

// NewRoot returns the kfed command with every subcommand.
func NewRoot(s Streams, name string) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "kfed",
		Short: "kfed federates Kubernetes clusters: join members to a host and spread objects over them",
		Long: `kfed federates Kubernetes clusters. It is installed into one host cluster (kfed init), members are
joined to it (kfed join), and Federated* objects created in the host are spread over the members.
Clusters are named by kubeconfig contexts, as kubectl does (--kubeconfig, else $KUBECONFIG, else
~/.kube/config).`,
		Example: strings.ReplaceAll(`  kfed init --host-context federation
  kfed join cluster-us-east1-b --cluster-context cluster-us-east1-b --host-context federation
  kfed federate -f app.yaml | kubectl --context federation apply -f -
  kfed status --host-context federation`, "kfed ", name+" "),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			level := zapcore.InfoLevel - zapcore.Level(min(max(g.verbosity, 0), 10)) //nolint:gosec // bounded to 0..10
			log := zap.New(zap.WriteTo(s.Err), zap.ConsoleEncoder(), zap.Level(level))
			cmd.SetContext(ctrl.LoggerInto(cmd.Context(), log))
		},
	}
	if name != programName {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	root.CompletionOptions.HiddenDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&g.kubeconfig, "kubeconfig", "", "Path of the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	pf.StringVar(&g.hostContext, "host-context", "", "Kubeconfig context of the host cluster (default: the current context)")
	pf.IntVarP(&g.verbosity, "v", "v", 0, "Log verbosity; 1 and more log what kfed does")
	root.AddCommand(
		newVersionCommand(s),
		newInitCommand(s, g),
		newJoinCommand(s, g),
		newUnjoinCommand(s, g),
		newFederateCommand(s),
		newStatusCommand(s, g),
		newDevCommand(s),
	)
	return root
}

// exactlyOneName checks a command's single NAME argument.
func exactlyOneName(usage string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%s takes exactly one cluster NAME, got %d arguments (usage: %s)", cmd.Name(), len(args), usage)
		}
		return nil
	}
}
