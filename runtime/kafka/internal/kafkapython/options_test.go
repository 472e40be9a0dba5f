package kafkapython

import "testing"

// TestCommonOptionTable: each common option is either mapped or
// explained, never both or neither.
func TestCommonOptionTable(t *testing.T) {
	for name, o := range CommonOptions {
		if (o.Ignored == "") == (o.Apply == nil) {
			t.Errorf("option %s: exactly one of Ignored and Apply must be set", name)
		}
	}
}
