package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// runFloor serves the cheapest fan-out this machine can do, for `fanout`
// to measure beside Eventara: the floor that any server with the same
// framing stands on. It is not a STOMP server: it upgrades WebSocket
// connections (offering permessage-deflate as Eventara does), ignores what
// clients send, and once a second compresses one MESSAGE tail (the body
// file, with a timestamp header) and writes it to every connection behind
// a stored-block head of its own, one writev each, from GOMAXPROCS
// goroutines. No actors, no queues, no per-connection state beyond the
// socket. It answers the HTTP requests `fanout --realistic` makes (the
// events POST with 202, GET /api/v1/metrics with the body).
func runFloor(args []string) error {
	fs := flag.NewFlagSet("floor-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	bodyFile := fs.String("body", "", "the snapshot JSON to push (for example a saved GET /api/v1/metrics)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return fmt.Errorf("--body: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	f := &floor{body: body}
	go f.tick()
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil // closed by a signal
		}
		go f.serve(c)
	}
}

type floor struct {
	body  []byte
	mu    sync.Mutex
	conns []net.Conn
}

func (f *floor) serve(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		c.Close()
		return
	}
	if req.Header.Get("Upgrade") == "" {
		_, _ = io.Copy(io.Discard, req.Body)
		status, out := "200 OK", f.body
		if req.Method == http.MethodPost {
			status, out = "202 Accepted", []byte("{}")
		}
		fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", status, len(out))
		_, _ = c.Write(out)
		c.Close()
		return
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: v12.stomp\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	_, _ = io.Copy(io.Discard, br)
}

func (f *floor) tick() {
	for seq := 1; ; seq++ {
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		f.push(seq, time.Now())
	}
}

// push writes one MESSAGE, built at now, to every connection.
func (f *floor) push(seq int, now time.Time) {
	tail := "destination:/topic/metrics\ncontent-type:application/json\ntimestamp:" + strconv.FormatInt(now.UnixMilli(), 10) +
		"\ncontent-length:" + strconv.Itoa(len(f.body)) + "\n\n" + string(f.body) + "\x00"
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = w.Write([]byte(tail))
	_ = w.Flush()
	compressed := bytes.TrimSuffix(z.Bytes(), syncTail)
	f.mu.Lock()
	conns := append([]net.Conn(nil), f.conns...)
	f.mu.Unlock()
	var wg sync.WaitGroup
	n := runtime.GOMAXPROCS(0)
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(conns); i += n {
				head := "MESSAGE\nsubscription:sub-0\nmessage-id:floor-" + strconv.Itoa(seq) + "\n"
				plen := 5 + len(head) + len(compressed)
				hb := make([]byte, 0, 15+len(head))
				hb = append(hb, 0xC1, 127) // FIN, RSV1, text; 64-bit length
				hb = binary.BigEndian.AppendUint64(hb, uint64(plen))
				hb = append(hb, 0) // a stored block: BFINAL 0, BTYPE 00
				hb = binary.LittleEndian.AppendUint16(hb, uint16(len(head)))
				hb = binary.LittleEndian.AppendUint16(hb, ^uint16(len(head)))
				hb = append(hb, head...)
				bufs := net.Buffers{hb, compressed}
				_, _ = bufs.WriteTo(conns[i])
			}
		}()
	}
	wg.Wait()
}
