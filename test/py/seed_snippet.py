# The Python example of the WebSocket API document, as written there, with
# two changes for the tests: the URL comes from EVENTARA_WS_URL (or argv[1]),
# and _bounded() ends the process once SEED_MESSAGES "Received metrics"
# lines were printed and, if SEED_UNTIL is set, that exact line too (or
# after SEED_TIMEOUT seconds, which only a failing run reaches), counting the
# lines on stdout so that the snippet's callbacks stay exactly as the document
# has them.
# Run: PYTHONPATH=clients/python /usr/bin/python3 -u test/py/seed_snippet.py ws://127.0.0.1:8080/ws
import os as _os
import sys as _sys
import threading as _threading

_URL = _sys.argv[1] if len(_sys.argv) > 1 else _os.environ.get("EVENTARA_WS_URL", "ws://localhost:8080/ws")


def _bounded(app):
    limit = int(_os.environ.get("SEED_MESSAGES", "4"))
    until = _os.environ.get("SEED_UNTIL", "")
    timeout = float(_os.environ.get("SEED_TIMEOUT", "60"))
    done = _threading.Event()
    out = _sys.stdout

    class _Counter:
        seen = 0
        until_seen = not until

        def write(self, s):
            n = out.write(s)
            if "Received metrics" in s:
                _Counter.seen += 1
            if until and s.strip() == until:
                _Counter.until_seen = True
            if _Counter.seen >= limit and _Counter.until_seen:
                done.set()
            return n

        def __getattr__(self, name):
            return getattr(out, name)

    _sys.stdout = _Counter()

    def _stop():
        if not done.wait(timeout):
            print("seed_snippet: timed out after %ss" % timeout, file=_sys.stderr, flush=True)
        # Leave without app.close(): websocket-client 1.2 notices a close
        # from another thread only at its next select timeout (10 s), and
        # may report it as an error ("'NoneType' object has no attribute
        # 'sock'") when it races its reader. The exit closes the socket.
        out.flush()
        _os._exit(0)

    _threading.Thread(target=_stop, daemon=True).start()


# --- the document's snippet ---
import json
import websocket
from sockjs_client import SockJSClient

def on_message(ws, message):
    data = json.loads(message)
    print(f"Received metrics: {data['summary']['totalEvents']}")

def on_error(ws, error):
    print(f"Error: {error}")

def on_close(ws):
    print("Connection closed")

def on_open(ws):
    print("Connected")
    # Subscribe to metrics
    ws.send(json.dumps({
        "command": "SUBSCRIBE",
        "destination": "/topic/metrics",
        "id": "sub-0"
    }))

ws = websocket.WebSocketApp(
    _URL,
    on_open=on_open,
    on_message=on_message,
    on_error=on_error,
    on_close=on_close
)
_bounded(ws)
ws.run_forever()
