// Package settings reads a processor's settings JSON (the seed's format and
// its extensions), validates it against schema/settings.schema.json plus the
// checks a schema cannot express, and turns it into runtime.Config.
//
// Both kgen (at generation time) and every generated processor (at run
// time, for --settings FILE) use it, so the two always agree.
package settings

import (
	"encoding/json"

	"github.com/kgen-dev/kgen/runtime"
)

// CurrentVersion is the settings format version this kgen writes and reads
// natively. A file without "settings_version" is the seed's format
// (version 1), which stays valid forever.
const CurrentVersion = 1

// Severity of a Diagnostic.
type Severity string

// Severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Diagnostic is one problem found in a settings file. Pointer is the JSON
// pointer of the place (e.g. /inbound_client_settings/config/topics); Line
// and Col (1-based) locate it in the file when known (0 otherwise).
type Diagnostic struct {
	Severity Severity `json:"severity"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Col      int      `json:"col,omitempty"`
	Pointer  string   `json:"pointer"`
	Message  string   `json:"message"`
	// NoEffect, on a warning, names the option set at Pointer that is
	// accepted but has no effect here; Message says why. Summarize groups
	// these warnings into one.
	NoEffect string `json:"no_effect,omitempty"`
}

// PayloadKind is how a record value is typed.
type PayloadKind string

// Payload kinds.
const (
	Bytes  PayloadKind = "bytes"
	String PayloadKind = "string"
	JSON   PayloadKind = "json"
)

// Payload types the inbound or outbound value.
type Payload struct {
	Kind PayloadKind
	// Schema is an optional JSON Schema for Kind JSON; kgen generates Go
	// types from it.
	Schema json.RawMessage
}

// Settings is a validated, normalized settings file.
type Settings struct {
	// Version of the format the file was written in.
	Version int
	// Runtime is the configuration the engine runs with (Logger unset).
	Runtime runtime.Config
	// InPayload and OutPayload type the values Process receives and returns.
	InPayload  Payload
	OutPayload Payload
	// LogLevel and LogFormat from the settings ("info", "text" by default).
	LogLevel  string
	LogFormat string
}
