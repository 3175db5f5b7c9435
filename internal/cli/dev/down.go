package dev

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Down stops the federation in dir: it asks the background process to stop everything, waits,
// then makes sure no process under dir is left.
func Down(dir string, out io.Writer) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolving --dir: %w", err)
	}
	pid, ok := running(dir)
	left := ProcessesUnder(dir)
	if !ok && len(left) == 0 {
		_ = os.Remove(filepath.Join(dir, pidFile))
		return fmt.Errorf("no local federation runs in %s", dir)
	}
	if ok {
		_, _ = fmt.Fprintf(out, "Stopping the local federation in %s (process %d)\n", dir, pid)
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return fmt.Errorf("stopping process %d: %w", pid, err)
		}
		deadline := time.Now().Add(time.Minute)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	// Whatever is left under dir (a background process that was killed) goes too.
	if left = reap(dir); len(left) > 0 {
		return fmt.Errorf("processes left under %s: %s", dir, strings.Join(left, "; "))
	}
	for _, f := range []string{pidFile, readyFile} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	_, _ = fmt.Fprintf(out, "Local federation in %s stopped; no process is left\n", dir)
	return nil
}

// reap kills every process under dir and returns those still there after 5 s.
func reap(dir string) []string {
	var left []string
	for range 50 {
		if left = ProcessesUnder(dir); len(left) == 0 {
			break
		}
		for _, p := range left {
			if id, err := strconv.Atoi(strings.SplitN(p, ":", 2)[0]); err == nil {
				_ = syscall.Kill(id, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return left
}
