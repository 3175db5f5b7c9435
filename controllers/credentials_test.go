package controllers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

const testCA = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw
DgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow
EjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d
7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B
5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr
BgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1
NDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l
Wf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc
6MF9+Yw1Yy0t
-----END CERTIFICATE-----
`

const token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNlY3JldC10b2tlbi12YWx1ZSJ9.payload.signature"

func secret(data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kfed-system", Name: "m1"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestConnectionFor(t *testing.T) {
	kubeconfig := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: ""}}]
users: [{name: u, user: {token: "` + token + `"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	cases := []struct {
		name        string
		endpoint    string
		data        map[string]string
		wantHost    string
		wantReason  string
		wantMessage string
	}{
		{name: "kubeconfig", data: map[string]string{"kubeconfig": kubeconfig}, wantHost: "https://10.0.0.1:6443"},
		{name: "kubeconfig with endpoint override", endpoint: "https://member.example:443", data: map[string]string{"kubeconfig": kubeconfig},
			wantHost: "https://member.example:443"},
		{name: "token and ca", endpoint: "https://10.0.0.2:6443", data: map[string]string{"token": token, "ca.crt": testCA},
			wantHost: "https://10.0.0.2:6443"},
		{name: "token without endpoint", data: map[string]string{"token": token, "ca.crt": testCA},
			wantReason:  v1alpha1.ReasonCredentialsInvalid,
			wantMessage: `Secret kfed-system/m1 has keys "token" and "ca.crt", which need spec.apiEndpoint, and it is empty`},
		{name: "token without ca", endpoint: "https://10.0.0.2:6443", data: map[string]string{"token": token},
			wantReason: v1alpha1.ReasonCredentialsInvalid, wantMessage: `Secret kfed-system/m1 has key "token" but no key "ca.crt": a token needs the member's CA`},
		{name: "ca that is no PEM", endpoint: "https://10.0.0.2:6443", data: map[string]string{"token": token, "ca.crt": "garbage"},
			wantReason: v1alpha1.ReasonCredentialsInvalid, wantMessage: `Secret kfed-system/m1 key "ca.crt" holds no PEM certificate`},
		{name: "empty token", endpoint: "https://10.0.0.2:6443", data: map[string]string{"token": " \n", "ca.crt": testCA},
			wantReason: v1alpha1.ReasonCredentialsInvalid, wantMessage: `Secret kfed-system/m1 key "token" is empty`},
		{name: "no known key", data: map[string]string{"password": "hunter2-hunter2"},
			wantReason: v1alpha1.ReasonCredentialsInvalid, wantMessage: `Secret kfed-system/m1 has neither key "kubeconfig" nor keys "token" and "ca.crt"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: "m1"}, Spec: v1alpha1.FederatedClusterSpec{APIEndpoint: tc.endpoint}}
			conn, credErr := connectionFor(fc, secret(tc.data))
			if tc.wantReason != "" {
				if credErr == nil {
					t.Fatalf("want %s, got a connection to %s", tc.wantReason, conn.Config.Host)
				}
				if diff := cmp.Diff([]string{tc.wantReason, tc.wantMessage}, []string{credErr.reason, credErr.message}); diff != "" {
					t.Fatalf("(-want +got)\n%s", diff)
				}
				return
			}
			if credErr != nil {
				t.Fatalf("unexpected error: %v", credErr)
			}
			if conn.Config.Host != tc.wantHost {
				t.Fatalf("host %q, want %q", conn.Config.Host, tc.wantHost)
			}
			if strings.Contains(conn.Credentials, token) {
				t.Fatal("the credentials description holds the token")
			}
		})
	}
}

func TestFingerprintChangesWithCredentialsAndEndpoint(t *testing.T) {
	a := fingerprint("https://a", map[string][]byte{"token": []byte("t1")})
	for name, other := range map[string]string{
		"token":    fingerprint("https://a", map[string][]byte{"token": []byte("t2")}),
		"endpoint": fingerprint("https://b", map[string][]byte{"token": []byte("t1")}),
		"key":      fingerprint("https://a", map[string][]byte{"tokem": []byte("t1")}),
	} {
		if other == a {
			t.Errorf("a change of %s leaves the fingerprint unchanged", name)
		}
	}
	if fingerprint("https://a", map[string][]byte{"token": []byte("t1")}) != a {
		t.Error("the fingerprint is not deterministic")
	}
}

func TestRedact(t *testing.T) {
	data := map[string][]byte{"kubeconfig": []byte("users: [{user: {token: \"" + token + "\"}}]"), "short": []byte("abc")}
	got := redact("parse error near "+token+" in abc", data)
	if strings.Contains(got, token) {
		t.Fatalf("token left in %q", got)
	}
	if !strings.Contains(got, "in abc") {
		t.Fatalf("short values must not be redacted (they would mangle messages): %q", got)
	}
}
