package runtime

import "errors"

// ErrPermanent marks an outbound error that writing the same message again
// cannot cure (a record too large for the topic on its own, an invalid
// topic, not authorized, a value the sink refuses). Sinks wrap such errors
// with Permanent; the engine tests errors.Is(err, ErrPermanent) and applies
// the failure policy at once instead of resending. Every other outbound
// error is transient: it says nothing about the record, and the engine
// resends the record's outputs after its backoff.
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
