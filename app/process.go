package app

import (
	"context"
	"fmt"
	"time"

	"github.com/kgen-dev/kgen/runtime"
)

// Process is the signature of a generated project's Process, typed for its
// inbound value In and outbound value Out (the project's kgen.ProcessFunc).
type Process[In, Out any] func(ctx context.Context, in Input[In, Out]) ([]Output[Out], error)

// Codec decodes and encodes a project's record values; the generated
// Decode/Encode functions of kgen/payload_gen.go fill it in. A Decode
// error should be permanent (a *DecodeError): the same bytes never decode.
type Codec[In, Out any] struct {
	DecodeIn  func([]byte) (In, error)
	EncodeIn  func(In) ([]byte, error)
	DecodeOut func([]byte) (Out, error)
	EncodeOut func(Out) ([]byte, error)
}

// Convert turns an inbound value into an outbound one through their encoded
// form (EncodeIn, then DecodeOut), as forwarding a record unchanged needs.
func (c Codec[In, Out]) Convert(v In) (Out, error) {
	b, err := c.EncodeIn(v)
	if err != nil {
		var zero Out
		return zero, err
	}
	return c.DecodeOut(b)
}

// Input is one inbound record, its value decoded into In. Key, Value,
// RawValue and Headers may share memory with the runtime: returning them in
// outputs is fine, keeping them after Process returns needs a copy.
type Input[In, Out any] struct {
	// Topic, Partition and Offset locate the record in its source.
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     In
	// RawValue is the record value as received, before decoding. In tests
	// (RunMemory, Case) a RawValue that is not nil is fed to the processor
	// instead of Value encoded: give bytes that do not decode to test what
	// happens to a record that cannot be decoded.
	RawValue []byte
	Headers  []runtime.Header
	// Time is the record's timestamp.
	Time time.Time
	// Source is the id of the inbound client the record came from.
	Source string

	out *[]Output[Out] // the worker's output buffer (Out)
}

// Out returns outs as Process's result without allocating: the slice is
// the worker's, reused for its next record, so return it and do not keep
// it; call Out once per record, with every output. Returning a []Output
// literal works as well, at the cost of an allocation per record.
func (in Input[In, Out]) Out(outs ...Output[Out]) []Output[Out] {
	if in.out == nil {
		return append([]Output[Out](nil), outs...)
	}
	*in.out = append((*in.out)[:0], outs...)
	return *in.out
}

// Output is one record to write, its value an Out.
type Output[Out any] struct {
	Key     []byte
	Value   Out
	Headers []runtime.Header
	// Timestamp is the record's timestamp; zero means the inbound record's
	// (Input.Time), or the time of writing when that has none.
	Timestamp time.Time
	// To names the outbound clients to write to (the project's ...ID
	// constants); empty means every outbound client.
	To []string
}

// DecodeError is a record value that does not decode into its declared type.
// It is permanent (decoding the same bytes again cannot succeed): the record
// is not retried, it is counted as failed and goes straight to the failure
// policy.
type DecodeError struct {
	Err error
}

func (e *DecodeError) Error() string {
	return "decode value: " + e.Err.Error()
}

func (e *DecodeError) Unwrap() error {
	return e.Err
}

// Is makes a DecodeError permanent: errors.Is(e, runtime.ErrPermanent).
func (e *DecodeError) Is(target error) bool {
	return target == runtime.ErrPermanent
}

// Handler adapts p to the runtime: it decodes each record's value into an
// Input with c, calls p, and encodes the outputs. A value that fails to
// decode or encode fails the record for good (the failure policy, no
// retries), never a panic: c.DecodeIn's error is returned as it is (a
// *DecodeError is permanent), an encoding error is wrapped with
// runtime.Permanent.
func Handler[In, Out any](c Codec[In, Out], p Process[In, Out]) runtime.Handler {
	return func(ctx context.Context, rec *runtime.Record) ([]runtime.Output, error) {
		v, err := c.DecodeIn(rec.Value)
		if err != nil {
			return nil, err
		}
		// Each worker keeps its own buffer for Input.Out.
		local := rec.WorkerLocal()
		buf, _ := (*local).(*[]Output[Out])
		if buf == nil {
			buf = new([]Output[Out])
			*local = buf
		}
		outs, err := p(ctx, Input[In, Out]{
			Topic:     rec.Topic,
			Partition: rec.Partition,
			Offset:    rec.Offset,
			Key:       rec.Key,
			Value:     v,
			RawValue:  rec.Value,
			Headers:   rec.Headers,
			Time:      rec.Time,
			Source:    rec.Source,
			out:       buf,
		})
		if err != nil {
			return nil, err
		}
		res := rec.Outputs(len(outs))
		for i, o := range outs {
			b, err := c.EncodeOut(o.Value)
			if err != nil {
				return nil, runtime.Permanent(fmt.Errorf("output %d: %w", i, err))
			}
			res[i] = runtime.Output{
				Key:       o.Key,
				Value:     b,
				Headers:   o.Headers,
				Timestamp: o.Timestamp,
				To:        o.To,
			}
		}
		return res, nil
	}
}
