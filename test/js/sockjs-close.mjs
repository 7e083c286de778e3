#!/usr/bin/env node
// sockjs-close.mjs opens one sockjs-client session with one transport and
// prints, as one JSON line, whether it opened and how it closed:
//
//   node sockjs-close.mjs --url http://127.0.0.1:8080/ws --transport xhr-polling
//   {"opened":false,"close":{"code":1013,"reason":"…","wasClean":true}}
//
// An opened session is closed by the script after --hold ms. test/limits_sessions_test.go
// runs it to see how a refused session looks to a real client.
import { parseArgs } from 'node:util';
import SockJS from 'sockjs-client';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080/ws' },
    transport: { type: 'string', default: 'websocket' },
    hold: { type: 'string', default: '200' },
    timeout: { type: 'string', default: '20000' },
  },
});

const result = { transport: opts.transport, opened: false, close: null };
const done = (code) => process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
setTimeout(() => { result.error = `no close within ${opts.timeout} ms`; done(1); }, Number(opts.timeout));

const sock = new SockJS(opts.url, null, { transports: [opts.transport] });
sock.onopen = () => {
  result.opened = true;
  result.openedTransport = sock.transport;
  setTimeout(() => sock.close(), Number(opts.hold));
};
sock.onclose = (e) => {
  result.close = { code: e.code, reason: e.reason, wasClean: e.wasClean };
  done(0);
};
