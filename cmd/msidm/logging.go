package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lmittmann/tint"

	"github.com/msidm/msidm/clients/redact"
)

// newLogger writes human logs (tint; colour only on a terminal) or JSON lines to w, which
// is always stderr in the binary: stdout belongs to the stdio protocol. Every line passes
// the redactor.
func newLogger(w io.Writer, format, level string, red *redact.Redactor) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q is not valid; use --log-level debug, info, warn or error (MSIDM_LOG_LEVEL)", level)
	}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})
	} else {
		h = tint.NewHandler(w, &tint.Options{Level: lvl, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)})
	}
	return slog.New(red.Handler(h)), nil
}

// isTerminal reports whether w is a character device (a terminal) and NO_COLOR is unset.
func isTerminal(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
