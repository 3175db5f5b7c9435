package release_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kfed-io/kfed/internal/release"
)

// plugin is the part of krew's Plugin (krew.googlecontainertools.github.com/v1alpha2) kfed fills.
type plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

func parse(t *testing.T, data []byte) plugin {
	t.Helper()
	var p plugin
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		t.Fatalf("the krew manifest does not parse as a krew Plugin: %v", err)
	}
	return p
}

// check verifies a manifest names one archive of `make release-artifacts` per platform.
func check(t *testing.T, p plugin) {
	t.Helper()
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "kfed" {
		t.Errorf("want a krew v1alpha2 Plugin named kfed, got %s %s %s", p.APIVersion, p.Kind, p.Metadata.Name)
	}
	if err := release.CheckVersion(p.Spec.Version); err != nil {
		t.Error(err)
	}
	if p.Spec.ShortDescription == "" || p.Spec.Homepage == "" {
		t.Error("krew wants a shortDescription and a homepage")
	}
	sha := regexp.MustCompile(`^[0-9a-f]{64}$`)
	if len(p.Spec.Platforms) != len(release.Platforms) {
		t.Fatalf("want %d platforms, got %d", len(release.Platforms), len(p.Spec.Platforms))
	}
	for i, want := range release.Platforms {
		got := p.Spec.Platforms[i]
		if got.Selector.MatchLabels["os"] != want.OS || got.Selector.MatchLabels["arch"] != want.Arch {
			t.Errorf("platform %d: selector %v, want %s/%s", i, got.Selector.MatchLabels, want.OS, want.Arch)
		}
		if got.URI != release.ArchiveURL(p.Spec.Version, want) {
			t.Errorf("%s/%s: uri %s, want %s", want.OS, want.Arch, got.URI, release.ArchiveURL(p.Spec.Version, want))
		}
		if !strings.HasSuffix(got.URI, "/"+release.ArchiveName(p.Spec.Version, want)) {
			t.Errorf("%s/%s: uri %s does not name the archive %s", want.OS, want.Arch, got.URI, release.ArchiveName(p.Spec.Version, want))
		}
		if !sha.MatchString(got.SHA256) {
			t.Errorf("%s/%s: sha256 %q", want.OS, want.Arch, got.SHA256)
		}
		if got.Bin != release.Binary || len(got.Files) != 1 || got.Files[0].From != release.Binary {
			t.Errorf("%s/%s: bin %q, files %v: want %s", want.OS, want.Arch, got.Bin, got.Files, release.Binary)
		}
	}
}

// TestCommittedManifest checks plugins/kfed.yaml, as `make release-artifacts` last wrote it.
func TestCommittedManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "plugins", "kfed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	check(t, parse(t, data))
}

func TestManifest(t *testing.T) {
	sums := map[release.Platform]string{}
	for i, p := range release.Platforms {
		sums[p] = strings.Repeat(string(rune('a'+i)), 64)
	}
	data, err := release.Manifest("v1.2.3", sums)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, data)
	check(t, p)
	for i, pl := range p.Spec.Platforms {
		if pl.SHA256 != sums[release.Platforms[i]] {
			t.Errorf("platform %d: sha256 %s, want %s", i, pl.SHA256, sums[release.Platforms[i]])
		}
	}
	delete(sums, release.Platforms[0])
	if _, err := release.Manifest("v1.2.3", sums); err == nil {
		t.Error("a manifest without a platform's sha256 was written")
	}
	if _, err := release.Manifest("1.2.3", map[release.Platform]string{}); err == nil || !strings.Contains(err.Error(), "semver") {
		t.Errorf("version 1.2.3 (no v): got %v", err)
	}
}
