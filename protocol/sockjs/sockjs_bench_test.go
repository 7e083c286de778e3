package sockjs

import (
	"bytes"
	"testing"
)

func BenchmarkAppendEscapedSnapshot(b *testing.B) {
	src := bytes.Repeat([]byte(`{"type":"page_view","count":12345,"rate":1.25},`+"\n"), 420)
	dst := make([]byte, 0, 2*len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendEscaped(dst[:0], src)
	}
}

func BenchmarkAppendEscapedHead(b *testing.B) {
	src := []byte("MESSAGE\nsubscription:sub-0\nmessage-id:123456\n")
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendEscaped(dst[:0], src)
	}
}

func BenchmarkDecodeMessages(b *testing.B) {
	src := []byte(`["SEND\ndestination:/app/subscribe\ncontent-length:26\n\n{\"action\":\"subscribe\"}\u0000"]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessages(src); err != nil {
			b.Fatal(err)
		}
	}
}
