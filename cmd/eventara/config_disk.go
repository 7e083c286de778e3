package main

import (
	"fmt"

	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/telemetry"
)

// diskConfig is the disk flag group: the free-space floor of --data-dir.
type diskConfig struct {
	FreeLimit journal.DiskLimit
}

func init() { extraFlags = append(extraFlags, registerDiskFlags) }

func registerDiskFlags(fs *flagSet, c *config) {
	const name = "disk-free-limit"
	fs.TextVar(&c.Disk.FreeLimit, name, journal.DefaultDiskFreeLimit, fmt.Sprintf(
		"free space of --data-dir's file system below which ingestion is refused with 503 and health is DOWN: "+
			"a `size` (512MiB, 1GB), a percentage of the file system (5%%), or 0/off for none. "+
			"The default leaves pebble room, once ingestion stops, to flush its memtables (up to 4 × 32 MiB), "+
			"start a WAL (~35 MiB) and finish a compaction. Ingestion resumes by itself at the limit plus "+
			"min(64 MiB, max(limit/2, 1%% of the file system)); an emergency ballast of that size in --data-dir "+
			"absorbs a disk filled between two checks (env %s)", envName(name)))
}

// journalConfig adds the disk settings to jc.
func (d diskConfig) journalConfig(jc journal.Config) journal.Config {
	jc.DiskFreeLimit = d.FreeLimit
	return jc
}

// diskUsage reads j's free-space guard for /metrics.
func diskUsage(j *journal.Journal) telemetry.DiskUsage {
	return func() (uint64, uint64, bool) {
		s := j.DiskStatus()
		return s.FreeBytes, s.LimitBytes, !s.CheckedAt.IsZero()
	}
}
