package controllers

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
)

// credentialError is a problem with a member's credential Secret, ready for the Ready condition.
type credentialError struct {
	reason, message string
}

func (e *credentialError) Error() string { return e.message }

// secretKey returns the namespace and name of the credential Secret of a cluster.
func secretKey(fc *v1alpha1.FederatedCluster, defaultNamespace string) (namespace, name string) {
	namespace = fc.Spec.SecretRef.Namespace
	if namespace == "" {
		namespace = defaultNamespace
	}
	return namespace, fc.Spec.SecretRef.Name
}

// connectionFor builds the Connection to a member from its FederatedCluster and credential
// Secret. Errors name the Secret and the key, and never hold credentials.
func connectionFor(fc *v1alpha1.FederatedCluster, secret *corev1.Secret) (member.Connection, *credentialError) {
	ref := fmt.Sprintf("Secret %s/%s", secret.Namespace, secret.Name)
	invalid := func(format string, args ...any) *credentialError {
		return &credentialError{
			reason:  v1alpha1.ReasonCredentialsInvalid,
			message: redact(ref+" "+fmt.Sprintf(format, args...), secret.Data),
		}
	}
	var (
		cfg         *rest.Config
		credentials string
	)
	kubeconfig, hasKubeconfig := secret.Data[v1alpha1.SecretKeyKubeconfig]
	token, hasToken := secret.Data[v1alpha1.SecretKeyToken]
	ca, hasCA := secret.Data[v1alpha1.SecretKeyCA]
	switch {
	case hasKubeconfig:
		credentials = fmt.Sprintf("%s key %q", ref, v1alpha1.SecretKeyKubeconfig)
		parsed, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
		if err != nil {
			return member.Connection{}, invalid("key %q does not hold a usable kubeconfig: %v", v1alpha1.SecretKeyKubeconfig, err)
		}
		cfg = parsed
	case hasToken:
		credentials = fmt.Sprintf("%s keys %q and %q", ref, v1alpha1.SecretKeyToken, v1alpha1.SecretKeyCA)
		if len(strings.TrimSpace(string(token))) == 0 {
			return member.Connection{}, invalid("key %q is empty", v1alpha1.SecretKeyToken)
		}
		if !hasCA {
			return member.Connection{}, invalid("has key %q but no key %q: a token needs the member's CA", v1alpha1.SecretKeyToken, v1alpha1.SecretKeyCA)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(ca) {
			return member.Connection{}, invalid("key %q holds no PEM certificate", v1alpha1.SecretKeyCA)
		}
		if fc.Spec.APIEndpoint == "" {
			return member.Connection{}, invalid("has keys %q and %q, which need spec.apiEndpoint, and it is empty", v1alpha1.SecretKeyToken, v1alpha1.SecretKeyCA)
		}
		cfg = &rest.Config{
			BearerToken:     strings.TrimSpace(string(token)),
			TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		}
	default:
		return member.Connection{}, invalid("has neither key %q nor keys %q and %q", v1alpha1.SecretKeyKubeconfig, v1alpha1.SecretKeyToken, v1alpha1.SecretKeyCA)
	}
	if fc.Spec.APIEndpoint != "" {
		cfg.Host = fc.Spec.APIEndpoint
	}
	if cfg.Host == "" {
		return member.Connection{}, invalid("key %q names no server and spec.apiEndpoint is empty", v1alpha1.SecretKeyKubeconfig)
	}
	cfg.UserAgent = "kfed/" + fc.Name
	return member.Connection{
		Config:      cfg,
		Fingerprint: fingerprint(fc.Spec.APIEndpoint, secret.Data),
		Credentials: credentials,
		Probe:       probeSettings(fc.Spec.HealthCheck),
	}, nil
}

// probeSettings turns the API's health check into probe settings, defaulting zero values the
// way the CRD does.
func probeSettings(hc v1alpha1.HealthCheck) member.ProbeSettings {
	orDefault := func(v, d int32) int32 {
		if v <= 0 {
			return d
		}
		return v
	}
	return member.ProbeSettings{
		Period:           time.Duration(orDefault(hc.PeriodSeconds, 10)) * time.Second,
		Timeout:          time.Duration(orDefault(hc.TimeoutSeconds, 5)) * time.Second,
		FailureThreshold: int(orDefault(hc.FailureThreshold, 3)),
		SuccessThreshold: int(orDefault(hc.SuccessThreshold, 1)),
	}
}

// fingerprint hashes everything that decides how kfed connects to a member.
func fingerprint(endpoint string, data map[string][]byte) string {
	h := sha256.New()
	h.Write([]byte(endpoint))
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		_, _ = fmt.Fprintf(h, "\x00%s\x00%d\x00", k, len(data[k])) // a hash never fails to write
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// redact removes credential material from a message: every whole value of the Secret, and every
// long word in it (tokens, keys and certificates inside a kubeconfig are long words).
func redact(message string, data map[string][]byte) string {
	const longWord = 24
	for _, v := range data {
		if s := strings.TrimSpace(string(v)); len(s) >= 8 {
			message = strings.ReplaceAll(message, s, "[redacted]")
		}
		for _, w := range strings.FieldsFunc(string(v), func(r rune) bool {
			return r == ' ' || r == '\n' || r == '\t' || r == '"' || r == '\''
		}) {
			if len(w) >= longWord {
				message = strings.ReplaceAll(message, w, "[redacted]")
			}
		}
	}
	return message
}
