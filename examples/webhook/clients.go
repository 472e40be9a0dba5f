package main

import (
	"github.com/kgen-dev/kgen/runtime"

	"example.com/webhook/webhook"
)

// The outbound client "hook" of settings.json is this project's own webhook
// client ("custom": true): kgen generated nothing for it but its config as
// JSON, so register it before kgen.Main starts the processor. An unregistered
// name stops the processor at start, saying so.
func init() {
	runtime.Register(webhook.Client)
}
