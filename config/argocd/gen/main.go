// Command gen writes kfed's Argo CD health checks and docs/argocd.md (see package argocd).
// Run it from the repository root: `make argocd`.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kfed-io/kfed/config/argocd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "argocd gen:", err)
		os.Exit(1)
	}
}

func run() error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run from the repository root (no go.mod here): %w", err)
	}
	files, err := argocd.Files()
	if err != nil {
		return err
	}
	// The per-kind folders are wholly generated: start afresh so a removed case leaves nothing behind.
	if err := os.RemoveAll(filepath.Join(argocd.Dir, argocd.Group)); err != nil {
		return fmt.Errorf("removing the old health checks: %w", err)
	}
	for name, data := range files {
		p := filepath.FromSlash(name)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return fmt.Errorf("creating the folder of %s: %w", p, err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil { //nolint:gosec // committed source files, world-readable like the rest of the tree
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	fmt.Printf("wrote %d files\n", len(files))
	return nil
}
