package consumer

import "testing"

// TestOptionTable: each option of the table is either mapped or
// explained, never both or neither (the settings' TestOptionTables keeps
// the names in step with the schema).
func TestOptionTable(t *testing.T) {
	for name, o := range options {
		if (o.Ignored == "") == (o.Apply == nil) {
			t.Errorf("option %s: exactly one of Ignored and Apply must be set", name)
		}
	}
}
