package journal

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBallastOccupiesItsBlocks: the ballast really holds its space (a
// sparse file would free nothing when deleted), replaces a half-written
// one, and removing it twice is fine.
func TestBallastOccupiesItsBlocks(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), ballastName)
	if err := os.WriteFile(path+".tmp", []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	const size = 8 << 20
	if err := createBallast(path, size); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != size {
		t.Fatalf("ballast: %v, %v", fi, err)
	}
	if alloc, ok := allocatedBytes(fi); ok && alloc < size {
		t.Fatalf("ballast of %d bytes occupies %d: sparse", size, alloc)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
	if ok, err := ballastPresent(path); !ok || err != nil {
		t.Fatalf("ballastPresent = %v, %v", ok, err)
	}
	for range 2 {
		if err := removeBallast(path); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := ballastPresent(path); ok || err != nil {
		t.Fatalf("ballastPresent after removal = %v, %v", ok, err)
	}
}
