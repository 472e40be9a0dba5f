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
	f.ImportName(appPath, "app")
	f.Comment("Input is one inbound record, its value decoded into InValue (see app.Input):")
	f.Comment("its bytes may share memory with the runtime, so keep copies, not them, after")
	f.Comment("Process returns; in.Out returns the outputs without an allocation per record.")
	f.Type().Id("Input").Op("=").Qual(appPath, "Input").Types(jen.Id("InValue"), jen.Id("OutValue"))
	f.Line()
	f.Comment("Output is one record to write, its value an OutValue; To names the outbound")
	f.Comment("clients to write to (the ...ID constants), empty means every one (see")
	f.Comment("app.Output).")
	f.Type().Id("Output").Op("=").Qual(appPath, "Output").Types(jen.Id("OutValue"))
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
	f.Type().Id("DecodeError").Op("=").Qual(appPath, "DecodeError")
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
			jen.Return(jen.Id("codec").Dot("Convert").Call(jen.Id("v"))),
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
