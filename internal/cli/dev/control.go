package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kfed-io/kfed/internal/localcluster"
)

// The background process takes requests to stop and start a member's API server through files
// in the federation's folder: control/<member>.request holds "stop" or "start", and the process
// answers in control/<member>.done ("ok" or the error). A stopped API server is a real cluster
// failure; started again it comes back on the same address with the same data.
const (
	controlDir     = "control"
	requestSuffix  = ".request"
	doneSuffix     = ".done"
	controlTimeout = 2 * time.Minute
)

// Actions of APIServer.
const (
	ActionStop  = "stop"
	ActionStart = "start"
)

// APIServer asks the running federation in o.Dir to stop or start member's API server and
// waits until it has.
func APIServer(ctx context.Context, o Options, action, member string, out io.Writer) error {
	if action != ActionStop && action != ActionStart {
		return fmt.Errorf("the action must be %s or %s, not %q", ActionStop, ActionStart, action)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("resolving --dir %s: %w", o.Dir, err)
	}
	if _, ok := running(dir); !ok {
		return fmt.Errorf("no local federation runs in %s: start one with `kfed dev up`", dir)
	}
	known := false
	for _, m := range localcluster.Members {
		known = known || m.Name == member
	}
	if !known || strings.ContainsAny(member, `/\`) {
		return fmt.Errorf("%q is not a member of the local federation", member)
	}
	cdir := filepath.Join(dir, controlDir)
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", cdir, err)
	}
	done := filepath.Join(cdir, member+doneSuffix)
	_ = os.Remove(done)
	if err := os.WriteFile(filepath.Join(cdir, member+requestSuffix), []byte(action), 0o600); err != nil {
		return fmt.Errorf("writing the request: %w", err)
	}
	deadline := time.Now().Add(controlTimeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(done); err == nil { //nolint:gosec // the user's own folder
			_ = os.Remove(done)
			if msg := strings.TrimSpace(string(b)); msg != "ok" {
				return fmt.Errorf("%s the API server of %s: %s", action, member, msg)
			}
			_, _ = fmt.Fprintf(out, "API server of %s: %s done\n", member, action)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the local federation did not %s the API server of %s within %s", action, member, controlTimeout)
}

// serveControl carries out the requests of APIServer until ctx ends.
func serveControl(ctx context.Context, dir string, members []*localcluster.Cluster, out io.Writer) {
	cdir := filepath.Join(dir, controlDir)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		for _, m := range members {
			req := filepath.Join(cdir, m.Name+requestSuffix)
			b, err := os.ReadFile(req) //nolint:gosec // the federation's own folder
			if err != nil {
				continue
			}
			_ = os.Remove(req)
			var result error
			switch action := strings.TrimSpace(string(b)); action {
			case ActionStop:
				result = m.StopAPIServer()
			case ActionStart:
				result = m.StartAPIServer()
			default:
				result = errors.New("unknown action " + action)
			}
			msg := "ok"
			if result != nil {
				msg = result.Error()
			}
			_, _ = fmt.Fprintf(out, "control: %s API server of %s: %s\n", strings.TrimSpace(string(b)), m.Name, msg)
			_ = os.WriteFile(filepath.Join(cdir, m.Name+doneSuffix), []byte(msg+"\n"), 0o600) //nolint:gosec // a member name of localcluster.Members
		}
	}
}
