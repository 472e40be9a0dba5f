package generator

import (
	"github.com/dave/jennifer/jen"
)

// renderWiring renders wiring_gen.go: the project's codec, the adapter from
// the typed Process to the runtime's Handler (app.Handler), Run and Main.
func renderWiring(m *model) ([]byte, error) {
	f := m.newFile()
	f.ImportName(appPath, "app")
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

	f.Comment("ProcessFunc is the signature of Process.")
	f.Type().Id("ProcessFunc").Op("=").Qual(appPath, "Process").Types(jen.Id("InValue"), jen.Id("OutValue"))
	f.Line()
	f.Comment("codec decodes and encodes the record values of this project.")
	f.Var().Id("codec").Op("=").Qual(appPath, "Codec").Types(jen.Id("InValue"), jen.Id("OutValue")).Values(jen.Dict{
		jen.Id("DecodeIn"):  jen.Id("DecodeInValue"),
		jen.Id("EncodeIn"):  jen.Id("EncodeInValue"),
		jen.Id("DecodeOut"): jen.Id("DecodeOutValue"),
		jen.Id("EncodeOut"): jen.Id("EncodeOutValue"),
	})
	f.Line()
	f.Comment("Handler adapts p to the runtime: it decodes each record's value into an")
	f.Comment("Input, calls p, and encodes the outputs. A value that fails to decode or")
	f.Comment("encode fails the record for good (the failure policy, no retries), never")
	f.Comment("a panic.")
	f.Func().Id("Handler").Params(jen.Id("p").Id("ProcessFunc")).Qual(runtimePath, "Handler").Block(
		jen.Return(jen.Qual(appPath, "Handler").Call(jen.Id("codec"), jen.Id("p"))),
	)
	f.Line()
	f.Comment("Run runs the processor with cfg and p until ctx ends or a failure policy")
	f.Comment("stops it. Main calls it; call it yourself to embed the processor.")
	f.Func().Id("Run").Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("cfg").Id("Config"), jen.Id("p").Id("ProcessFunc")).Error().Block(
		jen.Return(jen.Qual(runtimePath, "Run").Call(jen.Id("ctx"), jen.Id("cfg").Dot("Runtime").Call(), jen.Id("Handler").Call(jen.Id("p")))),
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
