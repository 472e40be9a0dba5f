package filereader

import "time"

// SetDrainBudget sets the shutdown drain budget until the returned func
// restores it.
func SetDrainBudget(d time.Duration) (restore func()) {
	old := drainBudget
	drainBudget = d
	return func() { drainBudget = old }
}
