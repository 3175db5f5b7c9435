// Package config embeds the manifests this folder holds, so that `kfed init` installs exactly
// what `make manifests` generated and `kubectl apply --server-side -k config/default` would apply.
package config

import "embed"

// FS holds the kustomizations and the manifests they list: config/default and the folders it
// refers to. Paths are relative to config/, e.g. "crd/bases/federation.kfed.io_federatedclusters.yaml".
//
//go:embed default/kustomization.yaml
//go:embed crd/kustomization.yaml crd/bases/*.yaml
//go:embed admission/*.yaml
//go:embed rbac/*.yaml
//go:embed manager/*.yaml
//go:embed externaldns/*.yaml
var FS embed.FS

// ExternalDNSCRD is external-dns's DNSEndpoint CRD, an optional manifest: kfed init installs
// it for a FederatedDomain with the externalDNS provider (config/default does not list it).
const ExternalDNSCRD = "externaldns/dnsendpoints.externaldns.k8s.io.yaml"

// Root is the kustomization that lists everything kfed installs in the host cluster.
const Root = "default"
