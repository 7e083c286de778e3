package snapshots

import "slices"

// rankItem is a key being ranked: a higher score ranks first, ties by name.
type rankItem struct {
	score float64
	name  string
	s     *keyStats
}

func (a *rankItem) better(b *rankItem) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.name < b.name
}

// topN keeps the n best items offered in a bounded heap whose root is the
// worst kept item: most offers are rejected by one comparison with the root,
// the rest cost O(log n), so picking the 100 largest of 10,000 keys is cheap
// per tick.
type topN struct {
	n int
	h []rankItem
}

func newTopN(n int) *topN { return &topN{n: n, h: make([]rankItem, 0, n)} }

func (t *topN) offer(score float64, name string, s *keyStats) {
	if len(t.h) == t.n {
		// Inline reject: not better than the worst kept.
		if r := &t.h[0]; score < r.score || (score == r.score && name >= r.name) {
			return
		}
	}
	x := rankItem{score, name, s}
	if len(t.h) < t.n {
		t.h = append(t.h, x)
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.h[p].better(&t.h[i]) {
				break
			}
			t.h[p], t.h[i] = t.h[i], t.h[p]
			i = p
		}
		return
	}
	t.h[0] = x
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(t.h) {
			break
		}
		if r := c + 1; r < len(t.h) && t.h[c].better(&t.h[r]) {
			c = r // the worse child
		}
		if !t.h[i].better(&t.h[c]) {
			break
		}
		t.h[i], t.h[c] = t.h[c], t.h[i]
		i = c
	}
}

// sorted returns the kept items, best first.
func (t *topN) sorted() []rankItem {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b rankItem) int {
		switch {
		case a.better(&b):
			return -1
		case b.better(&a):
			return 1
		}
		return 0
	})
	return out
}
