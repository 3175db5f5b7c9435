// Package cloudapitest holds what the fakes of the cloud DNS APIs and their tests share: a
// queue of injected faults, a logger that keeps what it logs, and a URL nothing listens on.
package cloudapitest

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// Fault is an answer a fake gives instead of the real one to the next Count requests of Op
// ("" for any operation); Kind is one of the fake's fault kinds.
type Fault struct {
	Op    string
	Kind  string
	Count int
}

// Faults is a queue of Faults, used in the order queued. It is safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	faults []*Fault
}

// Inject queues a fault.
func (q *Faults) Inject(f Fault) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.faults = append(q.faults, &f)
}

// Take returns the kind of the first fault for op and uses it up once, or "" when none is queued.
func (q *Faults) Take(op string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.faults {
		if f.Op == "" || f.Op == op {
			f.Count--
			if f.Count <= 0 {
				q.faults = slices.Delete(q.faults, i, i+1)
			}
			return f.Kind
		}
	}
	return ""
}

// Logs is a logger at every verbosity that keeps its lines.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Logger returns a logger writing into l.
func (l *Logs) Logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		fmt.Fprintln(&l.buf, prefix, args)
	}, funcr.Options{Verbosity: 10})
}

// String returns every line logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// ClosedURL returns an http:// URL of a local port that was just closed: connections to it
// are refused.
func ClosedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return u
}
