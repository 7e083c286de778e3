#!/usr/bin/env node
// stomp-client.mjs runs two real STOMP clients (A and B) against an eventara
// server, set up exactly as the WebSocket API document does, and prints one
// JSON line describing what they saw. test/push_test.go runs it and judges it.
//
//   node stomp-client.mjs --url http://127.0.0.1:8080 --transport xhr-streaming
//
// --transport is a SockJS transport (websocket, xhr-streaming, xhr-polling,
// eventsource, …), `default` (SockJS chooses, as in the document), or one of
// the plain-WebSocket forms:
//   plain-factory  webSocketFactory: () => new WebSocket(ws://…/ws, ['v12.stomp','v11.stomp','v10.stomp'])
//   plain-broker   brokerURL: 'ws://…/ws' (stompjs picks the subprotocols)
// --path overrides the endpoint path (default /ws; /ws/websocket also works
// for the plain forms).
//
// The run: A and B connect and do what the seed does on connect (subscribe to
// /topic/metrics, publish {action:'subscribe'} to /app/subscribe). Once both
// have seen a tick, A waits for its next MESSAGE plus --probe-delay ms and
// publishes to /app/subscribe again: A should get the current snapshot again
// and B nothing. The run goes on until A has that answer, B has a snapshot
// built after it (so that a copy sent to B by mistake would have arrived),
// and both have seen --ticks distinct snapshots; then both DISCONNECT with a
// receipt.
//
// Nothing here waits a fixed time for something to happen: each step waits
// for what it needs, up to --patience ms (generous: a busy machine is slow,
// and only a failing run waits it out). test/push_test.go judges the record
// by what arrived and in what order, not by how soon.
import { parseArgs } from 'node:util';
import SockJS from 'sockjs-client';
import { Client } from '@stomp/stompjs';
import { WebSocket } from 'ws';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    transport: { type: 'string', default: 'websocket' },
    path: { type: 'string', default: '/ws' },
    ticks: { type: 'string', default: '5' },
    'probe-delay': { type: 'string', default: '400' },
    patience: { type: 'string', default: '30000' },
    timeout: { type: 'string', default: '120000' },
    debug: { type: 'boolean', default: false },
  },
});

const t0 = Date.now();
const now = () => Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => { if (opts.debug) console.error(`[${now() - t0}ms]`, ...a); };

const httpBase = opts.url.replace(/\/+$/, '');
const wsBase = httpBase.replace(/^http/, 'ws');
const plain = opts.transport.startsWith('plain-');

// makeClient builds one client the way the seed document does.
function makeClient(name) {
  const rec = {
    name,
    transport: opts.transport,
    connects: 0,
    connected: null, // {at, headers}
    subscribedAt: null,
    publishes: [], // times A/B sent to /app/subscribe
    messages: [], // {at, headers, bodyLength, body?}
    receipt: null, // {at, headers}
    disconnectSentAt: null,
    stompErrors: [],
    wsErrors: [],
    closes: [],
    frames: [], // summary of debug lines
  };
  const config = {
    debug: (str) => {
      log(name, str.slice(0, 200));
      if (rec.frames.length < 200) rec.frames.push(`${now() - t0}ms ${str.slice(0, 160)}`);
    },
    reconnectDelay: 3000, // Reconnect after 3 seconds
    heartbeatIncoming: 4000,
    heartbeatOutgoing: 4000,
  };
  if (opts.transport === 'plain-broker') {
    // stompjs creates `new WebSocket(brokerURL, protocols)`; Node 20 has no
    // global WebSocket, so give it the `ws` package's.
    globalThis.WebSocket = WebSocket;
    config.brokerURL = wsBase + opts.path;
  } else if (opts.transport === 'plain-factory') {
    config.webSocketFactory = () => new WebSocket(wsBase + opts.path, ['v12.stomp', 'v11.stomp', 'v10.stomp']);
  } else {
    // The seed: const socket = new SockJS('http://localhost:8080/ws'); webSocketFactory: () => socket
    // --transport default: no transports option, SockJS picks (as the seed).
    const socket = opts.transport === 'default'
      ? new SockJS(httpBase + opts.path)
      : new SockJS(httpBase + opts.path, null, { transports: [opts.transport] });
    config.webSocketFactory = () => socket;
  }
  const stompClient = new Client(config);
  stompClient.onConnect = (frame) => {
    rec.connects++;
    rec.connected = { at: now(), headers: { ...frame.headers } };
    // The negotiated WebSocket subprotocol (plain forms) or SockJS transport.
    const sock = stompClient.webSocket || {};
    rec.subprotocol = sock.protocol || '';
    rec.sockjsTransport = sock.transport || '';
    // Subscribe to metrics topic
    stompClient.subscribe('/topic/metrics', (message) => {
      const m = { at: now(), headers: { ...message.headers }, bodyLength: message.body.length };
      try {
        JSON.parse(message.body);
        m.json = true;
      } catch {
        m.json = false;
      }
      // Keep the first, the last and every fourth body whole; the test
      // validates them against the schema.
      if (rec.messages.length % 4 === 0) m.body = message.body;
      rec.messages.push(m);
    });
    rec.subscribedAt = now();
    // Request initial metrics (optional)
    stompClient.publish({ destination: '/app/subscribe', body: JSON.stringify({ action: 'subscribe' }) });
    rec.publishes.push(now());
  };
  stompClient.onStompError = (frame) => {
    rec.stompErrors.push({ at: now(), headers: { ...frame.headers }, body: frame.body });
  };
  stompClient.onWebSocketError = (event) => {
    rec.wsErrors.push({ at: now(), error: String((event && (event.message || event.type)) || event) });
  };
  stompClient.onWebSocketClose = (event) => {
    rec.closes.push({ at: now(), code: event && event.code, reason: event && event.reason });
  };
  stompClient.onDisconnect = (frame) => {
    rec.receipt = { at: now(), command: frame.command, headers: { ...frame.headers } };
  };
  return { stompClient, rec };
}

function lastMessage(rec) {
  return rec.messages[rec.messages.length - 1];
}

async function until(what, fn, ms) {
  const deadline = now() + ms;
  while (!fn()) {
    if (now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

// distinctTicks counts MESSAGEs with a timestamp header not seen before.
function distinctTicks(rec) {
  return new Set(rec.messages.map((m) => m.headers.timestamp)).size;
}

// repeatsSince counts MESSAGEs arriving at or after `since` whose timestamp
// an earlier MESSAGE already had: answers to the client's own requests.
function repeatsSince(rec, since) {
  const seen = new Set();
  let n = 0;
  for (const m of rec.messages) {
    if (seen.has(m.headers.timestamp)) {
      if (m.at >= since) n++;
    } else {
      seen.add(m.headers.timestamp);
    }
  }
  return n;
}

async function main() {
  const a = makeClient('A');
  const b = makeClient('B');
  const result = { transport: opts.transport, url: httpBase + opts.path, start: t0, ok: false, error: null, probe: null };
  const overall = setTimeout(() => {
    result.error = result.error || `overall timeout ${opts.timeout} ms`;
    finish(result, a, b, 1);
  }, Number(opts.timeout));
  try {
    const patience = Number(opts.patience);
    // Activate connection
    a.stompClient.activate();
    b.stompClient.activate();
    await until('both clients CONNECTED', () => a.rec.connected && b.rec.connected, patience);
    await until('a MESSAGE on both', () => a.rec.messages.length > 0 && b.rec.messages.length > 0, patience);
    // Both have seen at least one scheduled tick after their first snapshot.
    await until('two snapshots on both', () => distinctTicks(a.rec) >= 2 && distinctTicks(b.rec) >= 2, patience);
    // Probe: right after A's next tick plus a pause, A asks for the snapshot.
    // (The pause puts the probe between ticks on an idle machine; the
    // judgement does not depend on it.)
    const seen = a.rec.messages.length;
    await until('next tick on A', () => a.rec.messages.length > seen, patience);
    await sleep(Number(opts['probe-delay']));
    const probe = { at: now(), aBefore: a.rec.messages.length, bBefore: b.rec.messages.length };
    a.stompClient.publish({ destination: '/app/subscribe', body: JSON.stringify({ action: 'subscribe' }) });
    a.rec.publishes.push(probe.at);
    result.probe = probe;
    // A's answer: a snapshot it already had, again, after the probe (or the
    // next tick's, whose scheduled copy is then the repeat).
    await until('the answer to the probe on A', () => repeatsSince(a.rec, probe.at) >= 1, patience);
    probe.answeredAt = now();
    // B's stream past the answer: a snapshot built after A had its answer.
    // The server hands a subscription its snapshots in order, so a copy of
    // the answer sent to B by mistake would have come before it.
    await until('a snapshot built after the answer on B', () =>
      b.rec.messages.some((m) => Number(m.headers.timestamp) > probe.answeredAt), patience);
    const ticks = Number(opts.ticks);
    await until(`${ticks} distinct snapshots on both`, () => distinctTicks(a.rec) >= ticks && distinctTicks(b.rec) >= ticks, patience);
    // Gracefully disconnect: DISCONNECT with a receipt, then close.
    a.rec.disconnectSentAt = now();
    b.rec.disconnectSentAt = now();
    await Promise.all([
      Promise.race([a.stompClient.deactivate(), sleep(patience)]),
      Promise.race([b.stompClient.deactivate(), sleep(patience)]),
    ]);
    await until('DISCONNECT receipts', () => a.rec.receipt && b.rec.receipt, patience).catch((e) => {
      result.error = e.message;
    });
    result.ok = !result.error;
  } catch (e) {
    result.error = e.message;
    a.stompClient.deactivate().catch(() => {});
    b.stompClient.deactivate().catch(() => {});
  }
  clearTimeout(overall);
  finish(result, a, b, result.ok ? 0 : 1);
}

let finished = false;
function finish(result, a, b, code) {
  if (finished) return;
  finished = true;
  result.clients = [a.rec, b.rec];
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

main();
