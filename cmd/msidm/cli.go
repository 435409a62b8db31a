package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// exit codes
const (
	exitOK    = 0
	exitError = 1 // the command could not do its job (configuration, unreachable endpoint, …)
	exitUsage = 2 // the command line is wrong
)

// usageError is a command-line mistake; run prints it with a pointer to --help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const usage = `msidm — MCP server for the user lifecycle of Microsoft Entra ID and Microsoft Advertising

Usage:
  msidm serve [flags]     serve MCP over stdio (default) or streamable HTTP (--http)
  msidm sandbox [flags]   run the sandbox emulators alone (--print-env prints how to point msidm at them)
  msidm tools [--markdown] print the tool catalogue
  msidm login ads [--device] sign in to Microsoft Advertising and store the refresh token
  msidm audit tail|verify  read or verify the tamper-evident audit log
  msidm version           print the version

Run 'msidm <command> --help' for the flags of a command. Configuration is read from MSIDM_*
environment variables; see the README's configuration table.
`

// run is the whole program behind main, built so tests can drive it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdin, stdout, stderr)
	case "sandbox":
		err = runSandbox(ctx, args[1:], stdout, stderr)
	case "tools":
		err = runTools(args[1:], stdout)
	case "login":
		err = runLogin(ctx, args[1:], stdout, stderr)
	case "audit":
		err = runAudit(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "msidm %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		err = &usageError{fmt.Sprintf("unknown command %q; commands: serve, sandbox, tools, login, audit, version", args[0])}
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "msidm: %s (see 'msidm --help')\n", ue.msg)
		return exitUsage
	default:
		// One line: what is wrong and how to fix it. Never a stack trace.
		fmt.Fprintf(stderr, "msidm: %s\n", oneLine(err.Error()))
		return exitError
	}
}

// newFlagSet returns a flag set whose parse errors become one-line usage errors.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("msidm "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args; --help prints the flag list to out and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, out io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(out)
		fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
			msg = fmt.Sprintf("unknown flag %s for '%s'", name, fs.Name())
		}
		return &usageError{msg}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q for '%s'", fs.Arg(0), fs.Name())}
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
