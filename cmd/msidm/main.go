// Command msidm is an MCP server that runs the user lifecycle of a company's Microsoft
// estate: Microsoft Entra ID (Graph) and Microsoft Advertising (Customer Management).
//
//	msidm serve [--sandbox] [--http 127.0.0.1:8080]   serve MCP over stdio (default) or streamable HTTP
//	msidm sandbox [--print-env]                        run the emulators alone
//	msidm tools [--markdown]                           print the tool catalogue
//	msidm version                                      print the version
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
