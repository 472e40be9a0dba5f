package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/kgen-dev/kgen/settings"
)

// Manifest is the provenance record of a project's generated files, kept
// in kgen/manifest.json.
type Manifest struct {
	// KgenVersion generated the files.
	KgenVersion string `json:"kgen_version"`
	// SchemaVersion is the settings format version kgen read them with.
	SchemaVersion int `json:"settings_schema_version"`
	// SettingsSHA256 is the hash of settings.json as it was read.
	SettingsSHA256 string `json:"settings_sha256"`
	// Generated lists every file in kgen/ but the manifest, sorted.
	Generated []ManifestFile `json:"generated"`
	// WrittenOnce lists the user's files as "kgen init" wrote them, so an
	// upgrade can tell whether their templates changed since.
	WrittenOnce []ManifestFile `json:"written_once"`
}

// ManifestFile is one file and its hash.
type ManifestFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Hash returns the hex sha256 of data, as the manifest records it.
func Hash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Lookup returns the recorded hash of the generated file p.
func (m *Manifest) Lookup(p string) (string, bool) {
	if m == nil {
		return "", false
	}
	for _, f := range m.Generated {
		if f.Path == p {
			return f.SHA256, true
		}
	}
	return "", false
}

// ParseManifest reads a manifest.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

func buildManifest(fs Files, settingsJSON []byte, s *settings.Settings, opts Options) ([]byte, error) {
	m := Manifest{
		KgenVersion:    opts.Version,
		SchemaVersion:  settings.CurrentVersion,
		SettingsSHA256: Hash(settingsJSON),
		Generated:      []ManifestFile{},
		WrittenOnce:    opts.WrittenOnce,
	}
	for _, p := range fs.Paths(Generated) {
		m.Generated = append(m.Generated, ManifestFile{Path: p, SHA256: Hash(fs[p].Data)})
	}
	if m.WrittenOnce == nil {
		m.WrittenOnce = []ManifestFile{}
		for _, p := range fs.Paths(WrittenOnce) {
			m.WrittenOnce = append(m.WrittenOnce, ManifestFile{Path: p, SHA256: Hash(fs[p].Data)})
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return append(b, '\n'), nil
}

func sortManifestFiles(fs []ManifestFile) {
	slices.SortFunc(fs, func(a, b ManifestFile) int { return strings.Compare(a.Path, b.Path) })
}
