package main

// Benchmarks of the built binary: "start-up to ready under 100 ms; idle resident memory under
// 40 MB". They build cmd/msidm once (their own build, as binary in e2e_test.go takes a
// *testing.T), start 'msidm serve' over stdio and speak raw JSON-RPC to it over pipes. Run
// them with .ci/bench (not part of CI), or e.g.
//
//	go test ./cmd/msidm -run '^$' -bench 'StartupToReady' -benchtime=10x
//	go test ./cmd/msidm -run '^$' -bench 'IdleRSS' -benchtime=2x
//
// Each benchmark has two sub-benchmarks:
//
//   - sandbox: 'msidm serve --sandbox', the emulators and the demo tenant in msidm's own
//     process (what a newcomer runs; the figures include the emulators).
//   - external: 'msidm serve' pointed through MSIDM_* at a sandbox running in the benchmark
//     process, as msidm runs against Microsoft: its start-up checks make one token request
//     and one read per system over loopback, and its memory is msidm's alone.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/sandboxtest"

	"github.com/msidm/msidm/sandbox"
)

// benchBinary is the built cmd/msidm.
func benchBinary(b *testing.B) string { return sandboxtest.Binary(b) }

// benchMode says how a started msidm reaches its backends.
type benchMode struct {
	name string
	args []string
	env  func(b *testing.B) []string // extra environment for one start
}

func benchModes(b *testing.B) []benchMode {
	return []benchMode{
		{name: "sandbox", args: []string{"serve", "--sandbox"}, env: func(*testing.B) []string { return nil }},
		{name: "external", args: []string{"serve"}, env: externalBenchEnv(b)},
	}
}

// externalBenchEnv starts one sandbox in this process for the whole benchmark b (the parent
// of the sub-benchmarks: a sub-benchmark's cleanups run after each of its rounds) and returns
// a function giving the MSIDM_* environment for one msidm process: each gets a refresh token
// of its own, since the Ads refresh token rotates on use.
func externalBenchEnv(b *testing.B) func(*testing.B) []string {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sb.Close() })
	var oid string
	for _, u := range sb.Tenant.Ads.Users {
		if u.UserName == sb.Tenant.AdsSignedIn {
			oid = strconv.FormatInt(u.ID, 10)
		}
	}
	return func(*testing.B) []string {
		env := sb.Env()
		rt := sb.IdP.IssueRefreshToken(sb.ClientID, sb.Tenant.AdsSignedIn, oid)
		for i, kv := range env {
			if strings.HasPrefix(kv, "MSIDM_ADS_REFRESH_TOKEN=") {
				env[i] = "MSIDM_ADS_REFRESH_TOKEN=" + rt
			}
		}
		return env
	}
}

// benchProc is one running msidm serve.
type benchProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan []byte // stdout, one JSON-RPC message per line
	startup chan string // the raw "startup" attribute of the "msidm ready" log record
}

// benchStartReady starts msidm with args and extra env, sends initialize at once and waits for its
// successful answer. It returns the process and the time from just before the process was
// started to the answer.
func benchStartReady(b *testing.B, bin string, args, extra []string) (*benchProc, time.Duration) {
	b.Helper()
	cmd := exec.Command(bin, append(slices.Clone(args), "--log-format", "json")...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MSIDM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "MSIDM_STATE_DIR="+b.TempDir())
	cmd.Env = append(cmd.Env, extra...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	p := &benchProc{cmd: cmd, stdin: stdin, lines: make(chan []byte, 16), startup: make(chan string, 1)}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// The request waits in the pipe until msidm reads stdin, so no time is lost polling.
	if _, err := io.WriteString(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`+"\n"); err != nil {
		p.stop()
		b.Fatal(err)
	}
	var logTail strings.Builder
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			var rec struct {
				Msg     string          `json:"msg"`
				Startup json.RawMessage `json:"startup"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "msidm ready" {
				select {
				case p.startup <- string(rec.Startup):
				default:
				}
			}
			logMu.Lock()
			logTail.WriteString(sc.Text() + "\n")
			logMu.Unlock()
		}
	}()
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			p.lines <- slices.Clone(sc.Bytes())
		}
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.stop()
				logMu.Lock()
				defer logMu.Unlock()
				b.Fatalf("msidm exited before answering initialize; stderr:\n%s", logTail.String())
			}
			var msg struct {
				ID     json.RawMessage `json:"id"`
				Result *struct {
					ServerInfo struct {
						Name string `json:"name"`
					} `json:"serverInfo"`
				} `json:"result"`
				Error json.RawMessage `json:"error"`
			}
			if err := json.Unmarshal(line, &msg); err != nil || string(msg.ID) != "1" {
				continue
			}
			ready := time.Since(start)
			if msg.Result == nil || msg.Result.ServerInfo.Name != "msidm" {
				p.stop()
				b.Fatalf("initialize answered %s", line)
			}
			if _, err := io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
				p.stop()
				b.Fatal(err)
			}
			return p, ready
		case <-timeout:
			p.stop()
			b.Fatal("msidm did not answer initialize within 30 s")
		}
	}
}

// stop closes stdin (msidm exits at EOF) and kills the process if it has not exited soon.
func (p *benchProc) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// benchProcStatusKB reads a "Name:   123 kB" line of /proc/<pid>/status.
func benchProcStatusKB(pid int, name string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			return strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, name)
}

// benchLogDuration reads a duration attribute of a JSON log record: slog's JSON handler writes
// nanoseconds as a number; a string such as "12ms" is accepted too.
func benchLogDuration(raw string) (time.Duration, bool) {
	if ns, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return time.Duration(ns), true
	}
	var s string
	if json.Unmarshal([]byte(raw), &s) == nil {
		if d, err := time.ParseDuration(s); err == nil {
			return d, true
		}
	}
	return 0, false
}

func benchQuantileMS(d []time.Duration, q float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(max(int(q*float64(len(s))+0.5)-1, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}

// BenchmarkStartupToReady is the target "start-up to ready under 100 ms": each op starts
// msidm serve, sends initialize at once and stops at its successful answer. Metrics:
// ready_p50_ms, ready_p90_ms, ready_max_ms (process start to initialize answer, including
// exec, Go runtime start, configuration, sandbox seeding in the sandbox mode, start-up checks
// and building the tool catalogue), and internal_p50_ms, the "startup" msidm logs itself with
// "msidm ready" (from after configuration to the tool server being built).
//
// The floor_version sub-benchmark runs 'msidm version' to exit (metric exit_p50_ms): the cost
// of exec, the Go runtime and package initialisation, which every start pays before main.
func BenchmarkStartupToReady(b *testing.B) {
	bin := benchBinary(b)
	b.Run("floor_version", func(b *testing.B) {
		var took []time.Duration
		for range b.N {
			start := time.Now()
			if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
				b.Fatalf("msidm version: %v\n%s", err, out)
			}
			took = append(took, time.Since(start))
		}
		b.ReportMetric(benchQuantileMS(took, 0.5), "exit_p50_ms")
	})
	for _, m := range benchModes(b) {
		b.Run(m.name, func(b *testing.B) {
			// One unmeasured start warms the page cache and the sandbox.
			p, _ := benchStartReady(b, bin, m.args, m.env(b))
			p.stop()
			var ready, internal []time.Duration
			b.ResetTimer()
			for range b.N {
				env := m.env(b)
				p, d := benchStartReady(b, bin, m.args, env)
				ready = append(ready, d)
				b.StopTimer()
				select {
				case s := <-p.startup:
					if v, ok := benchLogDuration(s); ok {
						internal = append(internal, v)
					}
				case <-time.After(time.Second):
				}
				p.stop()
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(benchQuantileMS(ready, 0.5), "ready_p50_ms")
			b.ReportMetric(benchQuantileMS(ready, 0.9), "ready_p90_ms")
			b.ReportMetric(benchQuantileMS(ready, 1), "ready_max_ms")
			if len(internal) > 0 {
				b.ReportMetric(benchQuantileMS(internal, 0.5), "internal_p50_ms")
			}
		})
	}
}

// BenchmarkIdleRSS is the target "idle resident memory under 40 MB": each op starts msidm
// serve, initializes a session, lets it idle 2 s and reads VmRSS (and the peak VmHWM) from
// /proc/<pid>/status. Metrics: rss_MB (median over ops), rss_max_MB, hwm_max_MB. Linux only.
func BenchmarkIdleRSS(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc/<pid>/status (Linux)")
	}
	bin := benchBinary(b)
	for _, m := range benchModes(b) {
		b.Run(m.name, func(b *testing.B) {
			var rss, hwm []float64
			for range b.N {
				p, _ := benchStartReady(b, bin, m.args, m.env(b))
				time.Sleep(2 * time.Second)
				r, err := benchProcStatusKB(p.cmd.Process.Pid, "VmRSS")
				if err != nil {
					p.stop()
					b.Fatal(err)
				}
				h, _ := benchProcStatusKB(p.cmd.Process.Pid, "VmHWM")
				p.stop()
				rss = append(rss, r/1024)
				hwm = append(hwm, h/1024)
			}
			slices.Sort(rss)
			b.ReportMetric(rss[(len(rss)-1)/2], "rss_MB")
			b.ReportMetric(slices.Max(rss), "rss_max_MB")
			b.ReportMetric(slices.Max(hwm), "hwm_max_MB")
		})
	}
}
