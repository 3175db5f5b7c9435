package dns

import (
	"fmt"
	"slices"
)

// Diff returns the Changes that turn current into desired: a record set desired and absent is
// created, one present in both with other targets, another TTL or another routing is updated, and one present
// and not desired is deleted. Both sides are compared normalized (see Endpoint.Normalize);
// Labels are not compared, and an update carries the desired Endpoint's labels. Each list is
// sorted by name, type and set identifier, so the same inputs always give the same Changes.
//
// A key that appears twice on one side is an error: a plan or a provider that does that has a bug.
func Diff(desired, current []*Endpoint) (*Changes, error) {
	want, err := byKey("desired", desired)
	if err != nil {
		return nil, err
	}
	have, err := byKey("current", current)
	if err != nil {
		return nil, err
	}
	changes := &Changes{}
	for _, k := range sortedKeys(want) {
		w := want[k]
		h, ok := have[k]
		switch {
		case !ok:
			changes.Create = append(changes.Create, w)
		case !sameRecords(w, h):
			changes.UpdateOld = append(changes.UpdateOld, h)
			changes.UpdateNew = append(changes.UpdateNew, w)
		}
	}
	for _, k := range sortedKeys(have) {
		if _, ok := want[k]; !ok {
			changes.Delete = append(changes.Delete, have[k])
		}
	}
	return changes, nil
}

// sameRecords tells whether two normalized Endpoints of one key publish the same thing: the
// same targets, TTL and routing.
func sameRecords(a, b *Endpoint) bool {
	return a.TTL == b.TTL && slices.Equal(a.Targets, b.Targets) && sameRouting(a.Routing, b.Routing)
}

func sameRouting(a, b *Routing) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func byKey(side string, eps []*Endpoint) (map[Key]*Endpoint, error) {
	out := make(map[Key]*Endpoint, len(eps))
	for _, e := range eps {
		if e == nil {
			return nil, fmt.Errorf("the %s records hold a nil record", side)
		}
		n := e.Normalize()
		if prev, ok := out[n.Key()]; ok {
			return nil, fmt.Errorf("the %s records hold %s twice: %s and %s", side, keyString(n.Key()), prev, n)
		}
		out[n.Key()] = n
	}
	return out, nil
}

func sortedKeys(m map[Key]*Endpoint) []Key {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

func compareKeys(a, b Key) int {
	return compareEndpoints(
		&Endpoint{DNSName: a.DNSName, RecordType: a.RecordType, SetIdentifier: a.SetIdentifier},
		&Endpoint{DNSName: b.DNSName, RecordType: b.RecordType, SetIdentifier: b.SetIdentifier})
}

// keyString is a Key for messages: name, type and set identifier when there is one.
func keyString(k Key) string {
	s := k.DNSName + " " + k.RecordType
	if k.SetIdentifier != "" {
		s += " [" + k.SetIdentifier + "]"
	}
	return s
}
