// Command release builds the kubectl-kfed archives krew installs (one per platform of
// internal/release) into -out, and writes the krew manifest with their sha256 to -manifest.
// The archives are reproducible: a trimmed, stripped build without a build ID or VCS stamp, in a tar with
// fixed times and owners. Run it from the repository root: `make release-artifacts`.
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kfed-io/kfed/internal/release"
)

func main() {
	version := flag.String("version", "v0.1.0", "Version of the release (v-prefixed semver)")
	out := flag.String("out", "dist", "Folder of the archives")
	manifestPath := flag.String("manifest", "plugins/kfed.yaml", "Where to write the krew manifest")
	flag.Parse()
	if err := run(*version, *out, *manifestPath); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(version, out, manifestPath string) error {
	if err := release.CheckVersion(version); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o750); err != nil {
		return fmt.Errorf("creating %s: %w", out, err)
	}
	build, err := os.MkdirTemp("", "kfed-release-")
	if err != nil {
		return fmt.Errorf("creating a build folder: %w", err)
	}
	defer func() { _ = os.RemoveAll(build) }()
	sums := map[release.Platform]string{}
	for _, p := range release.Platforms {
		bin := filepath.Join(build, p.OS+"-"+p.Arch, release.Binary)
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", bin,
			"-ldflags", "-s -w -buildid= -X github.com/kfed-io/kfed/internal/cli.Version="+version, "./cmd/kfed")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		fmt.Printf(">> building %s for %s/%s\n", release.Binary, p.OS, p.Arch)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s for %s/%s: %w", release.Binary, p.OS, p.Arch, err)
		}
		archive := filepath.Join(out, release.ArchiveName(version, p))
		sum, err := writeArchive(archive, bin)
		if err != nil {
			return err
		}
		sums[p] = sum
		fmt.Printf("%s  %s\n", sum, archive)
	}
	manifest, err := release.Manifest(version, sums)
	if err != nil {
		return err
	}
	if err := os.WriteFile(manifestPath, manifest, 0o644); err != nil { //nolint:gosec // a committed, public manifest
		return fmt.Errorf("writing %s: %w", manifestPath, err)
	}
	fmt.Printf("wrote %s\n", manifestPath)
	return nil
}

// writeArchive writes a .tar.gz holding the binary, with fixed metadata, and returns its sha256.
func writeArchive(archive, bin string) (string, error) {
	data, err := os.ReadFile(bin) //nolint:gosec // the binary this program just built
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", bin, err)
	}
	f, err := os.Create(archive) //nolint:gosec // the archive path this program names, under -out
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", archive, err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(f, h))
	tw := tar.NewWriter(gz)
	epoch := time.Unix(0, 0).UTC()
	if err := tw.WriteHeader(&tar.Header{Name: release.Binary, Mode: 0o755, Size: int64(len(data)), ModTime: epoch,
		Uname: "root", Gname: "root", Format: tar.FormatPAX}); err != nil {
		return "", fmt.Errorf("writing %s: %w", archive, err)
	}
	if _, err := tw.Write(data); err != nil {
		return "", fmt.Errorf("writing %s: %w", archive, err)
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", archive, err)
	}
	if err := gz.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", archive, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("closing %s: %w", archive, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
