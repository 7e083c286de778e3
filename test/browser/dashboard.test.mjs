// Browser tests of the dashboard served by the real binary.
//
//   EVENTARA_BIN=../../bin/eventara node --test --test-concurrency=1
//
// One server and one browser are shared; the tests run in order.
//
// Every wait is for something to show, up to PATIENCE: a busy machine (the
// race-enabled Go tests compiling beside these) can take seconds to render
// what an idle one shows at once. Where the dashboard promises a figure
// (numbers within 2 s of a POST), the test reports how long it took and
// fails only when it never comes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  artifactsDir,
  Dashboard,
  EventaraServer,
  launchBrowser,
  PATIENCE,
  startPrefixProxy,
  waitFor,
  watchConsole,
} from './harness.mjs';

const pageView = { eventType: 'page_view', source: 'web' };

let server;
let browser;
let page;
let dash;
let consoleErrors;

before(async () => {
  server = await EventaraServer.create();
  await server.start();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  consoleErrors = watchConsole(page);
  dash = new Dashboard(page);
});

after(async () => {
  await browser?.close();
  if (server && process.exitCode && server.log) console.error(`--- eventara log ---\n${server.log}`);
  await server?.cleanup();
});

test('the page loads, connects and shows the empty state without console errors', async () => {
  const res = await page.goto(server.url + '/');
  assert.equal(res.status(), 200);
  await dash.waitState('CONNECTED');
  await page.waitForSelector('[data-testid=total-events]', { timeout: PATIENCE });
  assert.equal(await dash.total(), 0);
  await page.waitForSelector('[data-testid=empty-state]', { timeout: PATIENCE });
  // Let a few ticks arrive and render.
  await waitFor(async () => (await dash.chart()).points >= 3, { what: '3 chart points' });
  assert.deepEqual(consoleErrors, []);
});

test('POSTed events show in the totals and the chart (within 2 s on an idle machine)', async (t) => {
  await dash.waitState('CONNECTED');
  const total0 = await dash.total();
  const chart0 = await dash.chart();
  const n = 12;
  await server.postEvents(Array.from({ length: n }, () => pageView));
  const posted = Date.now();
  await waitFor(async () => (await dash.total()) >= total0 + n, { what: `total ≥ ${total0 + n}` });
  const totalAfter = Date.now() - posted;
  await waitFor(
    async () => {
      const c = await dash.chart();
      return c.lastAvg > chart0.lastAvg && c.points > chart0.points && c.image !== chart0.image;
    },
    { what: 'the chart to rise' },
  );
  t.diagnostic(`total shown ${totalAfter} ms after the POSTs, the chart risen after ${Date.now() - posted} ms`);
  assert.ok((await dash.number('events-per-second')) > 0, 'events per second > 0');
  assert.equal(await page.locator('[data-testid=empty-state]').count(), 0, 'empty state gone');
  assert.match(await page.textContent('[data-testid=by-type]'), /page_view/);
  assert.match(await page.textContent('[data-testid=by-source]'), /web/);
});

test('a server restart shows RECONNECTING, then CONNECTED and fresh numbers', async () => {
  await dash.waitState('CONNECTED');
  await server.stop();
  // SockJS sees the TCP close at once; heart-beats (4 s) catch a silent drop.
  await dash.waitState('RECONNECTING');
  assert.ok(await page.isVisible('[data-testid=retry]'), 'retry button while reconnecting');
  const stale = await dash.lastUpdated();

  await server.start();
  await dash.waitState('CONNECTED');
  await waitFor(async () => (await dash.lastUpdated()) !== stale, { what: 'a new snapshot' });

  const before = (await server.metrics()).summary.totalEvents;
  await server.postEvents([pageView, pageView, pageView]);
  await waitFor(async () => (await dash.total()) >= before + 3, { what: `total ≥ ${before + 3} after restart` });
  const now = (await server.metrics()).summary.totalEvents;
  assert.equal(await dash.total(), now, 'dashboard total matches GET /api/v1/metrics');
});

test('the retry button reconnects', async () => {
  await dash.waitState('CONNECTED');
  await server.stop();
  await dash.waitState('RECONNECTING');
  await server.start();
  await page.click('[data-testid=retry]');
  await dash.waitState('CONNECTED');
});

test('it works behind a reverse proxy under a sub-path', async () => {
  const proxy = await startPrefixProxy(server.port, '/eventara');
  const p = await browser.context.newPage();
  const errors = watchConsole(p);
  const requests = [];
  p.on('request', (r) => requests.push(new URL(r.url()).pathname));
  try {
    await p.goto(proxy.url);
    await p.waitForSelector('[data-testid=connection-state][data-state=CONNECTED]', { timeout: PATIENCE });
    const d = new Dashboard(p);
    await waitFor(async () => (await d.total()) === (await server.metrics()).summary.totalEvents, {
      what: 'totals through the proxy',
    });
    const outside = requests.filter((u) => !u.startsWith('/eventara/'));
    assert.deepEqual(outside, [], 'every request stays under the prefix');
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
    await proxy.close();
  }
});

test('screenshot of a busy dashboard', async () => {
  const types = ['page_view', 'click', 'api_request', 'signup', 'checkout', 'search'];
  const sources = ['web', 'ios', 'android', 'payments-api'];
  const sev = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARNING', 'ERROR'];
  const events = Array.from({ length: 120 }, (_, i) => ({
    eventType: types[(i * 7) % types.length],
    source: sources[(i * 3) % sources.length],
    severity: sev[i % sev.length],
    userId: `user-${(i * 13) % 9}`,
    metadata: { latency: 20 + ((i * 37) % 400) },
  }));
  for (let i = 0; i < 4; i++) {
    await server.postEvents(events.slice(i * 30, (i + 1) * 30));
    await new Promise((r) => setTimeout(r, 1000)); // spread over seconds: a chart worth a screenshot
  }
  await waitFor(async () => (await page.textContent('[data-testid=by-type]')).includes('checkout'), {
    what: 'the new event types',
  });
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, 'dashboard.png');
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(fs.statSync(file).size > 10000, 'screenshot written');
});
