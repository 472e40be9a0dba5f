package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/kgen-dev/kgen/settings"
)

// renderWiring renders wiring_gen.go: the adapter from the typed Process to
// the runtime's Handler, and Main.
func renderWiring(m *model) ([]byte, error) {
	f := m.newFile()
	f.Const().Id("_").Op("=").Qual(runtimePath, "RequireAPI2").
		Comment(`kgen: this project needs runtime API 2; run "go tool kgen upgrade"`)
	f.Line()
	f.Comment("GeneratorVersion is the version of kgen that generated this package.")
	f.Const().Id("GeneratorVersion").Op("=").Lit(m.opts.Version)
	f.Line()
	f.Comment("settingsShape is the shape of settings.json when this package was generated:")
	f.Comment("its clients, their kinds and the payload types, not their values. A")
	f.Comment("--settings file of another shape is refused.")
	f.Const().Id("settingsShape").Op("=").Add(rawString(m.shape))
	f.Line()
	if m.startCheck != "" {
		f.Comment("startSettings is settings.json without its payload schemas and inline")
		f.Comment("secrets: run with the compiled-in settings, the processor checks it with")
		f.Comment("the environment first, so that an unset ${VAR} or a value it makes")
		f.Comment("invalid is refused as --settings FILE would refuse it.")
		f.Const().Id("startSettings").Op("=").Add(rawString(m.startCheck))
		f.Line()
	}

	ctx := jen.Id("ctx")
	errNil := jen.Err().Op("!=").Nil()

	f.Comment("ProcessFunc is the signature of Process.")
	f.Type().Id("ProcessFunc").Func().Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("in").Id("Input")).
		Params(jen.Index().Id("Output"), jen.Error())
	f.Line()

	f.Comment("Handler adapts p to the runtime: it decodes each record's value into an")
	f.Comment("Input, calls p, and encodes the outputs. A value that fails to decode or")
	f.Comment("encode fails the record for good (the failure policy, no retries), never")
	f.Comment("a panic.")
	f.Func().Id("Handler").Params(jen.Id("p").Id("ProcessFunc")).Qual(runtimePath, "Handler").Block(
		jen.Return(jen.Func().Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("rec").Op("*").Qual(runtimePath, "Record")).
			Params(jen.Index().Qual(runtimePath, "Output"), jen.Error()).Block(
			jen.List(jen.Id("v"), jen.Err()).Op(":=").Id("DecodeInValue").Call(jen.Id("rec").Dot("Value")),
			jen.If(errNil).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Comment("Each worker keeps its own buffer for Input.Out."),
			jen.Id("local").Op(":=").Id("rec").Dot("WorkerLocal").Call(),
			jen.List(jen.Id("buf"), jen.Id("_")).Op(":=").Parens(jen.Op("*").Id("local")).Assert(jen.Op("*").Index().Id("Output")),
			jen.If(jen.Id("buf").Op("==").Nil()).Block(
				jen.Id("buf").Op("=").New(jen.Index().Id("Output")),
				jen.Op("*").Id("local").Op("=").Id("buf"),
			),
			jen.List(jen.Id("outs"), jen.Err()).Op(":=").Id("p").Call(ctx, jen.Id("Input").Add(fields(
				jen.Id("Topic").Op(":").Id("rec").Dot("Topic"),
				jen.Id("Partition").Op(":").Id("rec").Dot("Partition"),
				jen.Id("Offset").Op(":").Id("rec").Dot("Offset"),
				jen.Id("Key").Op(":").Id("rec").Dot("Key"),
				jen.Id("Value").Op(":").Id("v"),
				rawValueField(m, jen.Id("rec").Dot("Value")),
				jen.Id("Headers").Op(":").Id("rec").Dot("Headers"),
				jen.Id("Time").Op(":").Id("rec").Dot("Time"),
				jen.Id("Source").Op(":").Id("rec").Dot("Source"),
				jen.Id("out").Op(":").Id("buf"),
			))),
			jen.If(errNil).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Id("res").Op(":=").Id("rec").Dot("Outputs").Call(jen.Len(jen.Id("outs"))),
			jen.For(jen.List(jen.Id("i"), jen.Id("o")).Op(":=").Range().Id("outs")).Block(
				jen.List(jen.Id("b"), jen.Err()).Op(":=").Id("EncodeOutValue").Call(jen.Id("o").Dot("Value")),
				jen.If(errNil).Block(jen.Return(jen.Nil(), jen.Qual(runtimePath, "Permanent").Call(jen.Qual("fmt", "Errorf").Call(jen.Lit("output %d: %w"), jen.Id("i"), jen.Err())))),
				jen.Id("res").Index(jen.Id("i")).Op("=").Qual(runtimePath, "Output").Add(fields(
					jen.Id("Key").Op(":").Id("o").Dot("Key"),
					jen.Id("Value").Op(":").Id("b"),
					jen.Id("Headers").Op(":").Id("o").Dot("Headers"),
					jen.Id("Timestamp").Op(":").Id("o").Dot("Timestamp"),
					jen.Id("To").Op(":").Id("o").Dot("To"),
				)),
			),
			jen.Return(jen.Id("res"), jen.Nil()),
		)),
	)
	f.Line()

	f.Comment("Run runs the processor with cfg and p until ctx ends or a failure policy")
	f.Comment("stops it. Main calls it; call it yourself to embed the processor.")
	f.Func().Id("Run").Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("cfg").Id("Config"), jen.Id("p").Id("ProcessFunc")).Error().Block(
		jen.Return(jen.Qual(runtimePath, "Run").Call(ctx, jen.Id("cfg").Dot("Runtime").Call(), jen.Id("Handler").Call(jen.Id("p")))),
	)
	f.Line()

	f.Comment("Main runs the processor with p and exits; see kgen's app.Main for the")
	f.Comment("flags (--settings, --log-level, --log-format, --check-settings), signals")
	f.Comment("and exit statuses.")
	opts := jen.Dict{
		jen.Id("Shape"):            jen.Id("settingsShape"),
		jen.Id("GeneratorVersion"): jen.Id("GeneratorVersion"),
		jen.Id("Defaults"): jen.Func().Params().Qual(runtimePath, "Config").Block(
			jen.Return(jen.Id("DefaultConfig").Call().Dot("Runtime").Call()),
		),
		jen.Id("LogLevel"):  jen.Id("DefaultLogLevel"),
		jen.Id("LogFormat"): jen.Id("DefaultLogFormat"),
		jen.Id("Handler"):   jen.Id("Handler").Call(jen.Id("p")),
	}
	if m.startCheck != "" {
		opts[jen.Id("Settings")] = jen.Id("startSettings")
	}
	f.Func().Id("Main").Params(jen.Id("p").Id("ProcessFunc")).Block(
		jen.Qual(appPath, "Main").Call(jen.Qual(appPath, "Options").Values(opts)),
	)
	return render(f)
}

// rawValueField sets Input.RawValue to v where Input has one (a typed
// inbound payload), else renders nothing.
func rawValueField(m *model, v jen.Code) jen.Code {
	if m.in.Kind == settings.Bytes {
		return jen.Null()
	}
	return jen.Id("RawValue").Op(":").Add(v)
}
