"""sockjs_client: a small SockJS client for Python over websocket-client.

SockJSClient speaks the SockJS protocol's websocket transport
(``ws://host/prefix/<server>/<session>/websocket``): it opens the session,
answers nothing to ``h`` heart-beat frames, unpacks ``a[...]`` (and ``m"..."``)
frames into single messages, reports ``c[code,"reason"]`` as a close, and sends
each message as a JSON array ``["..."]`` as the protocol requires.

Its callbacks have websocket-client's shape, so code written for
``websocket.WebSocketApp`` works unchanged::

    from sockjs_client import SockJSClient

    def on_message(client, message):
        print(message)

    client = SockJSClient("http://localhost:8080/ws", on_message=on_message)
    client.run_forever()

``on_close`` may take ``(client)`` or ``(client, code, reason)``.

It needs only Debian's ``python3-websocket`` (websocket-client 1.x).
"""

import inspect
import json
import random
import string
import threading
import urllib.parse

import websocket

__all__ = ["SockJSClient", "SockJSError", "decode_frame", "encode_messages", "session_url"]

__version__ = "0.1.0"


class SockJSError(Exception):
    """SockJSError is a frame that breaks the SockJS protocol."""


def _random_server_id():
    return "%03d" % random.randint(0, 999)


def _random_session_id(length=16):
    alphabet = string.ascii_lowercase + string.digits
    return "".join(random.choice(alphabet) for _ in range(length))


def session_url(url, server_id=None, session_id=None):
    """session_url turns a SockJS endpoint (http(s):// or ws(s)://) into the
    websocket transport's URL, ws(s)://host/prefix/<server>/<session>/websocket."""
    parts = urllib.parse.urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError("sockjs_client: unsupported URL scheme %r" % parts.scheme)
    path = parts.path.rstrip("/")
    server_id = server_id or _random_server_id()
    session_id = session_id or _random_session_id()
    for part in (server_id, session_id):
        if not part or "." in part or "/" in part:
            raise ValueError("sockjs_client: bad server or session id %r" % part)
    path = "%s/%s/%s/websocket" % (path, server_id, session_id)
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def decode_frame(frame):
    """decode_frame parses one SockJS frame into (kind, payload).

    kind is "open", "heartbeat", "messages" (payload: list of str) or "close"
    (payload: (code, reason)). Anything else raises SockJSError.
    """
    if not frame:
        raise SockJSError("empty frame")
    kind, body = frame[0], frame[1:]
    if kind == "o" and not body:
        return "open", None
    if kind == "h" and not body:
        return "heartbeat", None
    try:
        if kind == "a":
            msgs = json.loads(body)
            if not isinstance(msgs, list) or not all(isinstance(m, str) for m in msgs):
                raise SockJSError("a frame is not a list of strings: %r" % frame[:80])
            return "messages", msgs
        if kind == "m":
            msg = json.loads(body)
            if not isinstance(msg, str):
                raise SockJSError("m frame is not a string: %r" % frame[:80])
            return "messages", [msg]
        if kind == "c":
            close = json.loads(body)
            if not isinstance(close, list) or len(close) != 2:
                raise SockJSError("c frame is not [code, reason]: %r" % frame[:80])
            return "close", (int(close[0]), str(close[1]))
    except ValueError as err:
        raise SockJSError("bad %s frame: %s" % (kind, err)) from err
    raise SockJSError("unknown frame %r" % frame[:80])


def encode_messages(*messages):
    """encode_messages is what the client sends: a JSON array of strings."""
    return json.dumps([str(m) for m in messages], separators=(",", ":"))


def _call(callback, *args):
    """_call invokes callback with as many of args as it accepts."""
    if callback is None:
        return
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        callback(*args)
        return
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        callback(*args)
        return
    n = sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    callback(*args[:n])


class SockJSClient:
    """SockJSClient is one SockJS session over the websocket transport.

    url is the SockJS endpoint, e.g. "http://localhost:8080/ws". Callbacks:
    on_open(client), on_message(client, message: str), on_error(client, exc),
    on_close(client[, code, reason]). header and subprotocols are passed to
    websocket-client as they are.
    """

    def __init__(self, url, on_open=None, on_message=None, on_error=None, on_close=None,
                 server_id=None, session_id=None, header=None, subprotocols=None):
        self.url = session_url(url, server_id, session_id)
        self.on_open = on_open
        self.on_message = on_message
        self.on_error = on_error
        self.on_close = on_close
        self.close_code = None
        self.close_reason = None
        self._opened = False
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.ws = websocket.WebSocketApp(
            self.url,
            header=header,
            subprotocols=subprotocols,
            on_message=self._on_ws_message,
            on_error=self._on_ws_error,
            on_close=self._on_ws_close,
        )

    @property
    def connected(self):
        """connected is true between the o frame and the close."""
        return self._opened and not self._closed.is_set()

    def run_forever(self, **kwargs):
        """run_forever runs the session until it closes (kwargs go to
        websocket.WebSocketApp.run_forever). on_close is called once when it
        returns, even where websocket-client skips it (a local close)."""
        try:
            return self.ws.run_forever(**kwargs)
        finally:
            self._on_ws_close(self.ws)

    def start(self, **kwargs):
        """start runs the session in a daemon thread and returns the thread."""
        t = threading.Thread(target=self.run_forever, kwargs=kwargs, daemon=True)
        t.start()
        return t

    def send(self, *messages):
        """send sends one or more messages in one frame."""
        if not self.connected:
            raise SockJSError("send on a session that is not open")
        with self._lock:
            self.ws.send(encode_messages(*messages))

    def close(self):
        """close ends the session (SockJS has no client close frame: the
        transport's close is the close)."""
        self.ws.close()

    def wait_closed(self, timeout=None):
        """wait_closed blocks until the session has closed."""
        return self._closed.wait(timeout)

    # websocket-client callbacks

    def _on_ws_message(self, _ws, frame):
        if isinstance(frame, bytes):
            frame = frame.decode("utf-8")
        try:
            kind, payload = decode_frame(frame)
        except SockJSError as err:
            self._error(err)
            self.ws.close()
            return
        if kind == "open":
            if self._opened:
                self._error(SockJSError("second o frame"))
                return
            self._opened = True
            _call(self.on_open, self)
        elif kind == "heartbeat":
            pass
        elif kind == "messages":
            for msg in payload:
                _call(self.on_message, self, msg)
        elif kind == "close":
            self.close_code, self.close_reason = payload
            self.ws.close()

    def _on_ws_error(self, _ws, err):
        self._error(err)

    def _error(self, err):
        _call(self.on_error, self, err)

    def _on_ws_close(self, _ws, code=None, reason=None):
        if self._closed.is_set():
            return
        self._closed.set()
        if self.close_code is None:
            # No c frame: the transport went away.
            self.close_code = 1006 if code is None else code
            self.close_reason = reason or ""
        _call(self.on_close, self, self.close_code, self.close_reason)
