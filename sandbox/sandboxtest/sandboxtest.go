// Package sandboxtest helps tests and benchmarks that need msidm as a separate process: it
// builds cmd/msidm once per test binary and runs `msidm sandbox --print-env` in the background,
// so the emulators outlive (or stay out of the memory of) the process under test.
package sandboxtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/msidm once per test binary and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "msidm-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "msidm")
		if out, err := exec.Command("go", "build", "-o", binPath, "github.com/msidm/msidm/cmd/msidm").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// CleanEnv is this process's environment without MSIDM_* settings, so a developer's own
// configuration cannot leak into a child process.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MSIDM_") {
			env = append(env, kv)
		}
	}
	return env
}

// Process is a running `msidm sandbox`.
type Process struct {
	Lines   []string          // the MSIDM_* NAME=value lines it printed, in order
	Env     map[string]string // the same, by name
	Control string            // root of its control API, when started with --control
	PID     int               // the sandbox process, e.g. to read its memory
}

// Start runs `msidm sandbox --print-env --log-format json args…` until the test ends and
// waits for its environment (and, with --control, its control API address).
func Start(tb testing.TB, args ...string) *Process {
	tb.Helper()
	cmd := exec.Command(Binary(tb), append([]string{"sandbox", "--print-env", "--log-format", "json"}, args...)...)
	cmd.Env = CleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	lines := make(chan []string, 1)
	go func() {
		var out []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "MSIDM_") {
				out = append(out, sc.Text())
			}
			if strings.HasPrefix(sc.Text(), "MSIDM_ADS_REFRESH_TOKEN=") { // the last line it prints
				break
			}
		}
		lines <- out
		_, _ = io.Copy(io.Discard, stdout)
	}()
	control := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			var rec map[string]any
			if sent || json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			if u, ok := rec["control"].(string); ok {
				control <- u
				sent = true
			}
		}
	}()

	p := &Process{Env: map[string]string{}, PID: cmd.Process.Pid}
	select {
	case p.Lines = <-lines:
	case <-time.After(60 * time.Second):
		tb.Fatal("msidm sandbox printed no environment")
	}
	for _, l := range p.Lines {
		k, v, _ := strings.Cut(l, "=")
		p.Env[k] = v
	}
	if p.Env["MSIDM_ADS_REFRESH_TOKEN"] == "" || p.Env["MSIDM_GRAPH_URL"] == "" {
		tb.Fatalf("msidm sandbox printed %v", p.Lines)
	}
	if slices.Contains(args, "--control") {
		select {
		case p.Control = <-control:
		case <-time.After(30 * time.Second):
			tb.Fatal("msidm sandbox logged no control API address")
		}
	}
	return p
}
