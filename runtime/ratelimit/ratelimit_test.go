package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gwcdev/gwc/runtime/ratelimit/redistest"
)

func TestMemory(t *testing.T) {
	m := NewMemory()
	now := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return now }
	l := &Limit{Name: "l", Requests: 2, Per: time.Second, Burst: 3}
	for i, want := range []bool{true, true, true, false, false} {
		r, err := m.Allow(context.Background(), l, "k")
		if err != nil || r.Allowed != want {
			t.Fatalf("request %d: %+v, %v; want allowed=%v", i+1, r, err, want)
		}
		if !want && (r.RetryAfter != 500*time.Millisecond || r.Remaining != 0) {
			t.Errorf("refused request %d: %+v (one token every 500ms)", i+1, r)
		}
	}
	if r, _ := m.Allow(context.Background(), l, "other"); !r.Allowed || r.Remaining != 2 {
		t.Errorf("another key: %+v", r)
	}
	now = now.Add(time.Second) // two tokens back
	r, _ := m.Allow(context.Background(), l, "k")
	if !r.Allowed || r.Remaining != 1 || r.ResetAfter != time.Second {
		t.Errorf("after a second: %+v", r)
	}
}

// BenchmarkAllow is one rate-limit decision: in memory, and in a real
// redis-server on loopback (one round trip to its GCRA script).
// go test ./runtime/ratelimit -run '^$' -bench . -benchmem
func BenchmarkAllow(b *testing.B) {
	l := &Limit{Name: "bench", Requests: 1 << 40, Per: time.Second, Burst: 1 << 40}
	b.Run("memory", func(b *testing.B) {
		m := NewMemory()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if r, err := m.Allow(context.Background(), l, "client-"+strconv.Itoa(i&1023)); err != nil || !r.Allowed {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("redis", func(b *testing.B) {
		rs := redistest.Start(b)
		s, err := NewRedis(rs.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for range 200 {
			if _, err = s.Allow(context.Background(), l, "warm"); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if r, err := s.Allow(context.Background(), l, "client-"+strconv.Itoa(i&1023)); err != nil || !r.Allowed {
				b.Fatal(r, err)
			}
		}
	})
}
