package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/kgen-dev/kgen/settings"
)

// renderHarness renders harness_gen.go: table-driven tests of Process
// through the runtime's in-memory clients.
func renderHarness(m *model) ([]byte, error) {
	f := m.newFile()
	errNil := jen.Err().Op("!=").Nil()
	rt := func(name string) *jen.Statement { return jen.Qual(runtimePath, name) }

	f.Comment("TB is the part of testing.TB the harness uses.")
	f.Type().Id("TB").Interface(
		jen.Id("Helper").Params(),
		jen.Id("Errorf").Params(jen.Id("format").String(), jen.Id("args").Op("...").Any()),
		jen.Id("Fatalf").Params(jen.Id("format").String(), jen.Id("args").Op("...").Any()),
	)
	f.Line()

	f.Comment("Result is what an in-memory run of Process wrote and would commit.")
	f.Type().Id("Result").Struct(
		jen.Comment("Outputs are the records each outbound client received, by client id, in"),
		jen.Comment("the order written, their values decoded."),
		jen.Id("Outputs").Map(jen.String()).Index().Id("Output"),
		jen.Comment("DeadLetters are the records whose retries were spent, as written to the"),
		jen.Comment("dead-letter topic (failure policy dead_letter)."),
		jen.Id("DeadLetters").Index().Add(rt("Message")),
		jen.Comment("Skipped are the records the failure policy skip passed over."),
		jen.Id("Skipped").Index().Add(rt("Record")),
		jen.Comment(`Committed is the next offset that would be committed, by "topic/partition".`),
		jen.Id("Committed").Map(jen.String()).Int64(),
	)
	f.Line()

	f.Comment("TestConfig is DefaultConfig with retries that wait a millisecond, so failing")
	f.Comment("records reach the failure policy quickly in tests.")
	f.Func().Id("TestConfig").Params().Id("Config").Block(
		jen.Id("c").Op(":=").Id("DefaultConfig").Call(),
		jen.Id("c").Dot("Failure").Dot("Backoff").Op("=").Qual("time", "Millisecond"),
		jen.Id("c").Dot("Failure").Dot("MaxBackoff").Op("=").Qual("time", "Millisecond"),
		jen.Return(jen.Id("c")),
	)
	f.Line()

	in0 := m.inbound[0]
	f.Comment("RunMemory runs p over ins with cfg through the runtime's in-memory clients")
	f.Comment("(no broker) and returns what was written and would be committed. An input")
	f.Comment("with no Source or Topic comes from the first inbound client")
	f.Commentf("(%q, topic %q); Offsets left 0 count up from 0 per partition.", in0.ID, in0.DefaultTopic)
	f.Func().Id("RunMemory").Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("cfg").Id("Config"), jen.Id("p").Id("ProcessFunc"), jen.Id("ins").Op("...").Id("Input")).
		Params(jen.Id("Result"), jen.Error()).Block(
		jen.Id("recs").Op(":=").Make(jen.Index().Add(rt("Record")), jen.Len(jen.Id("ins"))),
		jen.Id("next").Op(":=").Map(jen.String()).Int64().Values(),
		jen.For(jen.List(jen.Id("i"), jen.Id("in")).Op(":=").Range().Id("ins")).Block(append(encodeInput(m, errNil),
			jen.Id("rec").Op(":=").Add(rt("Record")).Add(fields(
				jen.Id("Source").Op(":").Id("in").Dot("Source"),
				jen.Id("Topic").Op(":").Id("in").Dot("Topic"),
				jen.Id("Partition").Op(":").Id("in").Dot("Partition"),
				jen.Id("Offset").Op(":").Id("in").Dot("Offset"),
				jen.Id("Key").Op(":").Id("in").Dot("Key"),
				jen.Id("Value").Op(":").Id("b"),
				jen.Id("Headers").Op(":").Id("in").Dot("Headers"),
				jen.Id("Time").Op(":").Id("in").Dot("Time"),
			)),
			jen.If(jen.Id("rec").Dot("Source").Op("==").Lit("")).Block(jen.Id("rec").Dot("Source").Op("=").Id(in0.Field+"ID")),
			jen.If(jen.Id("rec").Dot("Topic").Op("==").Lit("")).Block(jen.Id("rec").Dot("Topic").Op("=").Lit(in0.DefaultTopic)),
			jen.Id("tp").Op(":=").Id("rec").Dot("Topic").Op("+").Lit("/").Op("+").Qual("strconv", "Itoa").Call(jen.Int().Call(jen.Id("rec").Dot("Partition"))),
			jen.If(jen.Id("rec").Dot("Offset").Op("==").Lit(0)).Block(jen.Id("rec").Dot("Offset").Op("=").Id("next").Index(jen.Id("tp"))),
			jen.Id("next").Index(jen.Id("tp")).Op("=").Id("rec").Dot("Offset").Op("+").Lit(1),
			jen.Id("recs").Index(jen.Id("i")).Op("=").Id("rec"),
		)...),
		jen.List(jen.Id("mr"), jen.Id("runErr")).Op(":=").Add(rt("RunInMemory")).Call(jen.Id("ctx"), jen.Id("cfg").Dot("Runtime").Call(), jen.Id("Handler").Call(jen.Id("p")), jen.Id("recs")),
		jen.Id("res").Op(":=").Id("Result").Add(fields(
			jen.Id("Outputs").Op(":").Map(jen.String()).Index().Id("Output").Values(),
			jen.Id("DeadLetters").Op(":").Id("mr").Dot("DeadLetters"),
			jen.Id("Skipped").Op(":").Id("mr").Dot("Skipped"),
			jen.Id("Committed").Op(":").Id("mr").Dot("Committed"),
		)),
		jen.For(jen.List(jen.Id("id"), jen.Id("msgs")).Op(":=").Range().Id("mr").Dot("Outputs")).Block(
			jen.For(jen.List(jen.Id("_"), jen.Id("msg")).Op(":=").Range().Id("msgs")).Block(
				jen.List(jen.Id("v"), jen.Err()).Op(":=").Id("DecodeOutValue").Call(jen.Id("msg").Dot("Value")),
				jen.If(errNil).Block(jen.Return(jen.Id("res"), jen.Qual("fmt", "Errorf").Call(jen.Lit("output to %s: %w"), jen.Id("id"), jen.Err()))),
				jen.Id("res").Dot("Outputs").Index(jen.Id("id")).Op("=").Append(jen.Id("res").Dot("Outputs").Index(jen.Id("id")), jen.Id("Output").Add(fields(
					jen.Id("Key").Op(":").Id("msg").Dot("Key"),
					jen.Id("Value").Op(":").Id("v"),
					jen.Id("Headers").Op(":").Id("msg").Dot("Headers"),
					jen.Id("Timestamp").Op(":").Id("msg").Dot("Timestamp"),
				))),
			),
		),
		jen.Return(jen.Id("res"), jen.Id("runErr")),
	)
	f.Line()

	f.Comment("Case is one table-driven test of Process: records in, expected writes out.")
	f.Type().Id("Case").Struct(
		jen.Id("Name").String(),
		jen.Comment("In are the records fed to Process, in order (see RunMemory)."),
		jen.Id("In").Index().Id("Input"),
		jen.Comment("Want is what each outbound client should receive, by client id, in"),
		jen.Comment("order; a client missing from Want must receive nothing. Outputs compare"),
		jen.Comment("by key, encoded value and headers, and by Timestamp where the wanted one"),
		jen.Comment("is set (an output carries its input's Time unless Process sets one)."),
		jen.Id("Want").Map(jen.String()).Index().Id("Output"),
		jen.Comment("WantDeadLetters is how many records should end as dead letters."),
		jen.Id("WantDeadLetters").Int(),
		jen.Comment(`WantCommitted, when not nil, is the next offset that should be committed,`),
		jen.Comment(`by "topic/partition".`),
		jen.Id("WantCommitted").Map(jen.String()).Int64(),
		jen.Comment("WantErr says the run should fail (e.g. failure policy stop)."),
		jen.Id("WantErr").Bool(),
		jen.Comment("Config to run with; nil means TestConfig()."),
		jen.Id("Config").Op("*").Id("Config"),
	)
	f.Line()

	f.Comment("Check runs c.In through p in memory and reports on t every way the result")
	f.Comment("differs from what c wants.")
	f.Func().Params(jen.Id("c").Id("Case")).Id("Check").Params(jen.Id("t").Id("TB"), jen.Id("p").Id("ProcessFunc")).Block(
		jen.Id("t").Dot("Helper").Call(),
		jen.Id("cfg").Op(":=").Id("TestConfig").Call(),
		jen.If(jen.Id("c").Dot("Config").Op("!=").Nil()).Block(jen.Id("cfg").Op("=").Op("*").Id("c").Dot("Config")),
		jen.List(jen.Id("ctx"), jen.Id("cancel")).Op(":=").Qual("context", "WithTimeout").Call(jen.Qual("context", "Background").Call(), jen.Lit(30).Op("*").Qual("time", "Second")),
		jen.Defer().Id("cancel").Call(),
		jen.List(jen.Id("res"), jen.Err()).Op(":=").Id("RunMemory").Call(jen.Id("ctx"), jen.Id("cfg"), jen.Id("p"), jen.Id("c").Dot("In").Op("...")),
		jen.If(jen.Parens(jen.Err().Op("!=").Nil()).Op("!=").Id("c").Dot("WantErr")).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit("run error = %v, want error: %v"), jen.Err(), jen.Id("c").Dot("WantErr")),
		),
		jen.Id("ids").Op(":=").Map(jen.String()).Bool().Values(),
		jen.For(jen.Id("id").Op(":=").Range().Id("c").Dot("Want")).Block(jen.Id("ids").Index(jen.Id("id")).Op("=").True()),
		jen.For(jen.Id("id").Op(":=").Range().Id("res").Dot("Outputs")).Block(jen.Id("ids").Index(jen.Id("id")).Op("=").True()),
		jen.For(jen.List(jen.Id("_"), jen.Id("id")).Op(":=").Range().Qual("slices", "Sorted").Call(jen.Qual("maps", "Keys").Call(jen.Id("ids")))).Block(
			jen.List(jen.Id("got"), jen.Id("want")).Op(":=").List(jen.Id("res").Dot("Outputs").Index(jen.Id("id")), jen.Id("c").Dot("Want").Index(jen.Id("id"))),
			jen.If(jen.Len(jen.Id("got")).Op("!=").Len(jen.Id("want"))).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("client %s received %d records, want %d"), jen.Id("id"), jen.Len(jen.Id("got")), jen.Len(jen.Id("want"))),
				jen.Continue(),
			),
			jen.For(jen.Id("i").Op(":=").Range().Id("got")).Block(
				jen.If(jen.Id("d").Op(":=").Id("diffOutput").Call(jen.Id("got").Index(jen.Id("i")), jen.Id("want").Index(jen.Id("i"))), jen.Id("d").Op("!=").Lit("")).Block(
					jen.Id("t").Dot("Errorf").Call(jen.Lit("client %s record %d: %s"), jen.Id("id"), jen.Id("i"), jen.Id("d")),
				),
			),
		),
		jen.If(jen.Len(jen.Id("res").Dot("DeadLetters")).Op("!=").Id("c").Dot("WantDeadLetters")).Block(
			jen.Id("t").Dot("Errorf").Call(jen.Lit("%d dead letters, want %d"), jen.Len(jen.Id("res").Dot("DeadLetters")), jen.Id("c").Dot("WantDeadLetters")),
		),
		jen.If(jen.Id("c").Dot("WantCommitted").Op("!=").Nil().Op("&&").Op("!").Qual("maps", "Equal").Call(jen.Id("res").Dot("Committed"), jen.Id("c").Dot("WantCommitted"))).Block(
			jen.Id("t").Dot("Errorf").Call(jen.Lit("committed %v, want %v"), jen.Id("res").Dot("Committed"), jen.Id("c").Dot("WantCommitted")),
		),
	)
	f.Line()

	f.Comment(`diffOutput describes how got differs from want ("" when it does not),`)
	f.Comment("comparing keys, encoded values, headers and (when want sets it) the")
	f.Comment("timestamp; To is not compared.")
	f.Func().Id("diffOutput").Params(jen.List(jen.Id("got"), jen.Id("want")).Id("Output")).String().Block(
		jen.If(jen.Op("!").Qual("bytes", "Equal").Call(jen.Id("got").Dot("Key"), jen.Id("want").Dot("Key"))).Block(
			jen.Return(jen.Qual("fmt", "Sprintf").Call(jen.Lit("key %q, want %q"), jen.Id("got").Dot("Key"), jen.Id("want").Dot("Key"))),
		),
		jen.List(jen.Id("gv"), jen.Id("gerr")).Op(":=").Id("EncodeOutValue").Call(jen.Id("got").Dot("Value")),
		jen.List(jen.Id("wv"), jen.Id("werr")).Op(":=").Id("EncodeOutValue").Call(jen.Id("want").Dot("Value")),
		jen.If(jen.Id("gerr").Op("!=").Nil().Op("||").Id("werr").Op("!=").Nil()).Block(
			jen.Return(jen.Qual("fmt", "Sprintf").Call(jen.Lit("cannot encode values: %v, %v"), jen.Id("gerr"), jen.Id("werr"))),
		),
		jen.If(jen.Op("!").Qual("bytes", "Equal").Call(jen.Id("gv"), jen.Id("wv"))).Block(
			jen.Return(jen.Qual("fmt", "Sprintf").Call(jen.Lit("value %q, want %q"), jen.Id("gv"), jen.Id("wv"))),
		),
		jen.If(jen.Op("!").Qual("slices", "EqualFunc").Call(jen.Id("got").Dot("Headers"), jen.Id("want").Dot("Headers"),
			jen.Func().Params(jen.List(jen.Id("a"), jen.Id("b")).Id("Header")).Bool().Block(
				jen.Return(jen.Id("a").Dot("Key").Op("==").Id("b").Dot("Key").Op("&&").Qual("bytes", "Equal").Call(jen.Id("a").Dot("Value"), jen.Id("b").Dot("Value"))),
			))).Block(
			jen.Return(jen.Qual("fmt", "Sprintf").Call(jen.Lit("headers %v, want %v"), jen.Id("got").Dot("Headers"), jen.Id("want").Dot("Headers"))),
		),
		jen.If(jen.Op("!").Id("want").Dot("Timestamp").Dot("IsZero").Call().Op("&&").Op("!").Id("got").Dot("Timestamp").Dot("Equal").Call(jen.Id("want").Dot("Timestamp"))).Block(
			jen.Return(jen.Qual("fmt", "Sprintf").Call(jen.Lit("timestamp %v, want %v"), jen.Id("got").Dot("Timestamp"), jen.Id("want").Dot("Timestamp"))),
		),
		jen.Return(jen.Lit("")),
	)
	return render(f)
}

// encodeInput renders the statements of RunMemory that set b to the value
// bytes of input in: its RawValue when the Input has one and it is set,
// else its Value encoded.
func encodeInput(m *model, errNil jen.Code) []jen.Code {
	fail := jen.Return(jen.Id("Result").Values(), jen.Qual("fmt", "Errorf").Call(jen.Lit("input %d: %w"), jen.Id("i"), jen.Err()))
	if m.in.Kind == settings.Bytes {
		return []jen.Code{
			jen.List(jen.Id("b"), jen.Err()).Op(":=").Id("EncodeInValue").Call(jen.Id("in").Dot("Value")),
			jen.If(errNil).Block(fail),
		}
	}
	return []jen.Code{
		jen.Id("b").Op(":=").Id("in").Dot("RawValue"),
		jen.If(jen.Id("b").Op("==").Nil()).Block(
			jen.Var().Err().Error(),
			jen.List(jen.Id("b"), jen.Err()).Op("=").Id("EncodeInValue").Call(jen.Id("in").Dot("Value")),
			jen.If(errNil).Block(fail),
		),
	}
}
