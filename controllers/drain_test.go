package controllers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// ledgerAt is a drain ledger on a clock the test moves.
func ledgerAt(now *time.Time) *drainLedger {
	l := newDrainLedger()
	l.now = func() time.Time { return *now }
	return l
}

func TestDrainLedger(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	l := ledgerAt(&now)
	l.register("dns")
	mustWait := func(step, want string) {
		t.Helper()
		ok, why, recheck := l.drained("m1")
		if ok || !strings.Contains(why, want) || recheck <= 0 {
			t.Fatalf("%s: drained = %v, %q, %s; want a wait saying %q", step, ok, why, recheck, want)
		}
	}
	mustWait("before the DNS controller listed its subjects", "publish every name once")
	l.started("dns", []string{"FederatedService/a/web", "FederatedService/a/api"})
	l.published("dns", "FederatedService/a/web", []string{"m0", "m1"}, 30*time.Second, "a", nil)
	mustWait("one subject not yet published", "publish every name once")
	l.published("dns", "FederatedService/a/api", nil, 0, "a", nil)
	mustWait("m1 still in web's records", "out of the DNS answers of FederatedService/a/web")

	now = now.Add(time.Second)
	l.published("dns", "FederatedService/a/web", []string{"m0"}, 30*time.Second, "a", nil)
	mustWait("web dropped m1 just now", "resolvers may hold them one TTL")
	now = now.Add(30*time.Second + drainMargin - time.Millisecond)
	mustWait("a millisecond before TTL and margin", "resolvers may hold them")
	now = now.Add(time.Millisecond)
	if ok, why, _ := l.drained("m1"); !ok {
		t.Fatalf("after the TTL and the margin: %s", why)
	}

	// A subject withdrawn whole (deleted) clears with the TTL it was published with.
	l.published("dns", "FederatedService/a/web", []string{"m0", "m1"}, 60*time.Second, "a", nil)
	l.notDraining("m1")
	l.published("dns", "FederatedService/a/web", nil, 0, "a", nil)
	mustWait("withdrawn with a 60 s TTL", "resolvers may hold them")
	now = now.Add(60*time.Second + drainMargin)
	if ok, why, _ := l.drained("m1"); !ok {
		t.Fatalf("after the 60 s TTL and the margin: %s", why)
	}

	// Nothing pointing at a cluster: no wait; a wait never outlasts drainMaxWait.
	if ok, why, _ := l.drained("m2"); !ok {
		t.Fatalf("a cluster no name ever held: %s", why)
	}
	l.published("dns", "FederatedService/a/web", []string{"m3"}, time.Second, "a", nil)
	mustWaitM3 := func() bool { ok, _, _ := l.drained("m3"); return ok }
	if mustWaitM3() {
		t.Fatal("m3 is in web's records: it must wait")
	}
	now = now.Add(drainMaxWait)
	if !mustWaitM3() {
		t.Fatal("past drainMaxWait the scale-down goes on")
	}
	var nilLedger *drainLedger
	if ok, _, _ := nilLedger.drained("m1"); !ok {
		t.Fatal("without a ledger nothing waits")
	}
}

// TestDrainLedgerForOneWorkload: a workload leaving a cluster makes the names whose selectors
// select its pods drop the cluster (leavingFor), and is clear once those have let go of it;
// names of other pods or namespaces neither drop it nor hold the workload.
func TestDrainLedgerForOneWorkload(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	l := ledgerAt(&now)
	var woken []string
	l.onLeave = func(ns string) { woken = append(woken, ns) }
	web := []labels.Selector{labels.SelectorFromSet(labels.Set{"app": "web"})}
	other := []labels.Selector{labels.SelectorFromSet(labels.Set{"app": "db"})}
	l.register("dns")
	l.started("dns", nil)
	l.published("dns", "FederatedService/a/web", []string{"m0", "m1"}, 10*time.Second, "a", web)
	l.published("dns", "FederatedService/a/db", []string{"m0", "m1"}, 10*time.Second, "a", other)
	l.published("dns", "FederatedService/b/web", []string{"m0", "m1"}, 10*time.Second, "b", web)

	pods := labels.Set{"app": "web", "tier": "front"}
	if l.leavingFor("a", web, "m1") {
		t.Fatal("nothing leaves yet")
	}
	ok, why, _ := l.drainedFor("FederatedDeployment/a/web", "a", pods, "m1")
	if ok || !strings.Contains(why, "FederatedService/a/web") || strings.Contains(why, "db") || strings.Contains(why, "b/web") {
		t.Fatalf("first ask: %v, %q; want a wait on FederatedService/a/web alone", ok, why)
	}
	if !slices.Equal(woken, []string{"a"}) {
		t.Fatalf("woken namespaces: %v, want [a]", woken)
	}
	if !l.leavingFor("a", web, "m1") || l.leavingFor("a", other, "m1") || l.leavingFor("b", web, "m1") || l.leavingFor("a", web, "m0") {
		t.Fatal("leavingFor must hold for the names selecting the pods, in their namespace and cluster only")
	}
	l.published("dns", "FederatedService/a/web", []string{"m0"}, 10*time.Second, "a", web)
	if ok, _, recheck := l.drainedFor("FederatedDeployment/a/web", "a", pods, "m1"); ok || recheck <= 0 {
		t.Fatal("just dropped: must wait one TTL and the margin")
	}
	now = now.Add(10*time.Second + drainMargin)
	if ok, why, _ := l.drainedFor("FederatedDeployment/a/web", "a", pods, "m1"); !ok {
		t.Fatalf("after the TTL and the margin: %s", why)
	}
	woken = nil
	l.stays("FederatedDeployment/a/web", "")
	if l.leavingFor("a", web, "m1") || !slices.Equal(woken, []string{"a"}) {
		t.Fatalf("after stays: leaving %v, woken %v", l.leavingFor("a", web, "m1"), woken)
	}
	// A Service without a selector selects nothing.
	l.drainedFor("FederatedDeployment/a/web", "a", pods, "m1")
	if l.leavingFor("a", []labels.Selector{labels.Nothing()}, "m1") {
		t.Fatal("a selector-less Service has no pods behind it")
	}
}
