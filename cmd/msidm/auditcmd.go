package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/msidm/msidm/policy/audit"
)

const auditUsage = `Usage:
  msidm audit tail [-n 20] [--json]   print the newest audit records, oldest first
  msidm audit verify                  check the hash chain; exits non-zero naming the first bad record

The audit log is audit.db in MSIDM_STATE_DIR (default: the user config directory + /msidm).
Both commands only read it, so they are safe while msidm serves.
`

// runAudit is `msidm audit`: read the audit log under the state directory.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"audit needs a command: tail or verify"}
	}
	switch args[0] {
	case "tail":
		return auditTail(ctx, args[1:], stdout)
	case "verify":
		return auditVerify(ctx, args[1:], stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, auditUsage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown audit command %q; commands: tail, verify", args[0])}
}

func auditTail(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("audit tail")
	n := fs.Int("n", 20, "number of records to print (1-10000)")
	asJSON := fs.Bool("json", false, "print one JSON object per record")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *n < 1 || *n > 10000 {
		return &usageError{fmt.Sprintf("-n must be between 1 and 10000, got %d", *n)}
	}
	log, err := openAuditReadOnly(ctx)
	if err != nil {
		return err
	}
	defer log.Close()
	entries, err := log.Tail(ctx, *n)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(entries) == 0 {
		fmt.Fprintf(stdout, "the audit log %s has no records yet\n", log.Path())
	}
	for _, e := range entries {
		fmt.Fprintln(stdout, formatEntry(e))
	}
	return nil
}

func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("audit verify"), args, stdout); err != nil {
		return err
	}
	log, err := openAuditReadOnly(ctx)
	if err != nil {
		return err
	}
	defer log.Close()
	rep, err := log.Verify(ctx)
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("%s (%s)", rep, log.Path())
	}
	fmt.Fprintln(stdout, rep)
	if open, err := log.Unfinished(ctx); err == nil && len(open) > 0 {
		fmt.Fprintf(stderr, "note: %d intent(s) without an outcome yet (in flight, or msidm stopped; its next start records them as %q)\n",
			len(open), audit.StatusUnknown)
	}
	return nil
}

// openAuditReadOnly opens MSIDM_STATE_DIR/audit.db without writing to it.
func openAuditReadOnly(ctx context.Context) (*audit.Log, error) {
	dir := os.Getenv("MSIDM_STATE_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("no state directory: set MSIDM_STATE_DIR (%v)", err)
		}
		dir = filepath.Join(base, "msidm")
	}
	log, err := audit.Open(ctx, dir, audit.Options{ReadOnly: true})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no audit log at %s: msidm has recorded no change there yet (set MSIDM_STATE_DIR to the server's state directory)",
			filepath.Join(dir, audit.FileName))
	}
	return log, err
}

// formatEntry renders one record on one line:
//
//	#12 2026-03-02T10:00:00Z intent disable_entra_user adele@contoso.example by stdio operator (elicitation) plan 1a2b3c4d5e6f
//	#13 2026-03-02T10:00:01Z outcome of #12: done request-ids r-1,T-2
func formatEntry(e audit.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s ", e.Seq, e.Time)
	switch e.Kind {
	case audit.KindOutcome:
		fmt.Fprintf(&b, "outcome of #%d: %s %s %s", e.Intent, e.Status, e.Tool, e.Target)
		if e.Error != "" {
			fmt.Fprintf(&b, " error %q", e.Error)
		}
		if len(e.RequestIDs) > 0 {
			fmt.Fprintf(&b, " request-ids %s", strings.Join(e.RequestIDs, ","))
		}
	case audit.KindRefused:
		fmt.Fprintf(&b, "refused %s %s by %s: %s", e.Tool, e.Target, e.Caller, e.Error)
	default:
		fmt.Fprintf(&b, "%s %s %s %s by %s", e.Kind, e.Effect, e.Tool, e.Target, e.Caller)
		if e.Mode != "" {
			fmt.Fprintf(&b, " (%s", e.Mode)
			if e.Approver != "" && e.Approver != e.Caller {
				fmt.Fprintf(&b, ", approved by %s", e.Approver)
			}
			b.WriteString(")")
		}
		if len(e.PlanHash) >= 12 {
			fmt.Fprintf(&b, " plan %s", e.PlanHash[:12])
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
