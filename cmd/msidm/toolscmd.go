package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/tools"
)

// runTools prints the tool catalogue from the live registry: one line per tool, or the
// README's Markdown table with --markdown.
func runTools(args []string, stdout io.Writer) error {
	fs := newFlagSet("tools")
	markdown := fs.Bool("markdown", false, "print a Markdown table (the README's tool reference)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	all := tools.All(&tools.Deps{})
	if *markdown {
		fmt.Fprintln(stdout, "| tool | toolset | effect | hints | description |")
		fmt.Fprintln(stdout, "|---|---|---|---|---|")
		for _, t := range all {
			fmt.Fprintf(stdout, "| `%s` | %s | %s | %s | %s |\n", t.Def.Name, t.Toolset, t.Effect, hints(t.Def.Annotations),
				strings.ReplaceAll(t.Def.Description, "|", `\|`))
		}
		return nil
	}
	for _, t := range all {
		fmt.Fprintf(stdout, "%-22s %-6s %-11s %-40s %s\n", t.Def.Name, t.Toolset, t.Effect, hints(t.Def.Annotations), t.Def.Description)
	}
	return nil
}

// hints renders the annotations that are true, e.g. "readOnly,idempotent".
func hints(a mcp.ToolAnnotation) string {
	var on []string
	for _, h := range []struct {
		name string
		v    *bool
	}{{"readOnly", a.ReadOnlyHint}, {"destructive", a.DestructiveHint}, {"idempotent", a.IdempotentHint}, {"openWorld", a.OpenWorldHint}} {
		if h.v != nil && *h.v {
			on = append(on, h.name)
		}
	}
	if len(on) == 0 {
		return "-"
	}
	return strings.Join(on, ",")
}
