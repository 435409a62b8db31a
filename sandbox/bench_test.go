package sandbox

import (
	"context"
	"runtime"
	"testing"

	"github.com/msidm/msidm/sandbox/demo"
)

// BenchmarkStartLarge measures generating a 100,000-user tenant with 5,000 Ads users and
// seeding all three emulators with it, up to listening: what `msidm sandbox --entra-users
// 100000 --ads-users 5000` does before it serves.
func BenchmarkStartLarge(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		sb, err := Start(ctx, Options{Tenant: demo.Large(100000, 5000, 1)})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc)/(1<<20), "MB-live-heap")
		sb.Close()
		cancel()
	}
}
