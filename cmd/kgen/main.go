// Command kgen turns a settings JSON into a ready-to-build Go Kafka
// processor project, and keeps the project's generated code in step with
// its settings for the life of the project. Run "kgen --help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
