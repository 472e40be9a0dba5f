package runtime

import "errors"

// OutboundError is the error a Sink hands to an Acker when a message could
// not be written. Client is the client name ("kafka_producer", "file_writer",
// "stdout"). Permanent says that writing the same message again cannot
// succeed (too large, invalid topic, not authorized, not valid UTF-8): the
// engine may apply the failure policy at once instead of retrying. A
// transient error (no leader, timeout, network, disk full, sink closed)
// has Permanent false; it says nothing about the record itself, so it must
// never by itself send a record to the dead-letter topic before its
// retries are spent.
type OutboundError struct {
	Client    string
	Err       error
	Permanent bool
}

func (e *OutboundError) Error() string { return e.Client + ": " + e.Err.Error() }

func (e *OutboundError) Unwrap() error { return e.Err }

// Is makes an OutboundError marked Permanent match ErrPermanent.
func (e *OutboundError) Is(target error) bool { return target == ErrPermanent && e.Permanent }

// IsPermanent reports whether err, as given to an Acker, is permanent:
// errors.Is(err, ErrPermanent), which holds for errors wrapped with
// Permanent and for an OutboundError marked Permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }
