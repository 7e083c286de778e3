package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// importCommand is the name of the subcommand that copies a single node's
// journal into a cluster (`eventara import`).
const importCommand = "import"

// importConfig is what `eventara import` is asked for.
type importConfig struct {
	from, natsURL string
	batch         int
	timeout       time.Duration
}

func parseImportConfig(args []string, getenv func(string) string, out io.Writer) (*importConfig, error) {
	c := &importConfig{}
	fs := flag.NewFlagSet("eventara import", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.from, "from", "", "the single node's data directory (its --data-dir) to import; the node must be stopped")
	fs.StringVar(&c.natsURL, "nats-url", getenv("EVENTARA_NATS_URL"), "a cluster node's NATS client `URL` (its --nats-listen address, nats://host:port), or the NATS deployment its nodes join; several comma-separated")
	fs.IntVar(&c.batch, "batch", 500, "how many events to publish at once (1 to 10000)")
	fs.DurationVar(&c.timeout, "connect-timeout", 30*time.Second, "how long to wait for the cluster's stream to answer")
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: eventara import --from DIR --nats-url URL [flags]

Copies every event of a stopped single node's journal (DIR, its --data-dir)
into a running cluster's stream, in journal order, each under its stored ID.
It first reads which IDs the stream already holds and publishes only the
others, so it can be run again (after an interruption, hours later) and adds
no event twice while the cluster still keeps the earlier import (its
--retention). Run one import at a time. Resets (POST /api/v1/metrics/reset)
in the node's history are not imported: the cluster's totals count every
imported event.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (the directory goes after --from)", fs.Arg(0))
	case c.from == "":
		return nil, errors.New("--from is required: the single node's data directory")
	case strings.TrimSpace(c.natsURL) == "":
		return nil, errors.New("--nats-url is required: a cluster node's NATS client URL (start the nodes with --nats-listen host:port)")
	case c.batch < 1 || c.batch > 10000:
		return nil, fmt.Errorf("--batch %d: want 1 to 10000", c.batch)
	case c.timeout <= 0:
		return nil, fmt.Errorf("--connect-timeout %s: want a positive duration", c.timeout)
	}
	return c, nil
}

// runImport is `eventara import`: it exits 0 once every event is in the
// cluster's stream, 1 when the source or the cluster failed, 2 on a usage
// error.
func runImport(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c, err := parseImportConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "eventara import:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := importJournal(ctx, c, stdout); err != nil {
		fmt.Fprintln(stderr, "eventara import:", err)
		return 1
	}
	return 0
}

// importCounts is what an import did.
type importCounts struct {
	read, published, present, resets int
}

func (n importCounts) String() string {
	return fmt.Sprintf("read %d events, published %d, already present %d; resets not imported: %d", n.read, n.published, n.present, n.resets)
}

// checkSource refuses a directory that is not a single node's journal, or
// whose journal a running process holds (pebble's LOCK).
func checkSource(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--from %s: not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "nats")); err == nil {
		return fmt.Errorf("--from %s is a cluster node's data directory (it has nats/): its events are in the cluster already", dir)
	}
	desc, err := pebble.Peek(dir, vfs.Default)
	if err != nil {
		return fmt.Errorf("--from %s: %w", dir, err)
	}
	if !desc.Exists {
		return fmt.Errorf("--from %s holds no Eventara journal (give the node's --data-dir)", dir)
	}
	lock, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		return fmt.Errorf("--from %s is in use (%v): stop the Eventara node that runs on it, then import", dir, err)
	}
	return lock.Close()
}

// importJournal copies the journal in c.from into the cluster's stream.
//
// Idempotence: before publishing, it reads the ID of every record the
// stream holds (Stream.RecordIDs, headers only) and skips those events;
// the rest are published under their IDs as message IDs, so a record whose
// ack was lost and is published again is dropped by the stream's
// duplicate window. An import interrupted at any point and run again
// therefore completes the stream without a duplicate, as long as what the
// first run stored is still in the stream (within the cluster's retention).
func importJournal(ctx context.Context, c *importConfig, out io.Writer) error {
	if err := checkSource(c.from); err != nil {
		return err
	}
	j, err := journal.Open(journal.Config{Dir: c.from, Log: zerolog.Nop()})
	if err != nil {
		return fmt.Errorf("open the journal in %s: %w", c.from, err)
	}
	defer j.Close()
	// A node that joined an external NATS (--nats-url) has no nats/ but a
	// cluster checkpoint (a stream sequence).
	if cp, ok, err := j.LoadCheckpoint(); err == nil && ok && cp.Seq > 0 {
		return fmt.Errorf("--from %s is a cluster node's data directory (its checkpoint is at stream sequence %d): its events are in the cluster already", c.from, cp.Seq)
	}

	host, _ := os.Hostname()
	node, err := cluster.Start(ctx, cluster.Config{URL: c.natsURL, Name: "eventara-import-" + host, ReadyTimeout: c.timeout})
	if err != nil {
		return fmt.Errorf("connect to the cluster at %s: %w", c.natsURL, err)
	}
	defer node.Shutdown()
	stream, err := node.OpenStream(ctx, cluster.StreamConfig{})
	if err != nil {
		return fmt.Errorf("the cluster's stream (is a cluster node running?): %w", err)
	}
	scfg := stream.Config()
	fmt.Fprintf(out, "cluster stream %s: %d replicas, duplicate window %s, retention %s\n", scfg.Name, scfg.Replicas, scfg.Duplicates, scfg.MaxAge)

	present := make(map[event.ID]struct{})
	n, err := stream.RecordIDs(ctx, func(id event.ID) { present[id] = struct{}{} })
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "the stream holds %d events already\n", n)

	pub, err := stream.Publisher(cluster.PublisherConfig{Timeout: time.Minute})
	if err != nil {
		return err
	}
	var (
		counts   importCounts
		batch    = make([]event.Record, 0, c.batch)
		lastSaid = time.Now()
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := pub.Append(ctx, batch); err != nil {
			return fmt.Errorf("publish %d events from %s on: %w", len(batch), batch[0].Event.ID, err)
		}
		counts.published += len(batch)
		batch = batch[:0]
		if time.Since(lastSaid) >= 2*time.Second {
			fmt.Fprintf(out, "… %s\n", counts)
			lastSaid = time.Now()
		}
		return nil
	}
	err = j.Replay(event.ID{}, func(rec *event.Record) error {
		if rec.Kind == event.KindReset {
			counts.resets++
			return nil
		}
		counts.read++
		if _, ok := present[rec.Event.ID]; ok {
			counts.present++
			return nil
		}
		batch = append(batch, *rec)
		if len(batch) == c.batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		fmt.Fprintf(out, "stopped: %s; run the import again to finish it\n", counts)
		return err
	}
	fmt.Fprintf(out, "done: %s\n", counts)
	return nil
}
