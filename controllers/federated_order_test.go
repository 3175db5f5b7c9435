package controllers_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
)

// replicaWrite is one write of spec.replicas kfed sent to a member Deployment.
type replicaWrite struct {
	host            string
	replicas        int64
	sent, completed time.Time
	failed          bool
}

// replicaWrites records kfed's writes of one Deployment's spec.replicas to the members, and can
// fail those to one member (an injected fault in kfed's own client, in front of a real server).
type replicaWrites struct {
	path     string // .../namespaces/<ns>/deployments/<name>
	failHost atomic.Value

	mu     sync.Mutex
	writes []replicaWrite
}

func (w *replicaWrites) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if (req.Method != http.MethodPatch && req.Method != http.MethodPut) || !strings.HasSuffix(req.URL.Path, w.path) || req.Body == nil {
			return rt.RoundTrip(req)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		var obj struct {
			Spec struct {
				Replicas *int64 `json:"replicas"`
			} `json:"spec"`
		}
		if yaml.Unmarshal(body, &obj) != nil || obj.Spec.Replicas == nil { // an apply body may be YAML
			return rt.RoundTrip(req)
		}
		rec := replicaWrite{host: req.URL.Host, replicas: *obj.Spec.Replicas, sent: time.Now()}
		var resp *http.Response
		if h, _ := w.failHost.Load().(string); h == req.URL.Host {
			err, rec.failed = errors.New("injected: connection reset"), true
		} else {
			resp, err = rt.RoundTrip(req)
		}
		rec.completed = time.Now()
		w.mu.Lock()
		w.writes = append(w.writes, rec)
		w.mu.Unlock()
		return resp, err
	})
}

func (w *replicaWrites) list() []replicaWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]replicaWrite(nil), w.writes...)
}

// TestShrinkIsWrittenAfterGrowth reweighs a Deployment spread over the light members (they run
// no controllers, so no readiness is reported and the order of the writes is the only guard): the
// growth to 500 is acknowledged before either scale-down to 250 is sent. While the growing member
// refuses the write, no scale-down is sent at all, and the shrinking members say why.
func TestShrinkIsWrittenAfterGrowth(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "order")
	rec := &replicaWrites{path: "/namespaces/" + ns + "/deployments/k8shserver"}
	replaceOperator(t, fed.Host, controllers.Options{Namespace: operatorNamespace, WrapMemberTransport: rec.wrap})
	fd, _ := spreadDeployment(t, ns, "k8shserver", 1000)
	grower := fed.Members[0]
	u, err := url.Parse(grower.Host())
	g.Expect(err).NotTo(HaveOccurred())
	growerHost := u.Host

	// The grower refuses writes: the scale-downs wait.
	rec.failHost.Store(growerHost)
	start := len(rec.list())
	two, one := int64(2), int64(1)
	updateHost(t, fd, func() {
		fd.Spec.ReplicaScheduling.Clusters = map[string]v1alpha1.ClusterPreference{grower.Name: {Weight: &two}, "*": {Weight: &one}}
	})
	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fd), fd)).To(Succeed())
		pending := 0
		for _, c := range fd.Status.Clusters {
			if c.Phase == v1alpha1.PhasePending {
				pending++
			}
		}
		g.Expect(pending).To(Equal(2), "the shrinking members say they wait: %+v", fd.Status.Clusters)
	}).WithTimeout(30 * time.Second).Should(Succeed())
	time.Sleep(2 * time.Second) // retries of the failed growth come and go meanwhile
	for _, w := range rec.list()[start:] {
		g.Expect(w.host).To(Equal(growerHost), "no scale-down is sent while the growth fails: %+v", w)
	}

	// The grower answers again: growth first, then the scale-downs.
	rec.failHost.Store("")
	g.Eventually(func(g Gomega) {
		g.Expect(memberReplicas(g, ns, fd.Name)).To(Equal(map[string]int32{
			grower.Name: 500, fed.Members[1].Name: 250, fed.Members[2].Name: 250}))
	}).WithTimeout(60 * time.Second).Should(Succeed())
	var grown time.Time
	shrinks := 0
	for _, w := range rec.list()[start:] {
		switch {
		case w.failed:
		case w.host == growerHost && w.replicas == 500:
			if grown.IsZero() {
				grown = w.completed
			}
		case w.replicas == 250:
			shrinks++
			g.Expect(grown.IsZero()).To(BeFalse(), "a scale-down was sent before the growth was written")
			g.Expect(w.sent.Before(grown)).To(BeFalse(), "a scale-down was sent before the growth was acknowledged")
		}
	}
	g.Expect(shrinks).To(Equal(2), "both scale-downs were written")
}
