package stomp

import "testing"

func BenchmarkDecodeSend(b *testing.B) {
	in := []byte("SEND\ndestination:/app/subscribe\ncontent-type:application/json\ncontent-length:22\n\n{\"action\":\"subscribe\"}\x00")
	d := NewDecoder(Limits{})
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		d.Feed(in)
		f, _, err := d.Next()
		if err != nil || f == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMessageHead(b *testing.B) {
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		seq++
		buf = AppendMessageHead(buf[:0], V12, "sub-0", "s4f2a9c-1-", seq)
	}
}
