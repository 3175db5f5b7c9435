package controllers

import (
	"strings"
	"testing"
	"time"
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
	l.published("dns", "FederatedService/a/web", []string{"m0", "m1"}, 30*time.Second)
	mustWait("one subject not yet published", "publish every name once")
	l.published("dns", "FederatedService/a/api", nil, 0)
	mustWait("m1 still in web's records", "out of the DNS answers of FederatedService/a/web")

	now = now.Add(time.Second)
	l.published("dns", "FederatedService/a/web", []string{"m0"}, 30*time.Second)
	mustWait("web dropped m1 just now", "resolvers may hold them one TTL")
	now = now.Add(30*time.Second + drainMargin - time.Millisecond)
	mustWait("a millisecond before TTL and margin", "resolvers may hold them")
	now = now.Add(time.Millisecond)
	if ok, why, _ := l.drained("m1"); !ok {
		t.Fatalf("after the TTL and the margin: %s", why)
	}

	// A subject withdrawn whole (deleted) clears with the TTL it was published with.
	l.published("dns", "FederatedService/a/web", []string{"m0", "m1"}, 60*time.Second)
	l.notDraining("m1")
	l.published("dns", "FederatedService/a/web", nil, 0)
	mustWait("withdrawn with a 60 s TTL", "resolvers may hold them")
	now = now.Add(60*time.Second + drainMargin)
	if ok, why, _ := l.drained("m1"); !ok {
		t.Fatalf("after the 60 s TTL and the margin: %s", why)
	}

	// Nothing pointing at a cluster: no wait; a wait never outlasts drainMaxWait.
	if ok, why, _ := l.drained("m2"); !ok {
		t.Fatalf("a cluster no name ever held: %s", why)
	}
	l.published("dns", "FederatedService/a/web", []string{"m3"}, time.Second)
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
