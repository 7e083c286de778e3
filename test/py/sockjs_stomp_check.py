"""sockjs_stomp_check drives clients/python/sockjs_client.py against a real
eventara: STOMP CONNECT, SUBSCRIBE /topic/metrics, wait for MESSAGEs,
DISCONNECT with a receipt. It prints one JSON line; test/push_test.go judges it.

Run: PYTHONPATH=clients/python /usr/bin/python3 test/py/sockjs_stomp_check.py http://127.0.0.1:8080/ws [messages [patience]]

Each wait lasts until what it waits for has happened, or patience seconds
(default 30: generous, since only a failing run waits it out).
"""
import json
import sys
import threading
import time

from sockjs_client import SockJSClient

NUL = "\x00"


def stomp(command, headers=None, body=""):
    lines = [command] + ["%s:%s" % kv for kv in (headers or {}).items()]
    return "\n".join(lines) + "\n\n" + body + NUL


def parse(data):
    """parse splits one transport message into STOMP frames (ignoring EOL heart-beats)."""
    frames = []
    for raw in data.split(NUL):
        raw = raw.lstrip("\r\n")
        if not raw:
            continue
        head, _, body = raw.partition("\n\n")
        lines = head.split("\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.rstrip("\r").partition(":")
            headers.setdefault(k, v)
        frames.append({"command": lines[0].rstrip("\r"), "headers": headers, "body": body})
    return frames


def main():
    url = sys.argv[1]
    want = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    patience = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    result = {"open": False, "connected": None, "messages": [], "receipt": None,
              "errors": [], "close": None}
    got_receipt = threading.Event()
    enough = threading.Event()

    def on_open(client):
        result["open"] = True
        client.send(stomp("CONNECT", {"accept-version": "1.2,1.1,1.0", "host": "localhost",
                                      "heart-beat": "0,0"}))

    def on_message(client, message):
        for f in parse(message):
            if f["command"] == "CONNECTED":
                result["connected"] = f["headers"]
                client.send(stomp("SUBSCRIBE", {"id": "sub-0", "destination": "/topic/metrics"}))
            elif f["command"] == "MESSAGE":
                body = json.loads(f["body"])
                result["messages"].append({"at": time.time(), "headers": f["headers"],
                                           "totalEvents": body["summary"]["totalEvents"]})
                if len(result["messages"]) >= want:
                    enough.set()
            elif f["command"] == "RECEIPT":
                result["receipt"] = f["headers"]
                got_receipt.set()
            else:
                result["errors"].append(f)

    def on_error(client, err):
        result["errors"].append(str(err))

    def on_close(client, code, reason):
        result["close"] = [code, reason]
        enough.set()
        got_receipt.set()

    client = SockJSClient(url, on_open=on_open, on_message=on_message,
                          on_error=on_error, on_close=on_close)
    client.start()
    enough.wait(patience)
    if client.connected:
        client.send(stomp("DISCONNECT", {"receipt": "bye"}))
        got_receipt.wait(patience)
        # The server closes the session after the RECEIPT: wait for that
        # rather than close from this thread, which races websocket-client
        # 1.2's reader ("'NoneType' object has no attribute 'sock'").
        client.wait_closed(patience)
    if not client.wait_closed(0):
        client.close()
        client.wait_closed(patience)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
