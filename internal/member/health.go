package member

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// ProbeSettings says how a member is probed.
type ProbeSettings struct {
	Period           time.Duration
	Timeout          time.Duration
	FailureThreshold int
	SuccessThreshold int
}

// Health is what kfed knows of a member right now.
type Health struct {
	// Ready is the verdict of the probes, with the thresholds applied.
	Ready bool
	// Reason and Message explain Ready; reasons are the v1alpha1.Reason* constants.
	Reason  string
	Message string
	// KubernetesVersion is the member's gitVersion, read when it became Ready.
	KubernetesVersion string
	// Nodes summarizes the member's nodes; zero until its cache has synced.
	Nodes NodeSummary
	// Synced is true once the member's cache has synced; Client and Cache work only then.
	Synced bool
	// SyncError says why the cache of a Ready member has not synced, e.g. its identity may not
	// list nodes; empty otherwise.
	SyncError string
}

// NodeSummary is what kfed reports of a member's nodes. It changes only when nodes join, leave,
// change readiness, labels or allocatable: never with pods, so a steady fleet is quiet.
type NodeSummary struct {
	// Ready is the number of nodes whose Ready condition is True.
	Ready int32
	// Region is the most common topology.kubernetes.io/region label of the nodes.
	Region string
	// Zones are the distinct topology.kubernetes.io/zone labels of the nodes, sorted.
	Zones []string
	// Allocatable sums cpu, memory and pods over the Ready nodes.
	Allocatable corev1.ResourceList
}

// Equal tells whether two summaries report the same thing.
func (s NodeSummary) Equal(o NodeSummary) bool {
	return s.Ready == o.Ready && s.Region == o.Region && slices.Equal(s.Zones, o.Zones) &&
		equality.Semantic.DeepEqual(s.Allocatable, o.Allocatable)
}

func (h Health) equal(o Health) bool {
	return h.Ready == o.Ready && h.Reason == o.Reason && h.Message == o.Message &&
		h.KubernetesVersion == o.KubernetesVersion && h.Synced == o.Synced && h.SyncError == o.SyncError &&
		h.Nodes.Equal(o.Nodes)
}

// summarizeNodes builds the NodeSummary of a list of nodes.
func summarizeNodes(nodes []corev1.Node) NodeSummary {
	var s NodeSummary
	regions := map[string]int{}
	zones := map[string]struct{}{}
	alloc := corev1.ResourceList{}
	for i := range nodes {
		n := &nodes[i]
		if r := n.Labels[corev1.LabelTopologyRegion]; r != "" {
			regions[r]++
		}
		if z := n.Labels[corev1.LabelTopologyZone]; z != "" {
			zones[z] = struct{}{}
		}
		if !nodeReady(n) {
			continue
		}
		s.Ready++
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
			q, ok := n.Status.Allocatable[name]
			if !ok {
				continue
			}
			sum := alloc[name]
			sum.Add(q)
			alloc[name] = sum
		}
	}
	if len(alloc) > 0 {
		s.Allocatable = alloc
		// Canonical forms, so that a summary compares equal to its round trip through the API.
		for name, q := range alloc {
			alloc[name] = resource.MustParse(q.String())
		}
	}
	s.Region = mostCommon(regions)
	for z := range zones {
		s.Zones = append(s.Zones, z)
	}
	slices.Sort(s.Zones)
	return s
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// mostCommon returns the key with the highest count; ties go to the smallest key.
func mostCommon(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// prober turns a sequence of probe results into a verdict. A member starts NotReady; it becomes
// Ready after SuccessThreshold successes in a row, and NotReady again after FailureThreshold
// failures in a row. While it is NotReady, the reason and message always tell the latest failure,
// so that bad credentials show at once rather than after the threshold.
type prober struct {
	ready               bool
	successes, failures int
	reason, message     string
}

func newProber() prober {
	return prober{reason: v1alpha1.ReasonProbing, message: "Waiting for the first successful probe of /readyz"}
}

// observe records one probe result and reports whether the verdict (Ready) flipped.
func (p *prober) observe(s ProbeSettings, err error, reason, message string) (flipped bool) {
	if err == nil {
		p.failures = 0
		p.successes++
		if !p.ready && p.successes >= s.SuccessThreshold {
			p.ready = true
			p.reason, p.message = v1alpha1.ReasonProbeSucceeded, "The member answers /readyz"
			return true
		}
		if !p.ready {
			p.reason = v1alpha1.ReasonProbing
			p.message = fmt.Sprintf("%d of %d successful probes needed to become Ready", p.successes, s.SuccessThreshold)
		}
		return false
	}
	p.successes = 0
	p.failures++
	if p.ready && p.failures < s.FailureThreshold {
		return false
	}
	p.reason, p.message = reason, message
	if p.ready {
		p.ready = false
		return true
	}
	return false
}

// classify turns a probe error into a Ready reason and a message that is stable across probes
// of the same fault (so a down member does not cause a status write per probe). credentials
// names where the credentials came from, e.g. `Secret kfed-system/a key "token"`; it never holds
// the credentials themselves.
func classify(err error, host, credentials string, timeout time.Duration) (reason, message string) {
	var netErr net.Error
	switch {
	case apierrors.IsUnauthorized(err):
		return v1alpha1.ReasonUnauthorized, fmt.Sprintf("%s rejected the credentials from %s: 401 Unauthorized", host, credentials)
	case apierrors.IsForbidden(err):
		return v1alpha1.ReasonUnauthorized, fmt.Sprintf("%s refused /readyz to the identity from %s: 403 Forbidden", host, credentials)
	case certificateProblem(err) != "":
		return v1alpha1.ReasonCertificateInvalid, fmt.Sprintf("The serving certificate of %s does not verify against the CA from %s: %s",
			host, credentials, certificateProblem(err))
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return v1alpha1.ReasonProbeFailed, fmt.Sprintf("GET %s/readyz timed out after %s", host, timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return v1alpha1.ReasonProbeFailed, fmt.Sprintf("GET %s/readyz: connection refused", host)
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return v1alpha1.ReasonProbeFailed, fmt.Sprintf("GET %s/readyz answered HTTP %d", host, status.Status().Code)
	}
	return v1alpha1.ReasonProbeFailed, fmt.Sprintf("GET %s/readyz failed: %v", host, err)
}

// certificateProblem says what is wrong with the member's serving certificate, or "" when err
// is not about certificates.
func certificateProblem(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknown):
		return "certificate signed by unknown authority"
	case errors.As(err, &hostname):
		return hostname.Error()
	case errors.As(err, &invalid):
		return invalid.Error()
	case errors.As(err, &verify):
		return verify.Err.Error()
	}
	return ""
}
