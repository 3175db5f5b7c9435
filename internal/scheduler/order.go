package scheduler

import (
	"encoding/binary"
	"slices"
	"strings"
)

// keyedName is a cluster's input index with an 8-byte sort key.
type keyedName struct {
	key uint64
	idx int32
}

// nameOrder returns the indices of clusters in ascending order of name.
//
// Cluster names tend to share a prefix ("member-0001", "member-0002", ...),
// which makes comparison sorts spend their time comparing equal bytes. So
// nameOrder takes, after the prefix that all names share, the next 8 bytes as
// a big-endian key (short names padded with zero bytes), sorts the keys with
// an LSD radix sort over the key bytes that differ at all, and orders runs of
// equal keys by the whole name. A smaller key means a smaller name, since the
// keys are the names' bytes in order (padding sorts a name before the names
// it is a prefix of), so the result is the plain string order.
//
// buf is its working memory, 2*len(clusters) long; the result is part of it.
func nameOrder(clusters []Cluster, buf []keyedName) []keyedName {
	n := len(clusters)
	out, tmp := buf[:n], buf[n:2*n]
	if n == 0 {
		return out
	}
	prefix := clusters[0].Name
	for i := 1; i < n && prefix != ""; i++ {
		for !strings.HasPrefix(clusters[i].Name, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	p := len(prefix)
	var differ uint64
	for i := range clusters {
		var b [8]byte
		copy(b[:], clusters[i].Name[p:])
		k := binary.BigEndian.Uint64(b[:])
		out[i] = keyedName{key: k, idx: int32(i)}
		differ |= k ^ out[0].key
	}

	var count [256]int32
	for shift := 0; shift < 64; shift += 8 {
		if (differ>>shift)&0xff == 0 {
			continue // every key has the same byte here
		}
		clear(count[:])
		for _, e := range out {
			count[byte(e.key>>shift)]++
		}
		var sum int32
		for b, c := range count {
			count[b] = sum
			sum += c
		}
		for _, e := range out {
			b := byte(e.key >> shift)
			tmp[count[b]] = e
			count[b]++
		}
		out, tmp = tmp, out
	}

	for i := 0; i < n; {
		j := i + 1
		for j < n && out[j].key == out[i].key {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(out[i:j], func(a, b keyedName) int {
				return strings.Compare(clusters[a.idx].Name, clusters[b.idx].Name)
			})
		}
		i = j
	}
	return out
}
