// Browser tests of the dashboard served by the real binary.
//
//   EVENTARA_BIN=../../bin/eventara node --test --test-concurrency=1
//
// One server and one browser are shared; the tests run in order.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  artifactsDir,
  Dashboard,
  EventaraServer,
  launchBrowser,
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
  await dash.waitState('CONNECTED', 10000);
  await page.waitForSelector('[data-testid=total-events]', { timeout: 5000 });
  assert.equal(await dash.total(), 0);
  await page.waitForSelector('[data-testid=empty-state]', { timeout: 2000 });
  // Let a few ticks arrive and render.
  await waitFor(async () => (await dash.chart()).points >= 3, { timeout: 6000, what: '3 chart points' });
  assert.deepEqual(consoleErrors, []);
});

test('POSTed events show in the totals and the chart within 2 s', async () => {
  await dash.waitState('CONNECTED', 5000);
  const total0 = await dash.total();
  const chart0 = await dash.chart();
  const n = 12;
  await server.postEvents(Array.from({ length: n }, () => pageView));
  const posted = Date.now();
  await waitFor(async () => (await dash.total()) >= total0 + n, { timeout: 2000, what: `total ≥ ${total0 + n}` });
  await waitFor(
    async () => {
      const c = await dash.chart();
      return c.lastAvg > chart0.lastAvg && c.points > chart0.points && c.image !== chart0.image;
    },
    { timeout: Math.max(0, 2000 - (Date.now() - posted)) + 100, what: 'the chart to rise' },
  );
  assert.ok((await dash.number('events-per-second')) > 0, 'events per second > 0');
  assert.equal(await page.locator('[data-testid=empty-state]').count(), 0, 'empty state gone');
  assert.match(await page.textContent('[data-testid=by-type]'), /page_view/);
  assert.match(await page.textContent('[data-testid=by-source]'), /web/);
});

test('a server restart shows RECONNECTING, then CONNECTED and fresh numbers', async () => {
  await dash.waitState('CONNECTED', 5000);
  await server.stop();
  // SockJS sees the TCP close at once; heart-beats (4 s) catch a silent drop.
  await dash.waitState('RECONNECTING', 15000);
  assert.ok(await page.isVisible('[data-testid=retry]'), 'retry button while reconnecting');
  const stale = await dash.lastUpdated();

  await server.start();
  await dash.waitState('CONNECTED', 20000);
  await waitFor(async () => (await dash.lastUpdated()) !== stale, { timeout: 3000, what: 'a new snapshot' });

  const before = (await server.metrics()).summary.totalEvents;
  await server.postEvents([pageView, pageView, pageView]);
  await waitFor(async () => (await dash.total()) >= before + 3, { timeout: 2000, what: `total ≥ ${before + 3} after restart` });
  const now = (await server.metrics()).summary.totalEvents;
  assert.equal(await dash.total(), now, 'dashboard total matches GET /api/v1/metrics');
});

test('the retry button reconnects', async () => {
  await dash.waitState('CONNECTED', 5000);
  await server.stop();
  await dash.waitState('RECONNECTING', 15000);
  await server.start();
  await page.click('[data-testid=retry]');
  await dash.waitState('CONNECTED', 5000);
});

test('it works behind a reverse proxy under a sub-path', async () => {
  const proxy = await startPrefixProxy(server.port, '/eventara');
  const p = await browser.context.newPage();
  const errors = watchConsole(p);
  const requests = [];
  p.on('request', (r) => requests.push(new URL(r.url()).pathname));
  try {
    await p.goto(proxy.url);
    await p.waitForSelector('[data-testid=connection-state][data-state=CONNECTED]', { timeout: 10000 });
    const d = new Dashboard(p);
    await waitFor(async () => (await d.total()) === (await server.metrics()).summary.totalEvents, {
      timeout: 3000,
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
    await new Promise((r) => setTimeout(r, 1000));
  }
  await waitFor(async () => (await page.textContent('[data-testid=by-type]')).includes('checkout'), {
    timeout: 3000,
    what: 'the new event types',
  });
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, 'dashboard.png');
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(fs.statSync(file).size > 10000, 'screenshot written');
});
