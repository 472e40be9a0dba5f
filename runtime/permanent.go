package runtime

import "errors"

// ErrPermanent marks an error that trying again cannot cure. Outbound: a
// record too large for the topic on its own, an invalid topic, not
// authorized, a value the sink refuses; sinks wrap such errors with
// Permanent and the engine applies the failure policy at once instead of
// resending (every other outbound error is transient and the outputs are
// sent again after the backoff). From a Handler: a record that can never
// be processed (a value that does not decode, a rule it breaks); the
// engine does not run the handler again and applies the failure policy.
var ErrPermanent = errors.New("permanent outbound error")

// Permanent returns err marked permanent: errors.Is(result, ErrPermanent)
// holds, errors.Is/As still find err, and the message is err's. Permanent
// of nil is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }

func (p *permanentError) Unwrap() error { return p.err }

func (p *permanentError) Is(target error) bool { return target == ErrPermanent }
