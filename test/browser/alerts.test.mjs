// Browser tests of the dashboard's Alerts view (#/alerts) against the real
// binary: navigation, the rule form's field errors and Test button, and a
// rule created and enabled in the page that fires while error events flow,
// its alert arriving live over /topic/alerts (no reload, no list request),
// acknowledged and resolved through the page, as the API then reports.
//
//   EVENTARA_BIN=../../bin/eventara node --test --test-concurrency=1 alerts.test.mjs
//
// A rule over a 1-minute window needs a whole minute of history before it
// can fire, so the firing test takes a little over a minute; it polls with
// a deadline, never a fixed sleep.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { artifactsDir, Dashboard, EventaraServer, launchBrowser, PATIENCE, waitFor, watchConsole } from './harness.mjs';

/** FIRE_PATIENCE: the window's minute of history, `for`, and a busy machine. */
const FIRE_PATIENCE = 3 * 60 * 1000;

let server;
let browser;
let page;
let consoleErrors;

before(async () => {
  server = await EventaraServer.create();
  await server.start();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  consoleErrors = watchConsole(page);
});

after(async () => {
  await browser?.close();
  if (server && process.exitCode && server.log) console.error(`--- eventara log ---\n${server.log}`);
  await server?.cleanup();
});

async function api(method, p, body) {
  const res = await fetch(server.url + p, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** postMixed POSTs one batch: errs ERROR events and infos INFO ones (test/alerts_test.go's postMixed). */
async function postMixed(errs, infos) {
  const events = Array.from({ length: errs + infos }, (_, i) => ({
    eventType: 'checkout',
    source: 'api',
    severity: i < errs ? 'ERROR' : 'INFO',
  }));
  const res = await fetch(`${server.url}/api/v1/events/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(events),
  });
  if (res.status !== 202) throw new Error(`POST /api/v1/events/batch: ${res.status} ${await res.text()}`);
}

const form = () => page.getByRole('form', { name: 'New rule' });

async function fillRule(f) {
  const fm = form();
  await fm.getByLabel('Name', { exact: true }).fill(f.name);
  await fm.getByLabel('Severity', { exact: true }).selectOption(f.severity);
  await fm.getByLabel('Metric', { exact: true }).selectOption(f.metric);
  await fm.getByLabel('Condition', { exact: true }).selectOption(f.condition);
  await fm.getByLabel('Threshold', { exact: true }).fill(f.threshold);
  await fm.getByLabel('Window, minutes', { exact: true }).fill(f.window);
  await fm.getByLabel('For', { exact: true }).fill(f.for);
}

const checkoutErrors = {
  name: 'Checkout errors',
  severity: 'CRITICAL',
  metric: 'ERROR_RATE',
  condition: 'GREATER_THAN',
  threshold: '5',
  window: '1',
  for: '2s',
};

test('the header switches between the metrics and the Alerts view', async () => {
  await page.goto(server.url + '/');
  const dash = new Dashboard(page);
  await dash.waitState('CONNECTED');
  await page.waitForSelector('[data-testid=total-events]', { timeout: PATIENCE });
  assert.equal(await page.getAttribute('[data-testid=nav-metrics]', 'aria-current'), 'page');
  assert.ok(await page.isVisible('[data-testid=docs-link]'), 'the /docs link stays');

  await page.getByRole('link', { name: 'Alerts' }).click();
  await page.waitForSelector('[data-testid=alerts-view]', { timeout: PATIENCE });
  assert.equal(new URL(page.url()).hash, '#/alerts');
  assert.equal(await page.getAttribute('[data-testid=nav-alerts]', 'aria-current'), 'page');
  await page.getByText('No pending or firing alerts').waitFor({ timeout: PATIENCE });
  await page.getByText('No rules yet').waitFor({ timeout: PATIENCE });
  assert.ok(await page.isVisible('[data-testid=docs-link]'), 'the /docs link stays');
  assert.equal(await page.locator('[data-testid=total-events]').count(), 0, 'the metrics are not shown');

  await page.getByRole('link', { name: 'Metrics' }).click();
  await page.waitForSelector('[data-testid=total-events]', { timeout: PATIENCE });
  // A deep link opens the Alerts view; the connection is the same one.
  await page.goto(server.url + '/#/alerts');
  await page.waitForSelector('[data-testid=alerts-view]', { timeout: PATIENCE });
  await dash.waitState('CONNECTED');
  assert.deepEqual(consoleErrors, []);
});

test('the rule form shows the server’s field error for a bad threshold, and creates nothing', async () => {
  await fillRule({ ...checkoutErrors, threshold: 'lots' });
  await form().getByRole('button', { name: 'Test' }).click();
  const err = page.locator('[data-testid=error-threshold]');
  await err.waitFor({ timeout: PATIENCE });
  assert.match(await err.textContent(), /thresholdValue must be a valid number/);
  assert.equal(await form().getByLabel('Threshold', { exact: true }).getAttribute('aria-invalid'), 'true');

  await form().getByRole('button', { name: 'Create rule' }).click();
  await waitFor(async () => (await page.locator('[data-testid=rule-form] [role=alert]').count()) > 0, { what: 'the form error' });
  assert.match(await err.textContent(), /thresholdValue must be a valid number/);
  const rules = await api('GET', '/api/v1/rules');
  assert.deepEqual(rules.body, [], 'no rule created');

  // Fixed: the error goes, and Test reports the rule valid, with the server's warning.
  await form().getByLabel('Threshold', { exact: true }).fill('5');
  await form().getByRole('button', { name: 'Test' }).click();
  const result = page.locator('[data-testid=rule-test-result]');
  await result.waitFor({ timeout: PATIENCE });
  assert.equal(await result.getAttribute('data-success'), 'true');
  assert.match(await result.textContent(), /Rule is valid/);
  assert.match(await result.textContent(), /needs 1m of history/);
  assert.equal(await err.count(), 0, 'the field error is gone');
});

test('a rule created and enabled in the page fires; the alert shows live; acknowledge and resolve in the page', async (t) => {
  // Create it through the form.
  await fillRule(checkoutErrors);
  await form().getByRole('button', { name: 'Create rule' }).click();
  await page.locator('[data-testid=rule-created]').waitFor({ timeout: PATIENCE });
  const row = page.locator('[data-testid=rule]', { hasText: 'Checkout errors' });
  await row.waitFor({ timeout: PATIENCE });
  assert.equal(await row.getAttribute('data-status'), 'DRAFT');
  const ruleId = await row.getAttribute('data-rule-id');
  const stored = await api('GET', `/api/v1/rules/${ruleId}`);
  assert.equal(stored.status, 200);
  assert.deepEqual(stored.body.ruleConfig, { metricType: 'ERROR_RATE', condition: 'GREATER_THAN', thresholdValue: 5, timeWindowMinutes: 1, for: '2s' });
  assert.equal(stored.body.severity, 'CRITICAL');

  // Enable it.
  await page.getByRole('button', { name: 'Enable rule Checkout errors' }).click();
  await waitFor(async () => (await row.getAttribute('data-status')) === 'ACTIVE', { what: 'the rule ACTIVE in the page' });
  assert.equal((await api('GET', `/api/v1/rules/${ruleId}`)).body.status, 'ACTIVE');
  assert.ok(await page.getByRole('button', { name: 'Disable rule Checkout errors' }).isVisible());

  // From here on, the page must learn of the alert by the push alone.
  const alertLists = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/alerts') alertLists.push(u.search);
  });
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });

  // Errors flow: half the events fail, until the alert fires.
  const started = Date.now();
  const alertItem = page.locator('[data-testid=alert]', { hasText: 'Checkout errors' });
  await waitFor(
    async () => {
      await postMixed(2, 2);
      return (await alertItem.count()) > 0 && (await alertItem.getAttribute('data-state')) === 'FIRING';
    },
    { timeout: FIRE_PATIENCE, interval: 500, what: 'the alert FIRING in the page' },
  );
  t.diagnostic(`fired in the page ${Math.round((Date.now() - started) / 1000)} s after the errors began`);
  assert.deepEqual(alertLists, [], 'no alert list was fetched: the alert came over /topic/alerts');
  assert.equal(navigations, 0, 'no reload');
  assert.equal(await page.textContent('[data-testid=firing-count]'), '1 firing');
  const alertId = await alertItem.getAttribute('data-alert-id');
  assert.equal((await api('GET', `/api/v1/alerts/${alertId}`)).body.status, 'FIRING');

  // Keep the condition true while people handle the alert, so it does not
  // resolve by itself meanwhile.
  let feeding = true;
  const feeder = (async () => {
    while (feeding) {
      await postMixed(2, 2);
      await new Promise((r) => setTimeout(r, 500)); // traffic, not a wait for a result
    }
  })();
  try {
    // A second operator's tab, opened now, lists the alert from the API and
    // starts acknowledging it too.
    const other = await browser.context.newPage();
    const otherErrors = watchConsole(other);
    await other.goto(server.url + '/#/alerts');
    const otherItem = other.locator(`[data-testid=alert][data-alert-id="${alertId}"]`);
    await otherItem.waitFor({ timeout: PATIENCE });
    await other.getByRole('button', { name: 'Acknowledge alert Checkout errors' }).click();

    // Acknowledge in the first page, with who and a note.
    await page.getByRole('button', { name: 'Acknowledge alert Checkout errors' }).click();
    const ack = page.getByRole('form', { name: 'Acknowledge alert Checkout errors' });
    await ack.getByLabel('Who').fill('ann');
    await ack.getByLabel('Note').fill('looking');
    await ack.getByRole('button', { name: 'Acknowledge' }).click();
    await waitFor(async () => (await alertItem.getAttribute('data-state')) === 'ACKNOWLEDGED', { what: 'ACKNOWLEDGED in the page' });
    assert.match(await alertItem.locator('[data-testid=acknowledged-by]').textContent(), /ann.*looking/);
    const acked = (await api('GET', `/api/v1/alerts/${alertId}`)).body;
    assert.equal(acked.status, 'FIRING');
    assert.equal(acked.acknowledgedBy, 'ann');
    assert.equal(acked.acknowledgmentNotes, 'looking');
    assert.ok(acked.acknowledgedAt, 'acknowledgedAt set');

    // The other tab sees it live; its own acknowledgement is refused (409),
    // and the page says why.
    await waitFor(async () => (await otherItem.getAttribute('data-state')) === 'ACKNOWLEDGED', { what: 'ACKNOWLEDGED in the other tab' });
    const otherAck = other.getByRole('form', { name: 'Acknowledge alert Checkout errors' });
    await otherAck.getByLabel('Who').fill('bob');
    await otherAck.getByRole('button', { name: 'Acknowledge' }).click();
    const refusal = other.locator('[data-testid=action-error]');
    await refusal.waitFor({ timeout: PATIENCE });
    assert.match(await refusal.textContent(), /acknowledged/i);
    assert.equal((await api('GET', `/api/v1/alerts/${alertId}`)).body.acknowledgedBy, 'ann', 'still ann’s');
    await other.close();
    assert.deepEqual(
      otherErrors.filter((e) => !/status of 409/.test(e)),
      [],
      'no console error but the refused call',
    );

    fs.mkdirSync(artifactsDir, { recursive: true });
    const file = path.join(artifactsDir, 'alerts.png');
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 10000, 'screenshot written');

    // Resolve in the page; it moves to "Recently resolved".
    await page.getByRole('button', { name: 'Resolve alert Checkout errors' }).click();
    const res = page.getByRole('form', { name: 'Resolve alert Checkout errors' });
    assert.equal(await res.getByLabel('Who').inputValue(), 'ann', 'who is remembered');
    await res.getByLabel('Note').fill('rolled back');
    await res.getByRole('button', { name: 'Resolve' }).click();
    const done = page.locator(`[data-testid=resolved-alert][data-alert-id="${alertId}"]`);
    await done.waitFor({ timeout: PATIENCE });
    assert.match(await done.textContent(), /by ann: rolled back/);
    assert.equal(await alertItem.count(), 0, 'no longer open');
    const resolved = (await api('GET', `/api/v1/alerts/${alertId}`)).body;
    assert.equal(resolved.status, 'RESOLVED');
    assert.equal(resolved.resolutionType, 'MANUAL');
    assert.equal(resolved.resolvedBy, 'ann');
  } finally {
    feeding = false;
    await feeder;
  }
  // The rule's trigger count followed the push.
  await waitFor(async () => (await row.locator('td').nth(4).textContent()) === '1', { what: 'the rule fired once' });
});

test('a duplicate rule name is refused next to the name', async () => {
  await fillRule(checkoutErrors);
  await form().getByRole('button', { name: 'Create rule' }).click();
  const err = page.locator('[data-testid=error-name]');
  await err.waitFor({ timeout: PATIENCE });
  assert.match(await err.textContent(), /already used by rule/);
  assert.equal((await api('GET', '/api/v1/rules')).body.length, 1);
  // The only console errors are the refused calls this file made on purpose.
  assert.deepEqual(
    consoleErrors.filter((e) => !/status of (400|409)/.test(e)),
    [],
  );
});
