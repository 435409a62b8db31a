package snapshot

import (
	"runtime"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
)

// BenchmarkSnapshotEntraSync measures the first delta sync of a 100,000-user tenant (users/s,
// peak heap) and an incremental sync of 100 changes (ms). Run with -benchtime=1x.
func BenchmarkSnapshotEntraSync(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		b.StopTimer()
		e := newSandbox(b, demo.Large(n, 0, 1))
		e.page.n.Store(999)
		var peak uint64
		stop := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapAlloc)
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		res, err := e.y.SyncEntra(b.Context(), EntraOptions{})
		first := time.Since(start)
		close(stop)
		if err != nil || res.Users != n {
			b.Fatalf("%+v %v", res, err)
		}
		for i := range 100 {
			must(b, e.graph.UpdateUser(b.Context(), e.sb.Tenant.People[i*97].ID, map[string]any{"displayName": "Changed"}))
		}
		start = time.Now()
		res2, err := e.y.SyncEntra(b.Context(), EntraOptions{})
		incr := time.Since(start)
		if err != nil || res2.Counts[KindUpdated] != 100 {
			b.Fatalf("%+v %v", res2, err)
		}
		b.ReportMetric(float64(n)/first.Seconds(), "users/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(incr.Microseconds())/1000, "incr100-ms")
	}
}
