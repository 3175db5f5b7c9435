package member

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

func TestProberThresholds(t *testing.T) {
	settings := ProbeSettings{FailureThreshold: 3, SuccessThreshold: 2}
	fail := errors.New("down")
	type step struct {
		err       error
		wantReady bool
		wantFlip  bool
		reason    string
	}
	cases := []struct {
		name  string
		steps []step
	}{{
		name: "a new member needs successThreshold successes in a row",
		steps: []step{
			{nil, false, false, v1alpha1.ReasonProbing},
			{fail, false, false, v1alpha1.ReasonProbeFailed},
			{nil, false, false, v1alpha1.ReasonProbing},
			{nil, true, true, v1alpha1.ReasonProbeSucceeded},
		},
	}, {
		name: "a ready member survives failureThreshold-1 failures",
		steps: []step{
			{nil, false, false, v1alpha1.ReasonProbing},
			{nil, true, true, v1alpha1.ReasonProbeSucceeded},
			{fail, true, false, v1alpha1.ReasonProbeSucceeded},
			{fail, true, false, v1alpha1.ReasonProbeSucceeded},
			{nil, true, false, v1alpha1.ReasonProbeSucceeded},
			{fail, true, false, v1alpha1.ReasonProbeSucceeded},
			{fail, true, false, v1alpha1.ReasonProbeSucceeded},
			{fail, false, true, v1alpha1.ReasonProbeFailed},
		},
	}, {
		name: "a failing new member shows the failure at once, without flipping",
		steps: []step{
			{fail, false, false, v1alpha1.ReasonProbeFailed},
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProber()
			for i, s := range tc.steps {
				reason := ""
				if s.err != nil {
					reason = v1alpha1.ReasonProbeFailed
				}
				flipped := p.observe(settings, s.err, reason, "message")
				if p.ready != s.wantReady || flipped != s.wantFlip || p.reason != s.reason {
					t.Fatalf("step %d: ready=%v flipped=%v reason=%s; want ready=%v flipped=%v reason=%s",
						i, p.ready, flipped, p.reason, s.wantReady, s.wantFlip, s.reason)
				}
			}
		})
	}
}

func TestClassify(t *testing.T) {
	const host, creds = "https://10.0.0.1:6443", `Secret kfed-system/m key "token"`
	gr := schema.GroupResource{}
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: host + "/readyz", Err: err} }
	cases := []struct {
		name, reason, message string
		err                   error
	}{
		{"401", v1alpha1.ReasonUnauthorized, host + " rejected the credentials from " + creds + ": 401 Unauthorized",
			apierrors.NewUnauthorized("Unauthorized")},
		{"403", v1alpha1.ReasonUnauthorized, host + " refused /readyz to the identity from " + creds + ": 403 Forbidden",
			apierrors.NewForbidden(gr, "", errors.New("no"))},
		{"unknown authority", v1alpha1.ReasonCertificateInvalid,
			"The serving certificate of " + host + " does not verify against the CA from " + creds + ": certificate signed by unknown authority",
			urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})},
		{"timeout", v1alpha1.ReasonProbeFailed, "GET " + host + "/readyz timed out after 5s", urlErr(context.DeadlineExceeded)},
		{"refused", v1alpha1.ReasonProbeFailed, "GET " + host + "/readyz: connection refused", urlErr(fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED))},
		{"not ready", v1alpha1.ReasonProbeFailed, "GET " + host + "/readyz answered HTTP 500",
			apierrors.NewInternalError(errors.New("[-]etcd failed"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reason, message := classify(tc.err, host, creds, 5*time.Second)
			if diff := cmp.Diff([]string{tc.reason, tc.message}, []string{reason, message}); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

func node(name, region, zone string, ready bool, cpu string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if region != "" {
		n.Labels[corev1.LabelTopologyRegion] = region
	}
	if zone != "" {
		n.Labels[corev1.LabelTopologyZone] = zone
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
	n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourcePods: resource.MustParse("110")}
	return n
}

func TestSummarizeNodes(t *testing.T) {
	cases := []struct {
		name  string
		nodes []corev1.Node
		want  NodeSummary
	}{
		{"no nodes", nil, NodeSummary{}},
		{"ready nodes sum, zones sorted, most common region", []corev1.Node{
			node("a", "us-east1", "us-east1-c", true, "4"),
			node("b", "us-east1", "us-east1-b", true, "1500m"),
			node("c", "europe-west1", "europe-west1-b", true, "2"),
		}, NodeSummary{Ready: 3, Region: "us-east1", Zones: []string{"europe-west1-b", "us-east1-b", "us-east1-c"},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("7500m"), corev1.ResourcePods: resource.MustParse("330")}}},
		{"a NotReady node counts for topology, not for capacity", []corev1.Node{
			node("a", "r", "z1", true, "4"),
			node("b", "r", "z2", false, "4"),
		}, NodeSummary{Ready: 1, Region: "r", Zones: []string{"z1", "z2"},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")}}},
		{"a tie between regions goes to the first name", []corev1.Node{
			node("a", "b-region", "", true, "1"),
			node("b", "a-region", "", true, "1"),
		}, NodeSummary{Ready: 2, Region: "a-region",
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourcePods: resource.MustParse("220")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := summarizeNodes(tc.nodes)
			if !got.Equal(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
