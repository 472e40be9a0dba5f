package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/kgen-dev/kgen/settings"
)

// renderPayload renders payload_gen.go: the typed Input and Output of
// Process, the value types, and their decoding and encoding.
func renderPayload(m *model) ([]byte, error) {
	f := m.newFile()
	f.Comment("Header is one record header.")
	f.Type().Id("Header").Op("=").Qual(runtimePath, "Header")
	f.Line()
	if m.in.Kind == settings.Bytes {
		f.Comment("Input is one inbound record, its value decoded. Key, Value and Headers may")
		f.Comment("share memory with the runtime: returning them in outputs is fine, keeping")
		f.Comment("them after Process returns needs a copy.")
	} else {
		f.Comment("Input is one inbound record, its value decoded. Key, Value, RawValue and")
		f.Comment("Headers may share memory with the runtime: returning them in outputs is")
		f.Comment("fine, keeping them after Process returns needs a copy.")
	}
	inFields := []jen.Code{
		jen.Comment("Topic, Partition and Offset locate the record in its source."),
		jen.Id("Topic").String(),
		jen.Id("Partition").Int32(),
		jen.Id("Offset").Int64(),
		jen.Id("Key").Index().Byte(),
		jen.Id("Value").Id("InValue"),
	}
	if m.in.Kind != settings.Bytes {
		inFields = append(inFields,
			jen.Comment("RawValue is the record value as received, before decoding. In tests"),
			jen.Comment("(RunMemory, Case) a RawValue that is not nil is fed to the processor"),
			jen.Comment("instead of Value encoded: give bytes that do not decode to test what"),
			jen.Comment("happens to a record that cannot be decoded."),
			jen.Id("RawValue").Index().Byte(),
		)
	}
	f.Type().Id("Input").Struct(append(inFields,
		jen.Id("Headers").Index().Id("Header"),
		jen.Comment("Time is the record's timestamp."),
		jen.Id("Time").Qual("time", "Time"),
		jen.Comment("Source is the id of the inbound client the record came from."),
		jen.Id("Source").String(),
		jen.Line(),
		jen.Id("out").Op("*").Index().Id("Output").Comment("the worker's output buffer (Out)"),
	)...)
	f.Line()
	f.Comment("Out returns outs as Process's result without allocating: the slice is")
	f.Comment("the worker's, reused for its next record, so return it and do not keep")
	f.Comment("it; call Out once per record, with every output. Returning a []Output")
	f.Comment("literal works as well, at the cost of an allocation per record.")
	f.Func().Params(jen.Id("in").Id("Input")).Id("Out").Params(jen.Id("outs").Op("...").Id("Output")).Index().Id("Output").Block(
		jen.If(jen.Id("in").Dot("out").Op("==").Nil()).Block(
			jen.Return(jen.Append(jen.Index().Id("Output").Parens(jen.Nil()), jen.Id("outs").Op("..."))),
		),
		jen.Op("*").Id("in").Dot("out").Op("=").Append(jen.Parens(jen.Op("*").Id("in").Dot("out")).Index(jen.Empty(), jen.Lit(0)), jen.Id("outs").Op("...")),
		jen.Return(jen.Op("*").Id("in").Dot("out")),
	)
	f.Line()
	f.Comment("Output is one record to write.")
	f.Type().Id("Output").Struct(
		jen.Id("Key").Index().Byte(),
		jen.Id("Value").Id("OutValue"),
		jen.Id("Headers").Index().Id("Header"),
		jen.Comment("Timestamp is the record's timestamp; zero means the inbound record's"),
		jen.Comment("(Input.Time), or the time of writing when that has none."),
		jen.Id("Timestamp").Qual("time", "Time"),
		jen.Comment("To names the outbound clients to write to (the ...ID constants); empty"),
		jen.Comment("means every outbound client."),
		jen.Id("To").Index().String(),
	)
	f.Line()
	f.Comment("Permanent marks err as an error that running Process again cannot cure (a")
	f.Comment("record that will never parse, a value out of range): returned from Process,")
	f.Comment("the record is not retried and goes straight to the failure policy. Any")
	f.Comment("other error is retried (max_retries) first. errors.Is and errors.As still")
	f.Comment("find err; Permanent(nil) is nil.")
	f.Func().Id("Permanent").Params(jen.Id("err").Error()).Error().Block(
		jen.Return(jen.Qual(runtimePath, "Permanent").Call(jen.Id("err"))),
	)
	f.Line()
	f.Comment("DecodeError is a record value that does not decode into its declared type.")
	f.Comment("It is permanent (decoding the same bytes again cannot succeed): the record")
	f.Comment("is not retried, it is counted as failed and goes straight to the failure")
	if typedJSON := func(pt *payloadType) bool { return pt.Kind == settings.JSON && !pt.Raw }; typedJSON(m.in) || typedJSON(m.out) {
		f.Comment("policy. For a JSON value, Err is a *runtime.JSONValueError naming the place")
		f.Comment(`by JSON pointer and the JSON type expected ("/id: want integer, got string").`)
	} else {
		f.Comment("policy.")
	}
	f.Type().Id("DecodeError").Struct(jen.Id("Err").Error())
	f.Line()
	f.Func().Params(jen.Id("e").Op("*").Id("DecodeError")).Id("Error").Params().String().Block(
		jen.Return(jen.Lit("decode value: ").Op("+").Id("e").Dot("Err").Dot("Error").Call()),
	)
	f.Line()
	f.Func().Params(jen.Id("e").Op("*").Id("DecodeError")).Id("Unwrap").Params().Error().Block(
		jen.Return(jen.Id("e").Dot("Err")),
	)
	f.Line()
	f.Comment("Is makes a DecodeError permanent: errors.Is(e, runtime.ErrPermanent).")
	f.Func().Params(jen.Id("e").Op("*").Id("DecodeError")).Id("Is").Params(jen.Id("target").Error()).Bool().Block(
		jen.Return(jen.Id("target").Op("==").Qual(runtimePath, "ErrPermanent")),
	)
	for _, pt := range []*payloadType{m.in, m.out} {
		f.Line()
		if pt.SameAs != "" {
			f.Commentf("%s is the outbound record value, the same type as %s.", pt.Name, pt.SameAs)
			f.Type().Id(pt.Name).Op("=").Id(pt.SameAs)
		}
		for _, d := range pt.Decls {
			f.Add(d)
			f.Line()
		}
	}
	for _, side := range []struct {
		name string
		pt   *payloadType
	}{{"InValue", m.in}, {"OutValue", m.out}} {
		f.Line()
		f.Commentf("Decode%s decodes a record value.", side.name)
		f.Func().Id("Decode"+side.name).Params(jen.Id("b").Index().Byte()).Params(jen.Id(side.name), jen.Error()).Block(decodeBody(side.pt)...)
		f.Line()
		f.Commentf("Encode%s encodes v as a record value.", side.name)
		f.Func().Id("Encode"+side.name).Params(jen.Id("v").Id(side.name)).Params(jen.Index().Byte(), jen.Error()).Block(encodeBody(side.pt)...)
	}
	if m.out.SameAs == "" {
		f.Line()
		f.Comment("ConvertValue turns an inbound value into an outbound one through their")
		f.Comment("encoded form, as forwarding a record unchanged needs.")
		f.Func().Id("ConvertValue").Params(jen.Id("v").Id("InValue")).Params(jen.Id("OutValue"), jen.Error()).Block(
			jen.List(jen.Id("b"), jen.Err()).Op(":=").Id("EncodeInValue").Call(jen.Id("v")),
			jen.If(jen.Err().Op("!=").Nil()).Block(
				jen.Var().Id("zero").Id("OutValue"),
				jen.Return(jen.Id("zero"), jen.Err()),
			),
			jen.Return(jen.Id("DecodeOutValue").Call(jen.Id("b"))),
		)
	}
	return render(f)
}

func decodeErr(msg string) jen.Code {
	return jen.Op("&").Id("DecodeError").Values(jen.Dict{jen.Id("Err"): jen.Qual("errors", "New").Call(jen.Lit(msg))})
}

func decodeBody(pt *payloadType) []jen.Code {
	switch {
	case pt.Kind == settings.String:
		return []jen.Code{
			jen.If(jen.Op("!").Qual("unicode/utf8", "Valid").Call(jen.Id("b"))).Block(
				jen.Return(jen.Lit(""), decodeErr("value is not valid UTF-8")),
			),
			jen.Return(jen.String().Call(jen.Id("b")), jen.Nil()),
		}
	case pt.Kind == settings.JSON && pt.Raw:
		return []jen.Code{
			jen.If(jen.Op("!").Qual("encoding/json", "Valid").Call(jen.Id("b"))).Block(
				jen.Return(jen.Nil(), decodeErr("value is not valid JSON")),
			),
			jen.Return(jen.Id("b"), jen.Nil()),
		}
	case pt.Kind == settings.JSON:
		return []jen.Code{
			jen.Var().Id("v").Id(pt.Name),
			jen.If(jen.Err().Op(":=").Qual(runtimePath, "UnmarshalJSON").Call(jen.Id("b"), jen.Op("&").Id("v")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Id("v"), jen.Op("&").Id("DecodeError").Values(jen.Dict{jen.Id("Err"): jen.Err()})),
			),
			jen.Return(jen.Id("v"), jen.Nil()),
		}
	}
	return []jen.Code{jen.Return(jen.Id("b"), jen.Nil())}
}

func encodeBody(pt *payloadType) []jen.Code {
	switch {
	case pt.Kind == settings.String:
		return []jen.Code{jen.Return(jen.Index().Byte().Call(jen.Id("v")), jen.Nil())}
	case pt.Kind == settings.JSON && pt.Raw:
		return []jen.Code{
			jen.If(jen.Op("!").Qual("encoding/json", "Valid").Call(jen.Id("v"))).Block(
				jen.Return(jen.Nil(), jen.Qual("errors", "New").Call(jen.Lit("value is not valid JSON"))),
			),
			jen.Return(jen.Id("v"), jen.Nil()),
		}
	case pt.Kind == settings.JSON:
		return []jen.Code{jen.Return(jen.Qual("encoding/json", "Marshal").Call(jen.Id("v")))}
	}
	return []jen.Code{jen.Return(jen.Id("v"), jen.Nil())}
}
