package generator

import (
	"github.com/dave/jennifer/jen"
)

// renderWiring renders wiring_gen.go: the adapter from the typed Process to
// the runtime's Handler, and Main.
func renderWiring(m *model) ([]byte, error) {
	f := m.newFile()
	f.Const().Id("_").Op("=").Qual(runtimePath, "RequireAPI1").
		Comment(`kgen: this project needs runtime API 1; run "go tool kgen upgrade"`)
	f.Line()
	f.Comment("GeneratorVersion is the version of kgen that generated this package.")
	f.Const().Id("GeneratorVersion").Op("=").Lit(m.opts.Version)
	f.Line()
	f.Comment("settingsShape is the shape of settings.json when this package was generated:")
	f.Comment("its clients, their kinds and the payload types, not their values. A")
	f.Comment("--settings file of another shape is refused.")
	f.Const().Id("settingsShape").Op("=").Add(rawString(m.shape))
	f.Line()

	ctx := jen.Id("ctx")
	errNil := jen.Err().Op("!=").Nil()

	f.Comment("ProcessFunc is the signature of Process.")
	f.Type().Id("ProcessFunc").Func().Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("in").Id("Input")).
		Params(jen.Index().Id("Output"), jen.Error())
	f.Line()

	f.Comment("Handler adapts p to the runtime: it decodes each record's value into an")
	f.Comment("Input, calls p, and encodes the outputs. A value that fails to decode or")
	f.Comment("encode fails the record (retry, then the failure policy), never a panic.")
	f.Func().Id("Handler").Params(jen.Id("p").Id("ProcessFunc")).Qual(runtimePath, "Handler").Block(
		jen.Return(jen.Func().Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("rec").Op("*").Qual(runtimePath, "Record")).
			Params(jen.Index().Qual(runtimePath, "Output"), jen.Error()).Block(
			jen.List(jen.Id("v"), jen.Err()).Op(":=").Id("DecodeInValue").Call(jen.Id("rec").Dot("Value")),
			jen.If(errNil).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.List(jen.Id("outs"), jen.Err()).Op(":=").Id("p").Call(ctx, jen.Id("Input").Add(fields(
				jen.Id("Topic").Op(":").Id("rec").Dot("Topic"),
				jen.Id("Partition").Op(":").Id("rec").Dot("Partition"),
				jen.Id("Offset").Op(":").Id("rec").Dot("Offset"),
				jen.Id("Key").Op(":").Id("rec").Dot("Key"),
				jen.Id("Value").Op(":").Id("v"),
				jen.Id("Headers").Op(":").Id("rec").Dot("Headers"),
				jen.Id("Time").Op(":").Id("rec").Dot("Time"),
				jen.Id("Source").Op(":").Id("rec").Dot("Source"),
			))),
			jen.If(errNil).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Id("res").Op(":=").Make(jen.Index().Qual(runtimePath, "Output"), jen.Len(jen.Id("outs"))),
			jen.For(jen.List(jen.Id("i"), jen.Id("o")).Op(":=").Range().Id("outs")).Block(
				jen.List(jen.Id("b"), jen.Err()).Op(":=").Id("EncodeOutValue").Call(jen.Id("o").Dot("Value")),
				jen.If(errNil).Block(jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("output %d: %w"), jen.Id("i"), jen.Err()))),
				jen.Id("res").Index(jen.Id("i")).Op("=").Qual(runtimePath, "Output").Add(fields(
					jen.Id("Key").Op(":").Id("o").Dot("Key"),
					jen.Id("Value").Op(":").Id("b"),
					jen.Id("Headers").Op(":").Id("o").Dot("Headers"),
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

	f.Comment("Main runs the processor with p and exits. Flags:")
	f.Comment("")
	f.Comment("\t--settings FILE     run with FILE instead of the compiled settings; it must")
	f.Comment("\t                    have the shape the code was generated from")
	f.Comment("\t--log-level LEVEL   debug, info, warn or error")
	f.Comment("\t--log-format FORMAT text or json")
	f.Comment("\t--check-settings    check the settings (FILE's, or the compiled ones) and")
	f.Comment("\t                    exit: 0 when the processor can run with them")
	f.Comment("")
	f.Comment("SIGINT or SIGTERM shuts down gracefully; a second one exits at once with")
	f.Comment("status 130. The exit status is 0 after a clean stop, 1 on failure, 2 on a")
	f.Comment("bad command line.")
	f.Func().Id("Main").Params(jen.Id("p").Id("ProcessFunc")).Block(
		jen.Qual("os", "Exit").Call(jen.Id("run").Call(jen.Qual("os", "Args").Index(jen.Lit(1), jen.Empty()), jen.Qual("os", "Stderr"), jen.Id("p"))),
	)
	f.Line()

	stderr := jen.Id("stderr")
	f.Func().Id("run").Params(jen.Id("args").Index().String(), jen.Id("stderr").Qual("io", "Writer"), jen.Id("p").Id("ProcessFunc")).Int().Block(
		jen.Id("fs").Op(":=").Qual("flag", "NewFlagSet").Call(
			jen.Qual("path/filepath", "Base").Call(jen.Qual("os", "Args").Index(jen.Lit(0))),
			jen.Qual("flag", "ContinueOnError")),
		jen.Id("fs").Dot("SetOutput").Call(stderr),
		jen.Id("settingsFile").Op(":=").Id("fs").Dot("String").Call(jen.Lit("settings"), jen.Lit(""),
			jen.Lit("settings `FILE` to run with (default: the settings compiled in)")),
		jen.Id("logLevel").Op(":=").Id("fs").Dot("String").Call(jen.Lit("log-level"), jen.Lit(""),
			jen.Lit("log `LEVEL`: debug, info, warn or error (default: the settings' log level)")),
		jen.Id("logFormat").Op(":=").Id("fs").Dot("String").Call(jen.Lit("log-format"), jen.Lit(""),
			jen.Lit("log `FORMAT`: text or json (default: the settings' log format)")),
		jen.Id("checkOnly").Op(":=").Id("fs").Dot("Bool").Call(jen.Lit("check-settings"), jen.False(),
			jen.Lit("check the settings and exit without running (0: the processor can run with them)")),
		jen.If(jen.Err().Op(":=").Id("fs").Dot("Parse").Call(jen.Id("args")), errNil).Block(
			jen.If(jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual("flag", "ErrHelp"))).Block(jen.Return(jen.Lit(0))),
			jen.Return(jen.Lit(2)),
		),
		jen.If(jen.Id("fs").Dot("NArg").Call().Op(">").Lit(0)).Block(
			jen.Qual("fmt", "Fprintf").Call(stderr, jen.Lit("unexpected argument %q\n"), jen.Id("fs").Dot("Arg").Call(jen.Lit(0))),
			jen.Return(jen.Lit(2)),
		),
		jen.List(jen.Id("cfg"), jen.Id("level"), jen.Id("format"), jen.Err()).Op(":=").Id("loadConfig").Call(jen.Op("*").Id("settingsFile"), stderr),
		jen.If(errNil).Block(
			jen.Qual("fmt", "Fprintln").Call(stderr, jen.Err()),
			jen.Return(jen.Lit(1)),
		),
		jen.If(jen.Op("*").Id("checkOnly")).Block(
			jen.If(jen.Err().Op(":=").Id("cfg").Dot("Validate").Call(), errNil).Block(
				jen.Qual("fmt", "Fprintln").Call(stderr, jen.Err()),
				jen.Return(jen.Lit(1)),
			),
			jen.Qual("fmt", "Fprintln").Call(stderr, jen.Lit("settings ok: the processor can run with them")),
			jen.Return(jen.Lit(0)),
		),
		jen.If(jen.Op("*").Id("logLevel").Op("!=").Lit("")).Block(jen.Id("level").Op("=").Op("*").Id("logLevel")),
		jen.If(jen.Op("*").Id("logFormat").Op("!=").Lit("")).Block(jen.Id("format").Op("=").Op("*").Id("logFormat")),
		jen.List(jen.Id("logger"), jen.Err()).Op(":=").Id("newLogger").Call(stderr, jen.Id("level"), jen.Id("format")),
		jen.If(errNil).Block(
			jen.Qual("fmt", "Fprintln").Call(stderr, jen.Err()),
			jen.Return(jen.Lit(2)),
		),
		jen.Qual("log/slog", "SetDefault").Call(jen.Id("logger")),
		jen.Id("cfg").Dot("Logger").Op("=").Id("logger"),
		jen.Id("logger").Dot("Info").Call(jen.Lit("starting"),
			jen.Lit("component"), jen.Lit("main"),
			jen.Lit("kgen_version"), jen.Id("GeneratorVersion"),
			jen.Lit("runtime_version"), jen.Qual(runtimePath, "Version"),
			jen.Lit("runtime_api"), jen.Qual(runtimePath, "APIVersion"),
			jen.Lit("settings"), jen.Op("*").Id("settingsFile"),
		),
		jen.Line(),
		jen.Comment("Register for the second signal before the first can arrive."),
		jen.Id("sigs").Op(":=").Make(jen.Chan().Qual("os", "Signal"), jen.Lit(1)),
		jen.Qual("os/signal", "Notify").Call(jen.Id("sigs"), jen.Qual("os", "Interrupt"), jen.Qual("syscall", "SIGTERM")),
		jen.Defer().Qual("os/signal", "Stop").Call(jen.Id("sigs")),
		jen.List(jen.Id("ctx"), jen.Id("stop")).Op(":=").Qual("os/signal", "NotifyContext").Call(
			jen.Qual("context", "Background").Call(), jen.Qual("os", "Interrupt"), jen.Qual("syscall", "SIGTERM")),
		jen.Defer().Id("stop").Call(),
		jen.Id("done").Op(":=").Make(jen.Chan().Struct()),
		jen.Defer().Close(jen.Id("done")),
		jen.Go().Id("exitOnSecondSignal").Call(jen.Id("sigs"), jen.Id("done"), jen.Id("logger")),
		jen.Line(),
		jen.If(jen.Err().Op(":=").Qual(runtimePath, "Run").Call(ctx, jen.Id("cfg"), jen.Id("Handler").Call(jen.Id("p"))), errNil).Block(
			jen.Id("logger").Dot("Error").Call(jen.Lit("stopped"), jen.Lit("component"), jen.Lit("main"), jen.Lit("err"), jen.Err()),
			jen.Return(jen.Lit(1)),
		),
		jen.Id("logger").Dot("Info").Call(jen.Lit("stopped"), jen.Lit("component"), jen.Lit("main")),
		jen.Return(jen.Lit(0)),
	)
	f.Line()

	f.Comment("exitOnSecondSignal exits at once with status 130 on the second signal from")
	f.Comment("sigs; the first one shuts down gracefully through the run's context. It")
	f.Comment("returns when done is closed.")
	f.Func().Id("exitOnSecondSignal").Params(jen.Id("sigs").Op("<-").Chan().Qual("os", "Signal"), jen.Id("done").Op("<-").Chan().Struct(), jen.Id("logger").Op("*").Qual("log/slog", "Logger")).Block(
		jen.For(jen.Id("n").Op(":=").Lit(0), jen.Empty(), jen.Empty()).Block(
			jen.Select().Block(
				jen.Case(jen.Op("<-").Id("done")).Block(jen.Return()),
				jen.Case(jen.Id("sig").Op(":=").Op("<-").Id("sigs")).Block(
					jen.Id("n").Op("++"),
					jen.If(jen.Id("n").Op("==").Lit(1)).Block(
						jen.Id("logger").Dot("Info").Call(jen.Lit("shutting down"), jen.Lit("component"), jen.Lit("main"),
							jen.Lit("signal"), jen.Id("sig").Dot("String").Call()),
						jen.Continue(),
					),
					jen.Id("logger").Dot("Error").Call(jen.Lit("second signal: exiting at once"), jen.Lit("component"), jen.Lit("main"),
						jen.Lit("signal"), jen.Id("sig").Dot("String").Call()),
					jen.Qual("os", "Exit").Call(jen.Lit(130)),
				),
			),
		),
	)
	f.Line()

	fail := func() jen.Code {
		return jen.Return(jen.Qual(runtimePath, "Config").Values(), jen.Lit(""), jen.Lit(""), jen.Err())
	}
	f.Comment("loadConfig returns the configuration and log settings to run with: the")
	f.Comment("compiled ones, or those of file, which must be valid and have the shape the")
	f.Comment("code was generated from. It prints file's diagnostics on stderr.")
	f.Func().Id("loadConfig").Params(jen.Id("file").String(), jen.Id("stderr").Qual("io", "Writer")).
		Params(jen.Qual(runtimePath, "Config"), jen.String(), jen.String(), jen.Error()).Block(
		jen.If(jen.Id("file").Op("==").Lit("")).Block(
			jen.Return(jen.Id("DefaultConfig").Call().Dot("Runtime").Call(), jen.Id("DefaultLogLevel"), jen.Id("DefaultLogFormat"), jen.Nil()),
		),
		jen.List(jen.Id("s"), jen.Id("diags")).Op(":=").Qual(settingsPkg, "Load").Call(jen.Id("file")),
		jen.Id("invalid").Op(":=").Id("s").Op("==").Nil(),
		jen.For(jen.List(jen.Id("_"), jen.Id("d")).Op(":=").Range().Id("diags")).Block(
			jen.Qual("fmt", "Fprintln").Call(stderr, jen.Qual(settingsPkg, "Format").Call(jen.Id("d"))),
			jen.If(jen.Id("d").Dot("Severity").Op("==").Qual(settingsPkg, "Error")).Block(jen.Id("invalid").Op("=").True()),
		),
		jen.If(jen.Id("invalid")).Block(
			jen.Err().Op(":=").Qual("fmt", "Errorf").Call(jen.Lit("%s: invalid settings"), jen.Id("file")),
			fail(),
		),
		jen.If(jen.Id("shape").Op(":=").Qual(settingsPkg, "Shape").Call(jen.Id("s")), jen.Id("shape").Op("!=").Id("settingsShape")).Block(
			jen.Id("at").Op(":=").Qual(settingsPkg, "ShapeDiff").Call(jen.Id("settingsShape"), jen.Id("shape")),
			jen.If(jen.Id("at").Op("==").Lit("")).Block(jen.Id("at").Op("=").Lit("/")),
			jen.Err().Op(":=").Qual("fmt", "Errorf").Call(jen.Lit("%s: settings changed since code generation: run go generate (first difference at %s)"), jen.Id("file"), jen.Id("at")),
			fail(),
		),
		jen.List(jen.Id("level"), jen.Id("format")).Op(":=").List(jen.Id("s").Dot("LogLevel"), jen.Id("s").Dot("LogFormat")),
		jen.If(jen.Id("level").Op("==").Lit("")).Block(jen.Id("level").Op("=").Id("DefaultLogLevel")),
		jen.If(jen.Id("format").Op("==").Lit("")).Block(jen.Id("format").Op("=").Id("DefaultLogFormat")),
		jen.Return(jen.Id("s").Dot("Runtime"), jen.Id("level"), jen.Id("format"), jen.Nil()),
	)
	f.Line()

	f.Comment("newLogger returns the logger for level and format.")
	f.Func().Id("newLogger").Params(jen.Id("w").Qual("io", "Writer"), jen.List(jen.Id("level"), jen.Id("format")).String()).
		Params(jen.Op("*").Qual("log/slog", "Logger"), jen.Error()).Block(
		jen.Var().Id("l").Qual("log/slog", "Level"),
		jen.If(jen.Err().Op(":=").Id("l").Dot("UnmarshalText").Call(jen.Index().Byte().Call(jen.Id("level"))), errNil).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("log level %q: want debug, info, warn or error"), jen.Id("level"))),
		),
		jen.Id("opts").Op(":=").Op("&").Qual("log/slog", "HandlerOptions").Values(jen.Dict{jen.Id("Level"): jen.Id("l")}),
		jen.Switch(jen.Id("format")).Block(
			jen.Case(jen.Lit("text")).Block(jen.Return(jen.Qual("log/slog", "New").Call(jen.Qual("log/slog", "NewTextHandler").Call(jen.Id("w"), jen.Id("opts"))), jen.Nil())),
			jen.Case(jen.Lit("json")).Block(jen.Return(jen.Qual("log/slog", "New").Call(jen.Qual("log/slog", "NewJSONHandler").Call(jen.Id("w"), jen.Id("opts"))), jen.Nil())),
		),
		jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("log format %q: want text or json"), jen.Id("format"))),
	)
	return render(f)
}
