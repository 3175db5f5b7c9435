package scheduler

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSelectFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	patterns := map[string]func(i, n int) candidate{
		"random": func(i, n int) candidate {
			return candidate{rem: u128{lo: rng.Uint64N(8)}, tie: rng.Uint64(), idx: int32(i)}
		},
		"equal rems": func(i, n int) candidate { return candidate{rem: u128{lo: 3}, tie: rng.Uint64(), idx: int32(i)} },
		"all equal":  func(i, n int) candidate { return candidate{rem: u128{lo: 3}, idx: int32(i)} },
		"ascending":  func(i, n int) candidate { return candidate{rem: u128{lo: uint64(i)}, idx: int32(i)} },
		"descending": func(i, n int) candidate { return candidate{rem: u128{lo: uint64(n - i)}, idx: int32(i)} },
		"organ pipe": func(i, n int) candidate { return candidate{rem: u128{lo: uint64(min(i, n-i))}, idx: int32(i)} },
		"wide rems": func(i, n int) candidate {
			return candidate{rem: u128{hi: rng.Uint64N(3), lo: rng.Uint64()}, idx: int32(i)}
		},
		"equal by tie": func(i, n int) candidate { return candidate{rem: u128{lo: 1}, tie: uint64(i % 7), idx: int32(i)} },
	}
	for name, gen := range patterns {
		for _, n := range []int{1, 2, 17, 100, 1000, 10000} {
			s := make([]candidate, n)
			for i := range s {
				s[i] = gen(i, n)
			}
			sorted := slices.Clone(s)
			slices.SortFunc(sorted, func(a, b candidate) int { return tieBreak(&a, &b) })
			for _, k := range []int{0, 1, n / 3, n / 2, n - 1} {
				got := slices.Clone(s)
				selectFirst(got, k)
				first := got[:k]
				slices.SortFunc(first, func(a, b candidate) int { return tieBreak(&a, &b) })
				if diff := cmp.Diff(sorted[:k], first, cmp.AllowUnexported(candidate{}, u128{})); diff != "" {
					t.Fatalf("%s, n=%d, k=%d: first k mismatch (-want +got):\n%s", name, n, k, diff)
				}
			}
		}
	}
}

func TestDivmod(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	toBig := func(x u128) *big.Int {
		b := new(big.Int).Lsh(new(big.Int).SetUint64(x.hi), 64)
		return b.Or(b, new(big.Int).SetUint64(x.lo))
	}
	for i := range 20000 {
		w := rng.Uint64N(math.MaxInt64) + 1
		r := rng.Uint64N(math.MaxInt64)
		var d u128
		switch i % 3 {
		case 0: // a sum that fits 64 bits
			d = u128{lo: w + rng.Uint64N(math.MaxUint64-w)}
		case 1: // a sum of many large weights
			d = u128{hi: rng.Uint64N(1 << 20), lo: rng.Uint64()}
			if d.hi == 0 && d.lo < w {
				d.lo = w
			}
		case 2: // small values
			w, r = rng.Uint64N(100)+1, rng.Uint64N(1000)
			d = u128{lo: w + rng.Uint64N(100)}
		}
		q, rem := divmod(w, r, d)
		n := new(big.Int).Mul(new(big.Int).SetUint64(w), new(big.Int).SetUint64(r))
		wq, wr := new(big.Int).QuoRem(n, toBig(d), new(big.Int))
		if wq.Cmp(new(big.Int).SetUint64(q)) != 0 || wr.Cmp(toBig(rem)) != 0 {
			t.Fatalf("divmod(%d, %d, %v) = %d, %v; want %v, %v", w, r, d, q, rem, wq, wr)
		}
	}
}

// TestScheduleMatchesReference checks large plans against a naive
// largest-remainder apportionment written independently: floors by
// math/big, remainders sorted with tieOrder.
func TestScheduleMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct{ n, maxWeight int }{{1000, 1}, {1000, 7}, {3000, 1000}, {17, 3}} {
		for _, total := range []int64{1, 10, 10_007, 999_999_937} {
			t.Run(fmt.Sprintf("n=%d/weights<=%d/total=%d", tc.n, tc.maxWeight, total), func(t *testing.T) {
				in := Input{Key: "ns/ref", Total: total, Rebalance: true, Preferences: map[string]Preference{}}
				names := make([]string, tc.n)
				weightOf := map[string]int64{}
				var sum int64
				for i := range names {
					names[i] = fmt.Sprintf("m-%d", rng.Uint32())
					w := int64(1 + rng.IntN(tc.maxWeight))
					if _, dup := weightOf[names[i]]; dup {
						names[i] += "x"
					}
					weightOf[names[i]] = w
					sum += w
					in.Preferences[names[i]] = Preference{Weight: w}
					in.Clusters = append(in.Clusters, member(names[i]))
				}
				want := map[string]int64{}
				rems := map[string]*big.Int{}
				var placed int64
				for _, name := range names {
					n := new(big.Int).Mul(big.NewInt(weightOf[name]), big.NewInt(total))
					q, r := new(big.Int).QuoRem(n, big.NewInt(sum), new(big.Int))
					want[name] = q.Int64()
					rems[name] = r
					placed += q.Int64()
				}
				order := tieOrder(in.Key, names...) // hash order, then name
				slices.SortStableFunc(order, func(a, b string) int { return rems[b].Cmp(rems[a]) })
				for _, name := range order[:total-placed] {
					want[name]++
				}
				got, err := Schedule(in)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, counts(got)); diff != "" {
					t.Errorf("Schedule() mismatch with the reference (-want +got):\n%s", diff)
				}
			})
		}
	}
}
