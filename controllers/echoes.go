package controllers

import (
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// echoes tell the watch events of kfed's own member writes from the other changes of a copy, so
// that a write does not wake its object once more: the reconcile that wrote it has reported it.
// A copy's event may come before the write's answer, so the events heard while a write is in
// flight are held until it answers: the one at the resourceVersion the write answered with is
// its echo; any other wakes the object.
type echoes struct {
	mu     sync.Mutex
	copies map[string]*copyWrites // "<origin namespace>/<origin name>/<cluster>"
}

// copyWrites is what is known of kfed's writes to one copy.
type copyWrites struct {
	inFlight int
	heard    []string // resourceVersions of the events heard while writes were in flight
	written  string   // the resourceVersion of kfed's last write, until its echo is heard
}

func echoKey(origin types.NamespacedName, cluster string) string {
	return origin.Namespace + "/" + origin.Name + "/" + cluster
}

// writing marks a write of the copy in flight; done must follow it.
func (e *echoes) writing(origin types.NamespacedName, cluster string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.copies == nil {
		e.copies = map[string]*copyWrites{}
	}
	k := echoKey(origin, cluster)
	c := e.copies[k]
	if c == nil {
		c = &copyWrites{}
		e.copies[k] = c
	}
	c.inFlight++
}

// done ends a write begun with writing; rv is the resourceVersion it answered with ("" when it
// failed or wrote nothing). It returns whether an event heard meanwhile was not this write's
// echo, so that the object must be woken.
func (e *echoes) done(origin types.NamespacedName, cluster, rv string) (wake bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := echoKey(origin, cluster)
	c := e.copies[k]
	if c == nil {
		return false
	}
	c.inFlight--
	echoed := false
	for _, h := range c.heard {
		if h == rv && rv != "" {
			echoed = true
		} else {
			wake = true
		}
	}
	c.heard = nil
	if rv != "" && !echoed {
		c.written = rv
	}
	if c.inFlight == 0 && c.written == "" {
		delete(e.copies, k)
	}
	return wake
}

// heard says whether an event of the copy at resourceVersion rv wakes its object now: not when
// it is the echo of kfed's last write, nor while a write is in flight (done decides then).
func (e *echoes) heard(origin types.NamespacedName, cluster, rv string) (wake bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := echoKey(origin, cluster)
	c := e.copies[k]
	switch {
	case c == nil:
		return true
	case c.inFlight > 0:
		c.heard = append(c.heard, rv)
		return false
	case c.written == rv:
		delete(e.copies, k)
		return false
	default:
		delete(e.copies, k)
		return true
	}
}

// forget drops what is known of an object's copies.
func (e *echoes) forget(origin types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	prefix := origin.Namespace + "/" + origin.Name + "/"
	for k := range e.copies {
		if strings.HasPrefix(k, prefix) {
			delete(e.copies, k)
		}
	}
}
