// Command perf measures how fast kfed propagates objects to its members, next to the floor: a
// plain client-go program writing the same objects straight into the same members.
//
// It starts a host and -members members (real API servers, see test/framework), joins them,
// runs the kfed manager in this process and times federated objects (half ConfigMaps, half
// Deployments) from their creation in the host to their copies being seen in every member,
// through watches on the members. Then, on the same members, the floor writes the same native
// objects directly, timed by the same watches. Each side runs two phases: single, -single
// objects with one in flight (the next is created when the last reached every member), for
// latency; and burst, -objects objects created -concurrency at a time, for throughput. It prints
// p50/p99 latency, throughput in object×cluster writes per second, kfed's writes per object, and
// the ratios to the floors, with kfed's reconciles and API requests per object.
//
// Both sides write to members through controller-runtime clients with the same client-side
// rate limit (member.DefaultQPS and member.DefaultBurst, kfed's), and to the host without one;
// the report prints the limits and how many objects each side has in flight.
//
// A third run, the federation floor, is the floor plus the calls a federation cannot do without,
// made by the same plain client-go program: each object is also created in the host, gets its
// finalizer and one status write there. Where the host, the members and the operator share a
// machine's CPU, it is the most any federation can reach there. These are figures, not a
// pass/fail test: `make bench` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	uberzap "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/test/framework"
)

const operatorNamespace = "kfed-system"

type config struct {
	members     int
	single      int
	objects     int
	concurrency int
	timeout     time.Duration
	cpuprofile  string
}

func main() {
	var c config
	flag.IntVar(&c.members, "members", 3, fmt.Sprintf("member clusters to start (1 to %d)", len(framework.Members)))
	flag.IntVar(&c.single, "single", 60, "objects of the single phase, created one at a time, each once the last reached every member (0 skips it)")
	flag.IntVar(&c.objects, "objects", 500, "objects of the burst phase, half ConfigMaps and half Deployments (0 skips it)")
	flag.IntVar(&c.concurrency, "concurrency", 16, "objects the burst phase creates in parallel, by kfed's user and by the floors alike")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up when a run has not converged by then")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of this process (the kfed manager runs in it) during kfed's burst phase")
	flag.Parse()
	if c.members < 1 || c.members > len(framework.Members) || c.objects == 1 || c.single == 1 || c.objects+c.single == 0 ||
		c.objects < 0 || c.single < 0 || c.concurrency < 1 {
		fmt.Fprintf(os.Stderr, "perf: -members must be 1 to %d, -single and -objects 0 or at least 2 (not both 0), -concurrency at least 1\n",
			len(framework.Members))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) (retErr error) {
	// Errors only; nothing once the figures are in (stopping cancels reconciles in flight).
	level := uberzap.NewAtomicLevelAt(zapcore.ErrorLevel)
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(level)))
	fmt.Printf("Starting a host and %d members (real API servers)...\n", c.members)
	fed, err := framework.Start(ctx, framework.Options{Members: c.members})
	if err != nil {
		return fmt.Errorf("starting the clusters: %w", err)
	}
	defer func() { retErr = errors.Join(retErr, fed.Stop()) }()

	mgr, err := framework.StartManager(ctx, fed.Host, controllers.Options{Namespace: operatorNamespace})
	if err != nil {
		return fmt.Errorf("starting the kfed manager: %w", err)
	}
	defer func() { retErr = errors.Join(retErr, mgr.Stop()) }()
	defer level.SetLevel(zapcore.FatalLevel) // runs before the manager stops
	if err := joinAll(ctx, fed, mgr); err != nil {
		return err
	}

	w, err := watchMembers(ctx, fed.Members)
	if err != nil {
		return err
	}
	phases := c.phases()
	runs := make([]phaseRuns, len(phases))
	for i, ph := range phases {
		if runs[i].kfed, err = runKfed(ctx, ph, c, fed, w); err != nil {
			return err
		}
	}
	// The floors run without kfed: it would take the federation floor's objects for its own.
	level.SetLevel(zapcore.FatalLevel) // stopping cancels reconciles in flight
	if err := mgr.Stop(); err != nil {
		return err
	}
	for i, ph := range phases {
		if runs[i].floor, err = runFloor(ctx, ph, c, fed, w, false); err != nil {
			return err
		}
		if runs[i].fedFloor, err = runFloor(ctx, ph, c, fed, w, true); err != nil {
			return err
		}
	}
	report(os.Stdout, c, phases, runs)
	return nil
}

// phase is one way of feeding objects in: one at a time, or a burst.
type phase struct {
	name string
	// objects to create, inFlight at a time.
	objects, inFlight int
	// waitEach waits for each object to reach every member before the next is created.
	waitEach bool
}

func (c config) phases() []phase {
	var out []phase
	if c.single > 0 {
		out = append(out, phase{name: "single", objects: c.single, inFlight: 1, waitEach: true})
	}
	if c.objects > 0 {
		out = append(out, phase{name: "burst", objects: c.objects, inFlight: c.concurrency})
	}
	return out
}

// phaseRuns are the three sides' results of one phase.
type phaseRuns struct {
	kfed, floor, fedFloor result
}
