package snapshots

// Config bounds the memory of Totals. The zero value is ready to use.
type Config struct {
	// MaxKeys is how many distinct event types, and separately how many
	// distinct sources, are tracked individually. Later ones are folded into
	// the "(other)" entry and still counted in every total.
	// Zero means 10,000.
	MaxKeys int
	// MaxUsers is how many distinct users get an individual event count (for
	// topUsers). Later users still count in summary.uniqueUsers (estimated)
	// and every total, but cannot enter the top list.
	// Zero means 200,000.
	MaxUsers int
}

// Defaults for the zero Config.
const (
	DefaultMaxKeys  = 10_000
	DefaultMaxUsers = 200_000
)

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.MaxUsers <= 0 {
		c.MaxUsers = DefaultMaxUsers
	}
	return c
}

// OtherKey names the entry into which types and sources beyond the caps
// (Config.MaxKeys in memory, the 100 largest in a snapshot) are folded.
const OtherKey = "(other)"

// Snapshot caps from metrics.md.
const (
	snapshotMaxKeys = 100 // eventsByType / eventsBySource entries besides "(other)"
	topListSize     = 10  // errorsByType, errorsBySource, topUsers, mostFrequent
	rankListSize    = 5   // fastest, slowest
)
