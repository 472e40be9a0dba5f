package webhook

import (
	"github.com/kgen-dev/kgen/runtime"
)

// Client describes the webhook client to the runtime. The project's main
// package registers it before the processor starts:
//
//	func init() { runtime.Register(webhook.Client) }
//
// and settings.json names it:
//
//	{"id": "hook", "name": "webhook", "custom": true,
//	 "config_schema": "webhook/webhook.schema.json", "config": {"url": "${WEBHOOK_URL}"}}
//
// When the processor starts, the runtime checks the settings' config
// against Schema, decodes it onto a *Config (unknown fields refused),
// applies Defaults and calls NewSink.
var Client = runtime.Client{
	Name:      Name,
	Direction: runtime.Outbound,
	Summary:   "POSTs each output to an HTTP endpoint; a 2xx answer acknowledges it",
	Schema:    Schema,
	NewConfig: func() any { return &Config{} },
	Defaults: func(cfg any) any {
		c := cfg.(*Config).Defaults()
		return &c
	},
	NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
		return New(*cfg.(*Config), env.Logger.With("client", env.ID))
	},
}
