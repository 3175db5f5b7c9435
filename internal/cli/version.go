package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is kfed's version, set at build time with
// -ldflags "-X github.com/kfed-io/kfed/internal/cli.Version=v0.1.0"; otherwise the module's.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func newVersionCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print kfed's version",
		Example: "  kfed version",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(s.Out, "kfed %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
