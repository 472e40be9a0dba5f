package settings

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/kgen-dev/kgen/runtime/configjson"
)

// shape is what generated code depends on; values (topics, brokers,
// timeouts) are left out so they can change without regeneration.
type shape struct {
	Inbound   []shapeClient `json:"inbound"`
	Outbound  []shapeClient `json:"outbound"`
	Payload   shapePayloads `json:"payload"`
	OnFailure string        `json:"on_failure"`
}

type shapeClient struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type shapePayloads struct {
	Inbound  shapePayload `json:"inbound"`
	Outbound shapePayload `json:"outbound"`
}

type shapePayload struct {
	Type string `json:"type"`
	// Schema is "sha256:" and the hash of the schema as written
	// (compacted; member order counts, as generated types follow it).
	Schema string `json:"schema,omitempty"`
}

// Shape describes the shape of s as canonical JSON: the client ids and
// names per direction, the payload types with a hash of their schemas,
// and the failure policy. Two settings with the same shape run with the
// same generated code. Shape of nil is "".
func Shape(s *Settings) string {
	if s == nil {
		return ""
	}
	sh := shape{
		Inbound:   []shapeClient{},
		Outbound:  []shapeClient{},
		Payload:   shapePayloads{Inbound: payloadShape(s.InPayload), Outbound: payloadShape(s.OutPayload)},
		OnFailure: string(s.Runtime.Failure.OnFailure),
	}
	for _, in := range s.Runtime.Inbound {
		sh.Inbound = append(sh.Inbound, shapeClient{in.ID, in.Name})
	}
	for _, out := range s.Runtime.Outbound {
		sh.Outbound = append(sh.Outbound, shapeClient{out.ID, out.Name})
	}
	b, err := json.Marshal(sh)
	if err != nil { // cannot happen: only strings
		return ""
	}
	return string(b)
}

func payloadShape(p Payload) shapePayload {
	sp := shapePayload{Type: string(p.Kind)}
	if sp.Type == "" {
		sp.Type = string(Bytes)
	}
	if len(p.Schema) > 0 {
		sum := sha256.Sum256(p.Schema)
		sp.Schema = "sha256:" + hex.EncodeToString(sum[:])
	}
	return sp
}

// ShapeDiff returns the JSON pointer of the first place where shapes a and
// b differ, in a's member order ("/outbound/0/name"), or "" when they are
// the same. A difference at the top (including a shape that is not valid
// JSON) is "/".
func ShapeDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, errA := decodeOrdered([]byte(a))
	y, errB := decodeOrdered([]byte(b))
	if errA != nil || errB != nil {
		return "/"
	}
	if p := firstDiff("", x, y); p != "" {
		return p
	}
	return ""
}

func firstDiff(ptr string, x, y any) string {
	top := ptr
	if top == "" {
		top = "/"
	}
	switch xv := x.(type) {
	case object:
		yv, ok := y.(object)
		if !ok {
			return top
		}
		for _, m := range xv {
			w, ok := yv.get(m.key)
			if !ok {
				return ptr + "/" + configjson.EscapePointer(m.key)
			}
			if p := firstDiff(ptr+"/"+configjson.EscapePointer(m.key), m.value, w); p != "" {
				return p
			}
		}
		for _, m := range yv {
			if _, ok := xv.get(m.key); !ok {
				return ptr + "/" + configjson.EscapePointer(m.key)
			}
		}
		return ""
	case []any:
		yv, ok := y.([]any)
		if !ok {
			return top
		}
		for i := range min(len(xv), len(yv)) {
			if p := firstDiff(ptr+"/"+strconv.Itoa(i), xv[i], yv[i]); p != "" {
				return p
			}
		}
		if len(xv) != len(yv) {
			return ptr + "/" + strconv.Itoa(min(len(xv), len(yv)))
		}
		return ""
	}
	if jsonText(x) != jsonText(y) {
		return top
	}
	return ""
}
