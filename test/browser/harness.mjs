// Helpers for the browser tests: start the real binary on a free port with a
// temporary data dir, a path-prefix reverse proxy, and headless chromium.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const artifactsDir = path.join(repoRoot, 'test', 'artifacts');
export const binPath = path.resolve(here, process.env.EVENTARA_BIN || '../../bin/eventara');
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The launch flags this machine needs (see .library/env/machines/go.md). */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * PATIENCE is how long a test waits for something that should happen soon
 * (ms): generous, since only a failing test waits it out, while a busy
 * machine can take seconds for what takes milliseconds alone. The Go tests'
 * testutil.Patience.
 */
export const PATIENCE = 30000;

/** waitFor polls fn until it returns a truthy value or the deadline passes. */
export async function waitFor(fn, { timeout = PATIENCE, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
    await sleep(interval);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * EventaraServer runs bin/eventara; start() again after stop() restarts it on
 * the same port and data dir, as a restarted service would be.
 */
export class EventaraServer {
  constructor(port, dataDir) {
    this.port = port;
    this.dataDir = dataDir;
    this.url = `http://127.0.0.1:${port}`;
    this.log = '';
    this.proc = null;
  }

  static async create() {
    if (!fs.existsSync(binPath)) {
      throw new Error(`no binary at ${binPath}: build it (make build) or set EVENTARA_BIN`);
    }
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventara-browser-'));
    return new EventaraServer(await freePort(), dataDir);
  }

  async start() {
    const proc = spawn(binPath, ['--addr', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const append = (d) => {
      this.log = (this.log + d).slice(-20000);
    };
    proc.stdout.on('data', append);
    proc.stderr.on('data', append);
    const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, sig })));
    this.exited = exited;
    let dead = null;
    exited.then((e) => (dead = e));
    await waitFor(
      async () => {
        if (dead) throw new Error(`eventara exited early (${JSON.stringify(dead)}):\n${this.log}`);
        const res = await fetch(`${this.url}/api/v1/metrics`);
        return res.ok;
      },
      { timeout: PATIENCE, what: `eventara on ${this.url}` },
    ).catch((err) => {
      if (dead) throw new Error(`eventara exited early (${JSON.stringify(dead)}):\n${this.log}`);
      throw err;
    });
  }

  async stop() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const done = await Promise.race([this.exited, sleep(PATIENCE).then(() => null)]);
    if (!done) {
      proc.kill('SIGKILL');
      await this.exited;
    }
    this.proc = null;
  }

  async cleanup() {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** postEvents POSTs each event and checks it was accepted. */
  async postEvents(events) {
    for (const e of events) {
      const res = await fetch(`${this.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(e),
      });
      if (res.status !== 202) throw new Error(`POST /api/v1/events ${JSON.stringify(e)}: ${res.status} ${await res.text()}`);
    }
  }

  async metrics() {
    const res = await fetch(`${this.url}/api/v1/metrics`);
    if (!res.ok) throw new Error(`GET /api/v1/metrics: ${res.status}`);
    return res.json();
  }
}

/**
 * startPrefixProxy serves upstream under /prefix/, stripping the prefix,
 * HTTP and WebSocket upgrades alike, as nginx's `location /prefix/ {
 * proxy_pass http://upstream/; }` does.
 */
export async function startPrefixProxy(upstreamPort, prefix = '/eventara') {
  const strip = (url) => (url.startsWith(prefix + '/') ? url.slice(prefix.length) : null);
  const server = http.createServer((req, res) => {
    if (req.url === prefix) {
      res.writeHead(301, { Location: prefix + '/' });
      return res.end();
    }
    const p = strip(req.url);
    if (p === null) {
      res.writeHead(404);
      return res.end('outside the proxied prefix');
    }
    const up = http.request(
      { host: '127.0.0.1', port: upstreamPort, path: p, method: req.method, headers: req.headers },
      (ur) => {
        res.writeHead(ur.statusCode, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.on('upgrade', (req, sock, head) => {
    const p = strip(req.url);
    if (p === null) return sock.destroy();
    const up = net.connect(upstreamPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${p} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head?.length) up.write(head);
      up.pipe(sock);
      sock.pipe(up);
    });
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}${prefix}/`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}

/** launchBrowser starts headless chromium with a fresh profile. */
export async function launchBrowser() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventara-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1600, height: 1000 },
    locale: 'en-US',
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** watchConsole records console errors and uncaught exceptions of a page. */
export function watchConsole(page) {
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return errors;
}

/** Dashboard reads the page through its data-testid hooks. */
export class Dashboard {
  constructor(page) {
    this.page = page;
  }
  state() {
    return this.page.getAttribute('[data-testid=connection-state]', 'data-state');
  }
  async waitState(state, timeout = PATIENCE) {
    await this.page.waitForSelector(`[data-testid=connection-state][data-state=${state}]`, { timeout });
  }
  async number(testId) {
    const v = await this.page.getAttribute(`[data-testid=${testId}]`, 'data-value', { timeout: PATIENCE });
    return v === null ? NaN : Number(v);
  }
  async total() {
    return this.number('total-events');
  }
  async chart() {
    const el = this.page.locator('[data-testid=rate-chart]');
    return {
      points: Number(await el.getAttribute('data-points')),
      lastAvg: Number((await el.getAttribute('data-last-avg')) || 0),
      image: await this.page.evaluate(() => document.querySelector('[data-testid=rate-chart] canvas')?.toDataURL() ?? ''),
    };
  }
  lastUpdated() {
    return this.page.textContent('[data-testid=last-updated]');
  }
}

/**
 * ScriptCluster is the cluster scripts/cluster.sh starts: 3 nodes of
 * EVENTARA_BIN behind HAProxy (HAPROXY names it), the balancer on `port`,
 * node i on port+i, NATS routes on port+10+i.
 */
export class ScriptCluster {
  constructor(port, dir) {
    this.port = port;
    this.dir = dir;
    this.url = `http://127.0.0.1:${port}`;
    this.nodes = [1, 2, 3].map((i) => `http://127.0.0.1:${port + i}`);
  }

  static async start() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventara-cluster-'));
    const c = new ScriptCluster(await clusterBasePort(), dir);
    await c.up();
    return c;
  }

  script(...args) {
    return new Promise((resolve, reject) => {
      const out = fs.openSync(path.join(this.dir, 'script.out'), 'a');
      const p = spawn('bash', [path.join(repoRoot, 'scripts', 'cluster.sh'), ...args], {
        stdio: ['ignore', out, out], // a file, not a pipe: the processes it starts outlive it
        env: { ...process.env, EVENTARA_BIN: binPath },
      });
      p.once('error', reject);
      p.once('exit', (code) => {
        fs.closeSync(out);
        if (code === 0) return resolve();
        reject(new Error(`cluster.sh ${args.join(' ')}: exit ${code}\n${fs.readFileSync(path.join(this.dir, 'script.out'), 'utf8')}\n${this.logs()}`));
      });
    });
  }

  /** up starts what is not running (a killed node) and waits for its health. */
  up() {
    return this.script('up', this.dir, String(this.port));
  }

  async down() {
    await this.script('down', this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** kill SIGKILLs node i (0-based) and waits until its port refuses. */
  async kill(i) {
    const pid = Number(fs.readFileSync(path.join(this.dir, `node${i + 1}.pid`), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => {
        try {
          await fetch(`${this.nodes[i]}/api/v1/events/health`);
          return false;
        } catch {
          return true;
        }
      },
      { what: `node${i + 1} gone` },
    );
  }

  /** connections is node i's eventara_connections, all transports. */
  async connections(i) {
    const text = await (await fetch(`${this.nodes[i]}/metrics`)).text();
    let n = 0;
    for (const line of text.split('\n')) {
      const m = line.match(/^eventara_connections(?:\{[^}]*\})? (\S+)$/);
      if (m) n += Number(m[1]);
    }
    return n;
  }

  async total(base) {
    const res = await fetch(`${base}/api/v1/metrics`);
    if (!res.ok) throw new Error(`GET ${base}/api/v1/metrics: ${res.status}`);
    return (await res.json()).summary.totalEvents;
  }

  /** post POSTs an event to base until a 202 (503s while a leader is elected). */
  async post(base, event) {
    await waitFor(
      async () => {
        const res = await fetch(`${base}/api/v1/events`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(event),
        });
        if (res.status === 202) return true;
        if (res.status === 503 || res.status === 502) return false;
        throw new Error(`POST ${base}/api/v1/events: ${res.status} ${await res.text()}`);
      },
      { what: `a 202 from ${base}`, interval: 200 },
    );
  }

  logs(n = 30) {
    return [1, 2, 3]
      .map((i) => {
        let log = '';
        try {
          log = fs.readFileSync(path.join(this.dir, `node${i}.log`), 'utf8');
        } catch {}
        return `--- node${i} ---\n${log.trimEnd().split('\n').slice(-n).join('\n')}`;
      })
      .join('\n');
  }
}

/** clusterBasePort finds P with P, P+1..3 and P+11..13 free (below the ephemeral range). */
async function clusterBasePort() {
  const free = (port) =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const base = 10000 + Math.floor(Math.random() * 22000);
    let ok = true;
    for (const off of [0, 1, 2, 3, 11, 12, 13]) {
      if (!(await free(base + off))) {
        ok = false;
        break;
      }
    }
    if (ok) return base;
  }
  throw new Error('no free range of ports for the cluster');
}
