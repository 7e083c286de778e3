package sockjs

import (
	"bytes"
	"compress/flate"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/protocol/sockjs"
)

// The framings of one snapshot MESSAGE that only this transport needs:
// its shared STOMP tail escaped for a SockJS JSON string, and both tails
// compressed for permessage-deflate. The topic builds the STOMP tail once
// per tick (actors.Shared); each framing of it is built here once per
// Shared, by the first connection that needs it, and every other
// connection reuses those bytes: per-subscriber work stays the head and a
// write (the invariant "one encode per tick", guarded by
// TestFramingsBuiltOncePerSnapshot). A tick whose clients need no SockJS
// or no compression builds none.

// framingsOf returns the framings of sh, creating the (empty) entry on
// first use. Safe for concurrent use.
func framingsOf(sh *actors.Shared) *framings { return cache.of(sh) }

// framings holds one Shared's framings, each built on first need.
// Read-only once built.
type framings struct {
	escaped        lazyBytes
	stompDeflated  lazyBytes
	sockJSDeflated lazyBytes
	builds         atomic.Int32 // framings built so far (for tests)
}

// lazyBytes is bytes built once, on first get.
type lazyBytes struct {
	once sync.Once
	b    []byte
}

func (l *lazyBytes) get(f *framings, build func() []byte) []byte {
	l.once.Do(func() {
		l.b = build()
		f.builds.Add(1)
	})
	return l.b
}

// sockJSTail is sh.STOMPTail escaped as the inside of a SockJS JSON string
// (without quotes), so a SockJS frame is a[" + escape(head) + this + "].
func (f *framings) sockJSTail(sh *actors.Shared) []byte {
	return f.escaped.get(f, func() []byte {
		return sockjs.AppendEscaped(make([]byte, 0, len(sh.STOMPTail)+len(sh.STOMPTail)/8+16), sh.STOMPTail)
	})
}

// stompDeflate is sh.STOMPTail compressed for a client that negotiated
// permessage-deflate (RFC 7692) with server_no_context_takeover: a
// compressed message is then the per-subscriber head as a stored
// (uncompressed) DEFLATE block followed by these bytes, so no connection
// needs a compressor. Nil when compression failed: such messages go out
// uncompressed.
func (f *framings) stompDeflate(sh *actors.Shared) []byte {
	return f.stompDeflated.get(f, func() []byte { return deflateTail(sh.STOMPTail, "") })
}

// sockJSDeflate is sockJSTail plus the closing `"]`, compressed the same
// way: the rest of a SockJS a["..."] frame after a[" and the escaped head.
func (f *framings) sockJSDeflate(sh *actors.Shared) []byte {
	return f.sockJSDeflated.get(f, func() []byte {
		return deflateTail(f.sockJSTail(sh), sockjs.MessageEnd+sockjs.ArrayEnd)
	})
}

// framingCache maps a Shared to its framings for as long as the Shared is
// alive: entries are keyed by weak pointer and removed by a cleanup once
// the garbage collector frees the Shared, so a connection still holding
// an older snapshot in its queue finds that snapshot's framings, never
// builds them again, and nothing needs evicting by hand. The newest
// lookup is kept aside so the common case (every connection asking for
// this tick's Shared) is one atomic load.
type framingCache struct {
	last atomic.Pointer[cacheEntry]

	mu sync.Mutex
	m  map[weak.Pointer[actors.Shared]]*framings
}

type cacheEntry struct {
	sh *actors.Shared
	f  *framings
}

var cache = framingCache{m: make(map[weak.Pointer[actors.Shared]]*framings)}

func (c *framingCache) of(sh *actors.Shared) *framings {
	if e := c.last.Load(); e != nil && e.sh == sh {
		return e.f
	}
	k := weak.Make(sh)
	c.mu.Lock()
	f := c.m[k]
	if f == nil {
		f = new(framings)
		c.m[k] = f
		runtime.AddCleanup(sh, c.forget, k)
	}
	c.mu.Unlock()
	c.last.Store(&cacheEntry{sh: sh, f: f})
	return f
}

// forget drops the entry of a Shared the garbage collector freed.
func (c *framingCache) forget(k weak.Pointer[actors.Shared]) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// len is the number of cached entries (for tests).
func (c *framingCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// deflateLevel trades the once-per-snapshot compression time for bytes
// every subscriber's connection moves; one connection pays it per tick.
const deflateLevel = flate.BestCompression

var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, deflateLevel)
	return w
}}

// deflateTail compresses p and then suffix as one independent run of raw
// DEFLATE blocks, as permessage-deflate sends a message whose sender keeps
// no context: a fresh compressor, a sync flush, and its trailing
// 00 00 ff ff removed (RFC 7692 section 7.2.1). The output starts on a
// byte boundary, so it may follow stored blocks of per-subscriber bytes.
func deflateTail(p []byte, suffix string) []byte {
	var out bytes.Buffer
	out.Grow(len(p)/4 + 64)
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&out)
	if _, err := w.Write(p); err != nil {
		return nil
	}
	if _, err := io.WriteString(w, suffix); err != nil {
		return nil
	}
	if err := w.Flush(); err != nil {
		return nil
	}
	b := out.Bytes()
	if !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
		return nil
	}
	return b[: len(b)-4 : len(b)-4]
}
