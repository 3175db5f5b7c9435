package scheduler

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"slices"
)

// unbounded is the room of a cluster without a cap. Counts are non-negative
// int64 values, so every real count is smaller.
const unbounded = math.MaxUint64

// u128 is an unsigned 128-bit integer. Sums of weights and remainders of
// weight*amount/sum need it: n weights of up to 2^63-1 overflow 64 bits.
type u128 struct{ hi, lo uint64 }

func (a u128) add64(b uint64) u128 {
	lo, carry := bits.Add64(a.lo, b, 0)
	return u128{hi: a.hi + carry, lo: lo}
}

func (a u128) sub64(b uint64) u128 {
	lo, borrow := bits.Sub64(a.lo, b, 0)
	return u128{hi: a.hi - borrow, lo: lo}
}

func (a u128) isZero() bool { return a.hi == 0 && a.lo == 0 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi: hi, lo: lo}
}

// divmod returns the quotient and remainder of w*r/d. It requires 0 < w <= d,
// which keeps the quotient at most r.
func divmod(w, r uint64, d u128) (uint64, u128) {
	hi, lo := bits.Mul64(w, r)
	if d.hi == 0 {
		if hi == 0 {
			return lo / d.lo, u128{lo: lo % d.lo}
		}
		q, rem := bits.Div64(hi, lo, d.lo) // hi < d.lo because w <= d.
		return q, u128{lo: rem}
	}
	// The sum of weights passed 2^64: exact but slow, and only reachable with
	// weights no one sets in practice.
	n := new(big.Int).Lsh(new(big.Int).SetUint64(hi), 64)
	n.Or(n, new(big.Int).SetUint64(lo))
	dd := new(big.Int).Lsh(new(big.Int).SetUint64(d.hi), 64)
	dd.Or(dd, new(big.Int).SetUint64(d.lo))
	q, rem := n.QuoRem(n, dd, new(big.Int))
	var buf [16]byte
	rem.FillBytes(buf[:])
	return q.Uint64(), u128{hi: binary.BigEndian.Uint64(buf[:8]), lo: binary.BigEndian.Uint64(buf[8:])}
}

// satAdd adds without wrapping around: the sum sticks at the largest uint64.
func satAdd(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}

// FNV-1a, 64 bit.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// mix64 is the MurmurHash3 64-bit finalizer. FNV-1a alone orders names that
// differ only in their last byte almost by that byte ("c-1" < "c-2" for most
// keys); mixing the bits spreads them.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// share is one cluster's part in a fill. fill adds what the share gets to
// the cluster's got.
type share struct {
	weight uint64 // > 0
	room   uint64 // > 0; unbounded when not capped
	idx    int32  // index of the cluster in run.clusters (name order)
	capped bool   // set by fill: the room stopped the share from growing
}

// candidate is a share that may get one more replica when rounding.
type candidate struct {
	rem u128   // remainder of weight*amount over the weight sum, > 0
	tie uint64 // mix64(FNV-1a(key + "/" + name))
	idx int32
}

// fill splits amount over shares in proportion to their weights, no share
// getting more than its room (water-filling), adds each share to its
// cluster's got, and returns how much it placed: min(amount, sum of rooms).
// Shares whose room stops them are set aside one by one, in the order of
// room/weight, and the rest is shared again; because the rest's level only
// rises as shares are set aside, one pass over the shares sorted by
// room/weight finds them all. The uncapped shares get the floor of their
// quota, and the replicas left over (fewer than the shares) go one each to
// the largest remainders, ties broken by tieBreak.
func (r *run) fill(shares []share, amount uint64) uint64 {
	if amount == 0 || len(shares) == 0 {
		return 0
	}
	var sum u128
	var rooms uint64
	for i := range shares {
		sum = sum.add64(shares[i].weight)
		rooms = satAdd(rooms, shares[i].room)
	}
	if rooms <= amount {
		// Every share gets its room. When the rooms add up to the amount
		// exactly, the level all shares would reach is the largest
		// room/weight, so only shares with a smaller one wanted more.
		var top share // the largest room/weight
		for i := range shares {
			if i == 0 || byRoomPerWeight(shares[i], top) > 0 {
				top = shares[i]
			}
		}
		for i := range shares {
			s := &shares[i]
			s.capped = rooms < amount || mul64(s.room, top.weight).cmp(mul64(top.room, s.weight)) < 0
			r.clusters[s.idx].got += s.room
		}
		return rooms
	}

	// Shares whose room is at least the amount can never be stopped by it;
	// only the others can. The first to be stopped would be the one with the
	// smallest room/weight: when even it is not, nothing needs sorting.
	n := 0
	for i := range shares {
		if shares[i].room < amount {
			shares[i], shares[n] = shares[n], shares[i]
			if byRoomPerWeight(shares[n], shares[0]) < 0 {
				shares[n], shares[0] = shares[0], shares[n]
			}
			n++
		}
	}
	if n > 0 {
		if q, _ := divmod(shares[0].weight, amount, sum); q < shares[0].room {
			n = 0
		}
	}
	slices.SortFunc(shares[:n], byRoomPerWeight)

	left := amount
	done := 0
	for ; done < n; done++ {
		s := &shares[done]
		q, rem := divmod(s.weight, left, sum)
		if q < s.room {
			break
		}
		s.capped = q > s.room || !rem.isZero()
		r.clusters[s.idx].got += s.room
		left -= s.room
		sum = sum.sub64(s.weight)
	}
	rest := shares[done:]
	if len(rest) == 0 {
		return amount - left
	}

	// Shares with equal weights have equal quotas: divide once per run of
	// them. Count the remainders; most plans of equal weights have none.
	var lastW, lastQ uint64
	var lastRem u128
	var given uint64
	remainders := 0
	for i := range rest {
		s := &rest[i]
		if s.weight != lastW {
			lastW = s.weight
			lastQ, lastRem = divmod(s.weight, left, sum)
		}
		r.clusters[s.idx].got += lastQ
		given += lastQ
		if !lastRem.isZero() {
			remainders++
		}
	}
	if extra := left - given; extra > 0 {
		r.roundUp(rest, left, sum, remainders, int(extra))
	}
	return amount
}

// byRoomPerWeight orders shares by room/weight, the level at which each is
// capped, smallest first.
func byRoomPerWeight(a, b share) int {
	if c := mul64(a.room, b.weight).cmp(mul64(b.room, a.weight)); c != 0 {
		return c
	}
	return cmp.Compare(a.idx, b.idx)
}

// roundUp gives one more to the extra shares with the largest remainders of
// weight*left/sum, ties broken by tieBreak. extra is smaller than the number
// of shares with a non-zero remainder, since it is the sum of their
// fractional parts.
func (r *run) roundUp(shares []share, left uint64, sum u128, remainders, extra int) {
	r.candidates = grow(r.candidates, remainders)[:0]
	candidates := r.candidates
	var lastW uint64
	var lastRem u128
	for i := range shares {
		s := &shares[i]
		if s.weight != lastW {
			lastW = s.weight
			_, lastRem = divmod(s.weight, left, sum)
		}
		if !lastRem.isZero() {
			candidates = append(candidates, candidate{rem: lastRem, idx: s.idx})
		}
	}
	r.candidates = candidates // keep what append grew
	for i := range candidates {
		candidates[i].tie = mix64(fnvAdd(r.keyHash, r.name(int(candidates[i].idx))))
	}
	selectFirst(candidates, extra)
	for _, c := range candidates[:extra] {
		r.clusters[c.idx].got++
	}
}

// tieBreak orders candidates for rounding up: larger remainder first, then the
// smaller mix64(FNV-1a(key + "/" + cluster name)), then the smaller name
// (indices follow name order). It is a total order, so the set of the first k
// shares does not depend on how they are found.
func tieBreak(a, b *candidate) int {
	if c := b.rem.cmp(a.rem); c != 0 {
		return c
	}
	if c := cmp.Compare(a.tie, b.tie); c != 0 {
		return c
	}
	return cmp.Compare(a.idx, b.idx)
}

// selectFirst reorders s so that its first k elements are the k smallest in
// tieBreak order (quickselect, expected O(len(s))). When partitioning goes
// badly for too long it sorts what is left, which bounds the worst case at
// O(n log n).
func selectFirst(s []candidate, k int) {
	lo, hi := 0, len(s) // the k-th smallest lies in s[lo:hi]
	budget := 2 * bits.Len(uint(len(s)))
	for hi-lo > 16 {
		if budget == 0 {
			slices.SortFunc(s[lo:hi], func(a, b candidate) int { return tieBreak(&a, &b) })
			return
		}
		budget--
		p := partition(s[lo:hi]) + lo
		switch {
		case p == k || p+1 == k:
			return
		case p > k:
			hi = p
		default:
			lo = p + 1
		}
	}
	// Insertion sort of a short range.
	for i := lo + 1; i < hi; i++ {
		for j := i; j > lo && tieBreak(&s[j], &s[j-1]) < 0; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// partition moves the median of the first, middle and last shares into its
// sorted place: everything before it is smaller and everything after is
// larger. It returns its index.
func partition(s []candidate) int {
	last := len(s) - 1
	mid := last / 2
	if tieBreak(&s[mid], &s[0]) < 0 {
		s[mid], s[0] = s[0], s[mid]
	}
	if tieBreak(&s[last], &s[0]) < 0 {
		s[last], s[0] = s[0], s[last]
	}
	if tieBreak(&s[last], &s[mid]) < 0 {
		s[last], s[mid] = s[mid], s[last]
	}
	s[mid], s[last] = s[last], s[mid] // the pivot waits at the end
	pivot := &s[last]
	store := 0
	for i := range last {
		if tieBreak(&s[i], pivot) < 0 {
			s[i], s[store] = s[store], s[i]
			store++
		}
	}
	s[store], s[last] = s[last], s[store]
	return store
}
