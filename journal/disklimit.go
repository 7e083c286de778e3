package journal

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DiskLimit is the free-space floor of the data directory's file system:
// an absolute size, or a percentage of the file system's size (resolved at
// every check, so a grown volume moves it). Its zero value means
// DefaultDiskFreeLimit; Off turns the floor off.
type DiskLimit struct {
	// Bytes is the floor in bytes, when Percent is zero.
	Bytes uint64
	// Percent is the floor as a percentage (0 < Percent < 100) of the file
	// system's total size.
	Percent float64
	// Off disables the floor: writes go on until the disk really runs out,
	// and then only the emergency ballast stands between pebble and ENOSPC
	// (see disk.go).
	Off bool
}

// DefaultDiskFreeLimit is the floor when none is configured: 512 MiB. Once
// ingestion stops at the floor, pebble still needs room of its own, and a
// refused write is much cheaper than a failed one: the memtables waiting
// to be flushed (at most 4 × 32 MiB, the stop-writes threshold, written as
// L0 tables of up to 128 MiB), a new WAL (preallocated to 110 % of a
// memtable, ~35 MiB) and one L0 compaction, whose outputs exist before its
// inputs are deleted (pebble caps an expanded compaction at half the free
// space, but a base one is the size of L0 plus what it overlaps, a few
// hundred MiB). 512 MiB covers that with room for the MANIFEST; the
// 64 MiB emergency ballast comes on top.
var DefaultDiskFreeLimit = DiskLimit{Bytes: 512 << 20}

// resolve returns the floor in bytes for a file system of total bytes.
func (l DiskLimit) resolve(total uint64) uint64 {
	switch {
	case l.Off:
		return 0
	case l.Percent > 0:
		return uint64(float64(total) * l.Percent / 100)
	case l.Bytes > 0:
		return l.Bytes
	default:
		return DefaultDiskFreeLimit.Bytes
	}
}

// sizeUnits are the suffixes ParseDiskLimit accepts, lower-cased.
var sizeUnits = map[string]uint64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseDiskLimit reads a size ("256MiB", "1GB", "1.5GiB", "1048576": bytes;
// units B, KB, MB, GB, TB in powers of 1000 and KiB, MiB, GiB, TiB in powers
// of 1024, any case), a percentage of the file system ("5%"), or "0"/"off"
// (no floor).
func ParseDiskLimit(s string) (DiskLimit, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	if in == "off" {
		return DiskLimit{Off: true}, nil
	}
	if num, ok := strings.CutSuffix(in, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(p) || p < 0 || p >= 100 {
			return DiskLimit{}, fmt.Errorf("disk limit %q: a percentage must be from 0 to below 100", s)
		}
		if p == 0 {
			return DiskLimit{Off: true}, nil
		}
		return DiskLimit{Percent: p}, nil
	}
	i := strings.IndexFunc(in, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(in)
	}
	num, unit := in[:i], strings.TrimSpace(in[i:])
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return DiskLimit{}, fmt.Errorf("disk limit %q: want a size like 512MiB or 1GB, a percentage like 5%%, or off", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v*float64(mult) >= math.MaxUint64/2 {
		return DiskLimit{}, fmt.Errorf("disk limit %q: want a size like 512MiB or 1GB, a percentage like 5%%, or off", s)
	}
	b := uint64(v * float64(mult))
	if b == 0 {
		return DiskLimit{Off: true}, nil
	}
	return DiskLimit{Bytes: b}, nil
}

// String formats l as ParseDiskLimit reads it; the zero value formats as
// the default.
func (l DiskLimit) String() string {
	switch {
	case l.Off:
		return "off"
	case l.Percent > 0:
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	case l.Bytes == 0:
		return DefaultDiskFreeLimit.String()
	}
	for _, u := range []struct {
		name string
		size uint64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if l.Bytes%u.size == 0 {
			return strconv.FormatUint(l.Bytes/u.size, 10) + u.name
		}
	}
	return strconv.FormatUint(l.Bytes, 10) + "B"
}

// MarshalText makes DiskLimit a flag.TextVar and a config value.
func (l DiskLimit) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText parses text with ParseDiskLimit.
func (l *DiskLimit) UnmarshalText(text []byte) error {
	v, err := ParseDiskLimit(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
