"""Offline tests of clients/python/sockjs_client.py (no server needed).

Run: PYTHONPATH=clients/python /usr/bin/python3 -m unittest discover -s test/py -p 'test_*.py'
"""
import unittest

from sockjs_client import SockJSError, _call, decode_frame, encode_messages, session_url


class FrameTest(unittest.TestCase):
    def test_decode(self):
        cases = [
            ("o", ("open", None)),
            ("h", ("heartbeat", None)),
            ('a["x","y\\u0000z"]', ("messages", ["x", "y\x00z"])),
            ('a[]', ("messages", [])),
            ('m"one"', ("messages", ["one"])),
            ('c[3000,"Go away!"]', ("close", (3000, "Go away!"))),
        ]
        for frame, want in cases:
            with self.subTest(frame=frame):
                self.assertEqual(decode_frame(frame), want)

    def test_decode_rejects(self):
        for frame in ["", "x", "oo", "a", "a[1]", 'a"x"', "c[1]", "c[", 'm[1]']:
            with self.subTest(frame=frame):
                with self.assertRaises(SockJSError):
                    decode_frame(frame)

    def test_encode(self):
        self.assertEqual(encode_messages("CONNECT\n\n\x00"), '["CONNECT\\n\\n\\u0000"]')
        self.assertEqual(encode_messages("a", "b"), '["a","b"]')


class URLTest(unittest.TestCase):
    def test_session_url(self):
        self.assertEqual(session_url("http://h:8080/ws", "123", "abc"), "ws://h:8080/ws/123/abc/websocket")
        self.assertEqual(session_url("https://h/ws/", "1", "s"), "wss://h/ws/1/s/websocket")
        self.assertEqual(session_url("ws://h/ws", "1", "s"), "ws://h/ws/1/s/websocket")
        self.assertRegex(session_url("http://h/ws"), r"^ws://h/ws/\d{3}/[a-z0-9]{16}/websocket$")
        with self.assertRaises(ValueError):
            session_url("ftp://h/ws")
        with self.assertRaises(ValueError):
            session_url("http://h/ws", "1", "a.b")


class CallTest(unittest.TestCase):
    def test_arity(self):
        got = []
        _call(lambda c: got.append((c,)), 1, 2, 3)
        _call(lambda c, code, reason: got.append((c, code, reason)), 1, 2, 3)
        _call(lambda *a: got.append(a), 1, 2, 3)
        self.assertEqual(got, [(1,), (1, 2, 3), (1, 2, 3)])


if __name__ == "__main__":
    unittest.main()
