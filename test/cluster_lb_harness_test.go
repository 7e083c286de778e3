package test

// The cluster scripts/cluster.sh starts (3 nodes behind HAProxy), driven
// from tests through the script's contract: `up DIR PORT` starts whatever
// is not running (HTTP on PORT+1..3, the balancer on PORT, pids in
// DIR/nodeN.pid), `down DIR` stops it all.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// haproxyPath is the balancer scripts/cluster.sh runs: haproxy on PATH,
// else Debian's /usr/sbin/haproxy (not on a user's PATH).
func haproxyPath() string {
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	return "/usr/sbin/haproxy"
}

// requireClusterScript fails t when scripts/cluster.sh cannot run:
// bash, curl and Debian's haproxy.
func requireClusterScript(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"bash", "curl"} {
		testutil.Require(t, tool+" (scripts/cluster.sh)", "apt-get install -y "+tool, func() error {
			_, err := exec.LookPath(tool)
			return err
		})
	}
	testutil.RequireExecutable(t, "haproxy, the balancer of scripts/cluster.sh", haproxyPath(),
		"apt-get install -y haproxy (.ci/run does it)")
}

// lbCluster is a cluster started by scripts/cluster.sh. Its servers carry
// addresses only: the script owns the processes.
type lbCluster struct {
	t     testing.TB
	dir   string
	port  int
	lb    *server   // the balancer
	nodes []*server // node1..node3
}

// startLBCluster runs `scripts/cluster.sh up` on free ports with the
// binary under test, and `down` when t ends.
func startLBCluster(t testing.TB) *lbCluster {
	t.Helper()
	requireClusterScript(t)
	c := &lbCluster{t: t, dir: t.TempDir(), port: clusterBasePort(t)}
	at := func(port int) *server {
		return &server{t: t, addr: "127.0.0.1:" + strconv.Itoa(port), scheme: "http", client: healthClient}
	}
	c.lb = at(c.port)
	for i := 1; i <= 3; i++ {
		c.nodes = append(c.nodes, at(c.port+i))
	}
	t.Cleanup(func() {
		if out, err := c.script("down", c.dir); err != nil {
			t.Errorf("cluster.sh down: %v\n%s", err, out)
		}
		if t.Failed() {
			t.Logf("cluster logs (tail):\n%s", c.logs(40))
		}
	})
	c.up()
	return c
}

// clusterBasePort finds P with P (balancer), P+1..3 (HTTP) and P+11..13
// (NATS routes) free, below Linux's ephemeral range so that no outgoing
// connection takes one meanwhile.
func clusterBasePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		base := 10000 + rand.IntN(22000)
		ok := true
		var held []net.Listener
		for _, off := range []int{0, 1, 2, 3, 11, 12, 13} {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+off))
			if err != nil {
				ok = false
				break
			}
			held = append(held, ln)
		}
		for _, ln := range held {
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free range of ports for the cluster")
	return 0
}

// script runs scripts/cluster.sh with args and returns its output. The
// output goes to a file, not a pipe: the processes it starts outlive it.
func (c *lbCluster) script(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*testutil.Patience)
	defer cancel()
	f, err := os.CreateTemp(c.dir, "script-*.out")
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join("..", "scripts", "cluster.sh")}, args...)...)
	cmd.Env = append(os.Environ(), testutil.BinaryEnv+"="+testutil.Binary(), "HAPROXY="+haproxyPath())
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return string(out), err
}

// up runs `scripts/cluster.sh up`: it starts what is not running and
// returns once that answers health. It returns how long that took.
func (c *lbCluster) up() time.Duration {
	c.t.Helper()
	start := time.Now()
	if out, err := c.script("up", c.dir, strconv.Itoa(c.port)); err != nil {
		c.t.Fatalf("cluster.sh up: %v\n%s\nlogs:\n%s", err, out, c.logs(40))
	}
	return time.Since(start)
}

// pid is node i's (0-based) process id, from its pid file.
func (c *lbCluster) pid(i int) int {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node%d.pid", i+1)))
	if err != nil {
		c.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		c.t.Fatalf("node%d.pid: %v", i+1, err)
	}
	return pid
}

// kill SIGKILLs node i and waits until its HTTP port refuses connections
// (the process is gone; the script's pid file stays, as after a crash).
func (c *lbCluster) kill(i int) {
	c.t.Helper()
	p, err := os.FindProcess(c.pid(i))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		c.t.Fatalf("kill node%d: %v", i+1, err)
	}
	testutil.WaitFor(c.t, testutil.Patience, fmt.Sprintf("node%d gone", i+1), func() error {
		conn, err := net.DialTimeout("tcp", c.nodes[i].addr, time.Second)
		if err != nil {
			return nil
		}
		conn.Close()
		return fmt.Errorf("%s still accepts connections", c.nodes[i].addr)
	})
}

// leader is the index of the stream leader as node `from` sees it.
func (c *lbCluster) leader(from int) int {
	c.t.Helper()
	var idx int
	testutil.WaitFor(c.t, testutil.Patience, "a stream leader", func() error {
		_, h := c.nodes[from].health(c.t)
		name, _ := path(h, "cluster.leader").(string)
		n, err := strconv.Atoi(strings.TrimPrefix(name, "node"))
		if err != nil || n < 1 || n > len(c.nodes) {
			return fmt.Errorf("cluster.leader = %q", name)
		}
		idx = n - 1
		return nil
	})
	return idx
}

// logs is the tail of every node's log.
func (c *lbCluster) logs(n int) string {
	var b strings.Builder
	for i := range c.nodes {
		data, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node%d.log", i+1)))
		fmt.Fprintf(&b, "--- node%d ---\n%s\n", i+1, tail(string(data), n))
	}
	return b.String()
}

// waitTotals waits until every node's totalEvents is want.
func (c *lbCluster) waitTotals(t testing.TB, want float64) {
	t.Helper()
	for _, s := range c.nodes {
		s.waitTotal(t, want)
	}
}
