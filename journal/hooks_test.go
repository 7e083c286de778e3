package journal

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// putRaw writes value under key directly, synced: the test hook that
// simulates a torn or damaged record.
func (j *Journal) putRaw(t testing.TB, key, value []byte) {
	t.Helper()
	if err := j.db.Set(key, value, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func (j *Journal) countKeys(t testing.TB, lower, upper []byte) int {
	t.Helper()
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

func (j *Journal) countCheckpoints(t testing.TB) int {
	return j.countKeys(t, checkpointLower, checkpointUpper)
}
