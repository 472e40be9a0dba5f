package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shape is a random settings file's content, as the property test changes
// it.
type shape struct {
	workers  int
	inTopic  string
	outs     []outClient
	in, out  payloadKind
	nextID   int
	failMode string
}

type outClient struct {
	id, kind, topic string
}

type payloadKind struct {
	kind   string // bytes, string or json
	schema int    // for json: 0 none, 1 or 2 a schema
}

var outKinds = []string{"kafka_producer", "file_writer", "stdout"}

var payloadKinds = []payloadKind{{"bytes", 0}, {"string", 0}, {"json", 0}, {"json", 1}, {"json", 2}}

func (k payloadKind) settings() any {
	p := map[string]any{"type": k.kind}
	switch k.schema {
	case 1:
		p["schema"] = map[string]any{
			"title": "Article", "type": "object", "required": []string{"id"},
			"properties": map[string]any{"id": map[string]any{"type": "integer"}, "title": map[string]any{"type": "string"}},
		}
	case 2:
		p["schema"] = map[string]any{
			"title": "Event", "type": "object",
			"properties": map[string]any{
				"name": map[string]any{"type": "string"},
				"tags": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
				"at":   map[string]any{"type": "object", "properties": map[string]any{"unix": map[string]any{"type": "number"}}},
			},
		}
	}
	return p
}

func (s *shape) addOut(r *rand.Rand) {
	s.nextID++
	s.outs = append(s.outs, outClient{
		id:    fmt.Sprintf("out%d", s.nextID),
		kind:  outKinds[r.Intn(len(outKinds))],
		topic: fmt.Sprintf("topic-%d", r.Intn(100)),
	})
}

// mutate makes one random change.
func (s *shape) mutate(r *rand.Rand) string {
	switch r.Intn(8) {
	case 0:
		s.addOut(r)
		return "add an outbound client"
	case 1:
		if len(s.outs) > 1 {
			i := r.Intn(len(s.outs))
			s.outs = slices.Delete(s.outs, i, i+1)
			return "remove an outbound client"
		}
		s.addOut(r)
		return "add an outbound client"
	case 2:
		o := &s.outs[r.Intn(len(s.outs))]
		o.kind = outKinds[(slices.Index(outKinds, o.kind)+1+r.Intn(2))%len(outKinds)]
		return "switch an outbound client to " + o.kind
	case 3:
		s.in = payloadKinds[r.Intn(len(payloadKinds))]
		return "inbound payload " + s.in.kind
	case 4:
		s.out = payloadKinds[r.Intn(len(payloadKinds))]
		return "outbound payload " + s.out.kind
	case 5:
		s.inTopic = fmt.Sprintf("in-%d", r.Intn(1000))
		return "inbound topic"
	case 6:
		s.outs[r.Intn(len(s.outs))].topic = fmt.Sprintf("topic-%d", r.Intn(1000))
		return "outbound topic"
	default:
		s.workers = 1 + r.Intn(16)
		s.failMode = []string{"stop", "skip"}[r.Intn(2)]
		return "workers and failure policy"
	}
}

func (s *shape) json(t *testing.T) []byte {
	t.Helper()
	var outs []any
	for _, o := range s.outs {
		var cfg any
		switch o.kind {
		case "kafka_producer":
			cfg = map[string]any{"topic": o.topic, "client_config": map[string]any{"bootstrap_servers": "localhost:9092"}}
		case "file_writer":
			cfg = map[string]any{"file": "/tmp/" + o.topic + "-{}.log", "mode": "ab", "encoding": nil}
		default:
			cfg = map[string]any{"format": "json"}
		}
		outs = append(outs, map[string]any{"id": o.id, "name": o.kind, "config": cfg})
	}
	doc := map[string]any{
		"settings_version": 1,
		"num_of_workers":   s.workers,
		"inbound_client_settings": map[string]any{
			"name": "kafka_consumer",
			"config": map[string]any{
				"topics":        []string{s.inTopic},
				"client_config": map[string]any{"bootstrap_servers": "localhost:9092", "group_id": "g"},
			},
		},
		"outbound_clients": outs,
		"payload":          map[string]any{"inbound": s.in.settings(), "outbound": s.out.settings()},
		"processing":       map[string]any{"on_failure": s.failMode},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestSettingsChangesKeepUserFiles is the ownership property: scaffold a
// project, then make many random settings changes (outbound clients added,
// removed and switched between kinds, payload kinds and schemas, values),
// each followed by regeneration. Throughout, every file outside kgen/ but
// settings.json stays byte-identical, nothing is created outside kgen/,
// kgen/ holds exactly what the manifest lists, and --check finds nothing.
// A few iterations build the project.
func TestSettingsChangesKeepUserFiles(t *testing.T) {
	const iterations = 40
	builds := map[int]bool{5: true, 20: true, iterations - 1: true}
	if testing.Short() {
		builds = nil
	}
	r := rand.New(rand.NewSource(6))
	dir := scaffold(t, "seed_kafka")
	user := snapshot(t, dir)
	for p := range user {
		if IsOwned(p) || p == SettingsFile {
			delete(user, p)
		}
	}
	s := &shape{workers: 3, inTopic: "ARTICLE", in: payloadKinds[0], out: payloadKinds[0], failMode: "stop"}
	s.addOut(r)
	for i := range iterations {
		var did []string
		for range 1 + r.Intn(3) {
			did = append(did, s.mutate(r))
		}
		if builds[i] {
			// The scaffold's Process forwards the value unchanged, which
			// compiles while both payloads are of one type.
			s.out = s.in
			did = append(did, "outbound payload as inbound, to build")
		}
		data := s.json(t)
		writeFile(t, filepath.Join(dir, SettingsFile), string(data))
		if _, err := Generate(dir, "dev"); err != nil {
			t.Fatalf("iteration %d (%s): generate: %v\nsettings:\n%s", i, strings.Join(did, ", "), err, data)
		}

		now := snapshot(t, dir)
		for p, b := range user {
			if !bytes.Equal(now[p], b) {
				t.Fatalf("iteration %d (%s): %s changed", i, strings.Join(did, ", "), p)
			}
		}
		if !bytes.Equal(now[SettingsFile], data) {
			t.Fatalf("iteration %d: settings.json changed by generation", i)
		}
		m, err := ParseManifest(now[ManifestPath])
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{ManifestPath: true}
		for _, f := range m.Generated {
			listed[f.Path] = true
			if Hash(now[f.Path]) != f.SHA256 {
				t.Errorf("iteration %d: %s does not have the hash the manifest records", i, f.Path)
			}
		}
		for p := range now {
			switch {
			case IsOwned(p) && !listed[p]:
				t.Fatalf("iteration %d: %s in %s/ but not in the manifest", i, p, OwnedDir)
			case !IsOwned(p) && p != SettingsFile && user[p] == nil:
				t.Fatalf("iteration %d (%s): %s created outside %s/", i, strings.Join(did, ", "), p, OwnedDir)
			}
		}
		for p := range listed {
			if now[p] == nil {
				t.Fatalf("iteration %d: %s listed in the manifest but missing", i, p)
			}
		}
		if probs, _, err := Check(dir, "dev"); err != nil || len(probs) > 0 {
			t.Fatalf("iteration %d: --check after generate: %v %v", i, probs, err)
		}
		if builds[i] {
			goCmd(t, dir, "build", "./...")
		}
	}
}
