package confirm

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mark3labs/mcp-go/mcp"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium for one test. Without Chromium the test is skipped
// locally and fails in CI (CI set), where the approval page must be proven in a browser.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs Chromium at %s for the approval page test (Debian package chromium): %v", chromiumPath, err)
		}
		t.Skipf("no Chromium at %s (Debian package chromium); the approval page browser test is skipped", chromiumPath)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser on a context without a deadline (a deadline on the first run would
	// bound the browser's life), then bound the test's actions.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestApprovalPageInBrowser: a human in a real browser signs in with the approver token,
// sees the plan, and approves (or rejects); the agent's next tool call observes each.
func TestApprovalPageInBrowser(t *testing.T) {
	for _, decision := range []string{StatusApproved, StatusRejected} {
		t.Run(decision, func(t *testing.T) {
			ctx := browser(t)
			h := newHarness(t, Options{
				Modes: []string{ModeApproval}, Transport: TransportHTTP, Key: make([]byte, 32),
				ApprovalBaseURL: "auto", ApproverToken: approverToken, AgentToken: agentToken,
			})
			agent := overHTTP(t, h.ts.URL, agentToken, "modern", nil)
			call := func(args map[string]any) *mcp.CallToolResult { return callTool(t, agent, args) }
			adele := map[string]any{"upn": testUPN}
			id, link := requestApproval(t, call, adele)

			if err := chromedp.Do(ctx,
				chromedp.Navigate(link),
				chromedp.WaitVisible(chromedp.ID("approver_token")),
				chromedp.SendKeys(chromedp.ID("approver_token"), approverToken),
				chromedp.Click(chromedp.ID("login")),
				chromedp.WaitVisible(chromedp.ID("summary")),
			); err != nil {
				t.Fatalf("sign in on the approval page: %v", err)
			}
			text := func(sel string) string {
				t.Helper()
				s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
				if err != nil {
					t.Fatalf("read %s: %v", sel, err)
				}
				return s
			}
			heading, summary, steps, targets := text("h1"), text("#summary"), text("#steps"), text("#targets")
			for got, want := range map[string]string{
				heading: "Approve a change?", summary: "Disable sign-in for " + testUPN,
				steps: "block sign-in — " + testUPN + " (reversible: enable_user " + testUPN + ")", targets: testUPN,
			} {
				if !strings.Contains(got, want) {
					t.Errorf("page shows %q, want %q", got, want)
				}
			}
			if !strings.Contains(steps, "revoke sign-in sessions — "+testUPN+" (irreversible)") {
				t.Errorf("steps %q lack the irreversible step", steps)
			}

			decide := []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.ID("reject"))}
			if decision == StatusApproved {
				decide = []chromedp.Action[chromedp.Void]{
					chromedp.SendKeys(chromedp.ID("confirm_target"), testUPN),
					chromedp.Click(chromedp.ID("approve")),
				}
			}
			decide = append(decide, chromedp.WaitVisible(chromedp.CSS(`#status[data-status="`+decision+`"]`)))
			if err := chromedp.Do(ctx, decide...); err != nil {
				t.Fatalf("%s in the browser: %v", decision, err)
			}
			status := text("#status")

			if st, ok := checkApproval(t, agent, id); !ok || st != decision {
				t.Fatalf("check_approval: %q, want %q", st, decision)
			}
			res := call(with(adele, ArgApprovalID, id))
			if decision == StatusRejected {
				if !strings.Contains(status, "The call will not run") {
					t.Errorf("status after reject: %q", status)
				}
				wantRefused(t, res, "the approver rejected")
				h.wantExecuted(t, 0)
				return
			}
			if !strings.Contains(status, "may now repeat the call") {
				t.Errorf("status after approve: %q", status)
			}
			if res.IsError {
				t.Fatalf("approved call refused: %s", resultText(res))
			}
			h.wantExecuted(t, 1)
			if err := chromedp.Do(ctx,
				chromedp.Reload(),
				chromedp.WaitVisible(chromedp.CSS(`#status[data-status="used"]`)),
			); err != nil {
				t.Fatalf("page after use: %v", err)
			}
		})
	}
}
