package journal

import (
	"fmt"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

func TestZZMetrics(t *testing.T) {
	j, _ := Open(Config{Dir: t.TempDir()})
	defer j.Close()
	g := event.NewGenerator()
	recs := benchRecords(g, 1000)
	start := time.Now()
	for i := 0; i < 1000; i++ {
		restamp(g, recs)
		if err := j.Append(recs); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println(time.Since(start))
	fmt.Println(j.db.Metrics().String())
}
