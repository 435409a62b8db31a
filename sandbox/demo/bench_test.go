package demo

import (
	"runtime"
	"testing"
)

// BenchmarkLarge100k: the sandbox issue asks for a 100,000-user tenant (with 5,000 Ads users)
// generated in under 2 s and under 300 MB.
func BenchmarkLarge100k(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t := Large(100000, 5000, 1)
		runtime.ReadMemStats(&after)
		if len(t.People) != 100000 || len(t.Ads.Users) != 5000 {
			b.Fatalf("%d people, %d Ads users", len(t.People), len(t.Ads.Users))
		}
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "MB-allocated")
		b.ReportMetric(float64(after.HeapAlloc)/(1<<20), "MB-heap")
	}
}
