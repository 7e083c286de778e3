// Browser tests against the 3-node cluster of scripts/cluster.sh, through
// its balancer (HAProxy):
//
//   EVENTARA_BIN=../../bin/eventara node --test --test-concurrency=1 cluster.test.mjs
//
// 1. the dashboard, pointed at the balancer, connects and follows events
//    posted to each node;
// 2. SIGKILL of the node holding the dashboard's session: it shows
//    RECONNECTING, then CONNECTED through another node, with totals that go
//    on from where they were; `scripts/cluster.sh up` restarts the node;
// 3. sockjs-client (the copy the server serves) and stompjs in chromium over
//    every SockJS transport a browser has, the iframe ones included, each
//    session through the balancer to one node.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Dashboard, launchBrowser, PATIENCE, repoRoot, ScriptCluster, waitFor, watchConsole } from './harness.mjs';

let cluster;
let browser;
let page;
let dash;
let consoleErrors;

before(async () => {
  cluster = await ScriptCluster.start();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  consoleErrors = watchConsole(page);
  dash = new Dashboard(page);
});

after(async () => {
  await browser?.close();
  if (cluster && process.exitCode) console.error(`--- cluster logs ---\n${cluster.logs()}`);
  await cluster?.down();
});

test('the dashboard through the balancer follows events posted to every node', async () => {
  const res = await page.goto(cluster.url + '/');
  assert.equal(res.status(), 200);
  await dash.waitState('CONNECTED');
  await page.waitForSelector('[data-testid=total-events]', { timeout: PATIENCE });
  for (const node of cluster.nodes) {
    for (let i = 0; i < 3; i++) await cluster.post(node, { eventType: 'page_view', source: 'web' });
  }
  await waitFor(async () => (await dash.total()) === 9, { what: 'total 9 on the dashboard' });
  for (const node of cluster.nodes) assert.equal(await cluster.total(node), 9, `${node} total`);
  assert.deepEqual(consoleErrors, []);
});

test('killing the node of the dashboard session: it reconnects through another, numbers go on', async () => {
  await dash.waitState('CONNECTED');
  // The session sits on one node: the one with a connection.
  let holder = -1;
  await waitFor(
    async () => {
      const n = await Promise.all([0, 1, 2].map((i) => cluster.connections(i)));
      const held = n.flatMap((c, i) => (c > 0 ? [i] : []));
      if (held.length === 1) holder = held[0];
      return held.length === 1;
    },
    { what: 'one node holding the dashboard session' },
  );
  await cluster.kill(holder);
  await dash.waitState('RECONNECTING');
  await dash.waitState('CONNECTED');
  const other = cluster.nodes[(holder + 1) % 3];
  await cluster.post(cluster.url, { eventType: 'after_kill', source: 'web' });
  await waitFor(async () => (await dash.total()) === 10, { what: 'total 10 after the reconnect' });
  assert.equal(await cluster.total(other), 10);
  await cluster.up();
  await waitFor(async () => (await cluster.total(cluster.nodes[holder])) === 10, {
    what: `the restarted node${holder + 1} caught up`,
  });
});

// The transports sockjs-client has in a browser (xdr-* are IE's).
const transports = [
  'websocket',
  'xhr-streaming',
  'eventsource',
  'iframe-eventsource',
  'htmlfile',
  'iframe-htmlfile',
  'xhr-polling',
  'iframe-xhr-polling',
  'jsonp-polling',
];

test('sockjs-client and stompjs in chromium over every transport, through the balancer', async () => {
  const p = await browser.context.newPage();
  const errors = watchConsole(p);
  // A page of the balancer's origin (the dashboard: chromium lets a page
  // served from loopback reach loopback, not one fulfilled by the test);
  // the scripts are real: sockjs-client as the server serves it (the
  // iframe page loads the same copy) and stompjs from test/js.
  await p.goto(cluster.url + '/');
  await p.addScriptTag({ url: cluster.url + '/ws/sockjs.min.js' });
  const stompjs = path.join(repoRoot, 'test/js/node_modules/@stomp/stompjs/bundles/stomp.umd.min.js');
  await p.addScriptTag({ content: fs.readFileSync(stompjs, 'utf8') });
  const total = await cluster.total(cluster.url);
  try {
    for (const transport of transports) {
      const run = await p.evaluate(
        ([base, transport, patience]) =>
          new Promise((resolve) => {
            const rec = { transport, used: '', ticks: [], totals: [], error: null, receipt: false };
            const client = new StompJs.Client({
              webSocketFactory: () => new SockJS(base + '/ws', null, { transports: [transport] }),
              reconnectDelay: 0,
              heartbeatIncoming: 4000,
              heartbeatOutgoing: 4000,
            });
            const done = (err) => {
              if (err) rec.error = err;
              client.deactivate().then(() => resolve(rec));
            };
            const timer = setTimeout(() => done(`timed out after ${patience} ms`), patience);
            client.onConnect = () => {
              rec.used = client.webSocket.transport;
              client.subscribe('/topic/metrics', (m) => {
                const ts = m.headers.timestamp;
                if (!rec.ticks.includes(ts)) rec.ticks.push(ts);
                rec.totals.push(JSON.parse(m.body).summary.totalEvents);
                if (rec.ticks.length >= 3) {
                  clearTimeout(timer);
                  rec.receipt = true;
                  done(null);
                }
              });
            };
            client.onStompError = (f) => done(`STOMP ERROR ${f.headers.message}`);
            client.onWebSocketClose = (e) => {
              if (!rec.receipt) done(`closed ${e.code} ${e.reason}`);
            };
            client.activate();
          }),
        [cluster.url, transport, PATIENCE],
      );
      assert.equal(run.error, null, `${transport}: ${JSON.stringify(run)}`);
      assert.equal(run.used, transport, `${transport}: SockJS used ${run.used}`);
      assert.ok(run.ticks.length >= 3, `${transport}: ${run.ticks.length} distinct snapshots`);
      assert.ok(
        run.totals.every((v) => v === total),
        `${transport}: totals ${run.totals}, want ${total}`,
      );
    }
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
  }
});
