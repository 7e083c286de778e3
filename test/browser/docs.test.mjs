// Browser tests of the API docs page (/docs): Swagger UI, built into the
// binary, rendering the server's own OpenAPI document.
//
//   EVENTARA_BIN=../../bin/eventara node --test --test-concurrency=1 docs.test.mjs
//
// One server and one browser; the tests run in order. Every wait is for
// something to show, up to PATIENCE.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { artifactsDir, EventaraServer, launchBrowser, PATIENCE, startPrefixProxy, waitFor, watchConsole } from './harness.mjs';

let server;
let browser;
let page;
let consoleErrors;
/** Requests that left the server: the page must need no internet. */
let outside;
/** The documented paths, from the document the server serves. */
let documented;

/** watchPage records console errors, CSP violations and requests to other origins. */
async function watchPage(p, origin) {
  const errors = watchConsole(p);
  const away = [];
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.origin !== origin) away.push(r.url());
  });
  // A CSP violation is a console error too; this also catches those the
  // browser reports only as events (style attributes, for one).
  await p.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  return { errors, away };
}

/** shownPaths is the text of every operation's path Swagger UI shows. */
async function shownPaths(p) {
  return p.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent.replace(/\u200b/g, '').trim()));
}

/** waitListed waits until the page lists an operation on each of paths. */
async function waitListed(p, paths) {
  await waitFor(async () => {
    const shown = await shownPaths(p);
    return paths.every((x) => shown.includes(x));
  }, { what: `${paths.join(', ')} listed` });
}

before(async () => {
  server = await EventaraServer.create();
  await server.start();
  const doc = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
  documented = Object.keys(doc.paths);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  ({ errors: consoleErrors, away: outside } = await watchPage(page, server.url));
});

after(async () => {
  await browser?.close();
  if (server && process.exitCode && server.log) console.error(`--- eventara log ---\n${server.log}`);
  await server?.cleanup();
});

test('/docs lists every endpoint of the document, under its own CSP, with no console error', async () => {
  const res = await page.goto(server.url + '/docs');
  assert.equal(res.status(), 200);
  const csp = res.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/, 'the docs page has its Content-Security-Policy');
  await waitListed(page, ['/api/v1/events', '/api/v1/metrics']);
  const shown = await shownPaths(page);
  for (const p of documented) assert.ok(shown.includes(p), `${p} is listed (shown: ${shown.join(', ')})`);
  assert.ok(documented.length >= 10, `the document has ${documented.length} paths`);
  assert.match(await page.textContent('.info .title'), /Eventara REST API/);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(outside, [], 'no request leaves the server');
});

test('the bundled metrics schema is rendered', async () => {
  // The example Swagger UI builds from GET /api/v1/metrics's schema: p99
  // is there only when the bundled schema's own $defs references resolve.
  const block = page.locator('#operations-metrics-getMetrics');
  await block.locator('.opblock-summary').click();
  const example = block.locator('.responses-wrapper .highlight-code').first();
  await example.waitFor({ timeout: PATIENCE });
  const text = await example.textContent();
  for (const key of ['"summary"', '"totalEvents"', '"latencyMetrics"', '"p99"', '"anomalies"']) {
    assert.ok(text.includes(key), `the snapshot's example has ${key}`);
  }
  assert.deepEqual(consoleErrors, []);
});

test('try it out: GET /api/v1/events/health from the page', async () => {
  const block = page.locator('#operations-operations-health');
  await block.locator('.opblock-summary').click();
  await block.locator('.try-out__btn').click();
  await block.locator('button.execute').click();
  const live = block.locator('.live-responses-table');
  await live.waitFor({ timeout: PATIENCE });
  await waitFor(async () => /"status": "UP"/.test(await live.textContent()), { what: 'the health answer in the page' });
  assert.equal((await live.locator('tr.response .response-col_status').first().textContent()).trim(), '200');
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(outside, []);
});

test('the dashboard links to /docs', async () => {
  const p = await browser.context.newPage();
  const { errors } = await watchPage(p, server.url);
  try {
    await p.goto(server.url + '/');
    await p.click('[data-testid=docs-link]');
    await p.waitForURL(/\/docs$/, { timeout: PATIENCE });
    await waitListed(p, ['/api/v1/events']);
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
  }
});

test('behind a reverse proxy under a sub-path, the page and try it out stay under the prefix', async () => {
  const proxy = await startPrefixProxy(server.port, '/eventara');
  const p = await browser.context.newPage();
  const { errors } = await watchPage(p, new URL(proxy.url).origin);
  const requests = [];
  p.on('request', (r) => requests.push(new URL(r.url()).pathname));
  try {
    await p.goto(proxy.url + 'docs');
    await waitListed(p, ['/api/v1/metrics']);
    const block = p.locator('#operations-operations-health');
    await block.locator('.opblock-summary').click();
    await block.locator('.try-out__btn').click();
    await block.locator('button.execute').click();
    const live = block.locator('.live-responses-table');
    await live.waitFor({ timeout: PATIENCE });
    await waitFor(async () => /"status": "UP"/.test(await live.textContent()), { what: 'health through the proxy' });
    assert.ok(requests.includes('/eventara/api/v1/events/health'), `tried out under the prefix: ${requests.join(', ')}`);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith('/eventara/')),
      [],
      'every request stays under the prefix',
    );
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
    await proxy.close();
  }
});

test('screenshot of the docs page', async () => {
  await page.goto(server.url + '/docs');
  await waitListed(page, ['/api/v1/events']);
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, 'docs.png');
  await page.screenshot({ path: file, fullPage: false });
  assert.ok(fs.statSync(file).size > 10000, 'screenshot written');
});
