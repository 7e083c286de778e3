#!/usr/bin/env python3
"""cluster-failover.py DIR PORT BENCH: failover figures of the cluster that
scripts/cluster.sh runs in DIR on PORT (scripts/bench.sh cluster runs it).
It prints figures and asserts nothing.

1. SIGKILL of the stream leader under a steady probe: 4 threads post single
   events to the two survivors, 2 through the balancer, and a STOMP client
   on a survivor records each pushed tick. Printed: the longest stretch
   without a 202 (at the survivors, and through the balancer, which also
   waits for its health check to drop the dead node) and without a new
   snapshot, around the kill.
2. Catch-up: with the leader still dead, BENCH (eventara-bench) ingests
   batches through the balancer for 10 s; then `scripts/cluster.sh up`
   restarts the node. Printed: the backlog, the seconds until its health
   answers and until it has applied the stream's last sequence.
3. Memory: each node's RSS.

Needs Debian's python3-websocket (/usr/bin/python3).
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import websocket

DIR, PORT, BENCH = sys.argv[1], int(sys.argv[2]), sys.argv[3]
NODES = ["http://127.0.0.1:%d" % (PORT + i) for i in (1, 2, 3)]
LB = "http://127.0.0.1:%d" % PORT
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster.sh")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def cluster_state(i):
    return get(NODES[i] + "/api/v1/events/health").get("cluster", {})


def pid(i):
    with open(os.path.join(DIR, "node%d.pid" % (i + 1))) as f:
        return int(f.read())


def rss_mib(p):
    with open("/proc/%d/status" % p) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def post(url, n):
    body = json.dumps({"eventType": "failover_probe", "source": "bench", "userId": "u%d" % (n % 97)}).encode()
    req = urllib.request.Request(url + "/api/v1/events", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def longest_gap(times, around):
    """The longest stretch between consecutive times that covers `around`
    or starts after it, as (seconds, from, to) relative to `around`."""
    best = (0.0, 0.0, 0.0)
    times = sorted(times)
    for a, b in zip(times, times[1:]):
        if b < around:
            continue
        if b - a > best[0]:
            best = (b - a, a - around, b - around)
    return best


def main():
    leader_name = cluster_state(0).get("leader", "")
    leader = int(leader_name.replace("node", "")) - 1
    survivors = [i for i in range(3) if i != leader]
    print("  stream leader: %s; survivors: %s" % (leader_name, ", ".join("node%d" % (i + 1) for i in survivors)))

    stop = threading.Event()
    acks = {"survivors": [], "balancer": []}
    lock = threading.Lock()

    def poster(kind, urls, w):
        n = w
        while not stop.is_set():
            url = urls[n % len(urls)]
            status = post(url, n)
            if status == 202:
                with lock:
                    acks[kind].append(time.time())
            n += 1

    ticks = []

    def watcher():
        ws = websocket.create_connection("ws://127.0.0.1:%d/ws" % (PORT + 1 + survivors[0]),
                                         subprotocols=["v12.stomp"], timeout=2)
        ws.send("CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n\x00")
        ws.send("SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00")
        seen = set()
        while not stop.is_set():
            try:
                data = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            m = re.search(r"\ntimestamp:(\d+)", data if isinstance(data, str) else data.decode())
            if m and m.group(1) not in seen:
                seen.add(m.group(1))
                ticks.append(time.time())
        ws.close()

    threads = [threading.Thread(target=poster, args=("survivors", [NODES[i] for i in survivors], w)) for w in range(4)]
    threads += [threading.Thread(target=poster, args=("balancer", [LB], w)) for w in range(2)]
    threads.append(threading.Thread(target=watcher))
    for t in threads:
        t.start()
    time.sleep(3)  # steady state before the kill
    killed = time.time()
    os.kill(pid(leader), signal.SIGKILL)
    # Until both resumed, then a few seconds more (at most 60 s).
    while time.time() < killed + 60:
        time.sleep(0.5)
        with lock:
            resumed = all(any(a > killed + 0.5 for a in v) for v in acks.values())
        if resumed and any(t > killed + 0.5 for t in ticks):
            break
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    for kind in ("survivors", "balancer"):
        gap, a, b = longest_gap(acks[kind], killed)
        print("  no 202 (%s): %.2f s (from %+.2f s to %+.2f s around the kill; %d acks in all)" % (
            kind, gap, a, b, len(acks[kind])))
    gap, a, b = longest_gap(ticks, killed)
    print("  no new snapshot on a survivor: %.2f s (from %+.2f s to %+.2f s around the kill)" % (gap, a, b))
    print("  new leader: %s" % cluster_state(survivors[0]).get("leader", ""))

    out = subprocess.run([BENCH, "ingest", "--url", LB, "--conns", "8", "--batch", "1000", "--duration", "10s"],
                         capture_output=True, text=True)
    accepted = re.search(r"events accepted\s+(\d+)", out.stdout)
    target = cluster_state(survivors[0]).get("streamSeq", 0)
    start = time.time()
    subprocess.run(["bash", SCRIPT, "up", DIR, str(PORT)], check=True, stdout=subprocess.DEVNULL)
    healthy = time.time() - start
    applied = 0
    while time.time() < start + 600:
        applied = cluster_state(leader).get("appliedSeq", 0)
        if applied >= target:
            break
        time.sleep(0.05)
    caught = time.time() - start
    print("  catch-up of node%d after %s events ingested while it was down (stream sequence %d): "
          "health after %.2f s, applied the stream to its end after %.2f s" % (
              leader + 1, accepted.group(1) if accepted else "?", target, healthy, caught))
    print("  memory: " + ", ".join("node%d RSS %.0f MiB" % (i + 1, rss_mib(pid(i))) for i in range(3)))


if __name__ == "__main__":
    main()
