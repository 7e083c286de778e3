package stomp

import (
	"errors"
	"testing"
	"time"
)

func TestNegotiateVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		present bool
		want    Version
		err     error
	}{
		{"", false, V10, nil},
		{"1.2,1.1,1.0", true, V12, nil},
		{"1.0,1.1", true, V11, nil},
		{"1.0", true, V10, nil},
		{" 1.1 , 2.0", true, V11, nil},
		{"2.0", true, 0, ErrVersion},
		{"", true, 0, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := NegotiateVersion(tt.in, tt.present)
			if !errors.Is(err, tt.err) || (err == nil && got != tt.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestHeartBeat(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name             string
		client, server   string
		wantSend, wantRx time.Duration
		err              error
	}{
		{"stompjs 4000,4000 vs 10000,10000", "4000,4000", "10000,10000", 10000 * ms, 10000 * ms, nil},
		{"client faster than server minimum", "4000,4000", "1000,2000", 4000 * ms, 4000 * ms, nil},
		{"client wants none", "0,0", "10000,10000", 0, 0, nil},
		{"absent header", "", "10000,10000", 0, 0, nil},
		{"client only receives", "0,5000", "10000,10000", 10000 * ms, 0, nil},
		{"server cannot send", "5000,5000", "0,10000", 0, 10000 * ms, nil},
		{"spaces", " 100 , 200 ", "10,10", 200 * ms, 100 * ms, nil},
		{"garbage", "a,b", "10,10", 0, 0, ErrHeartBeat},
		{"one value", "100", "10,10", 0, 0, ErrHeartBeat},
		{"negative", "-1,0", "10,10", 0, 0, ErrHeartBeat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseHeartBeat(tt.client)
			if !errors.Is(err, tt.err) {
				t.Fatalf("parse err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			s, err := ParseHeartBeat(tt.server)
			if err != nil {
				t.Fatal(err)
			}
			send, rx := NegotiateHeartBeat(c, s)
			if send != tt.wantSend || rx != tt.wantRx {
				t.Fatalf("got send %v receive %v, want %v %v", send, rx, tt.wantSend, tt.wantRx)
			}
		})
	}
	if got := (HeartBeat{Send: 10 * time.Second, Receive: 1500 * ms}).String(); got != "10000,1500" {
		t.Fatalf("String = %q", got)
	}
}
