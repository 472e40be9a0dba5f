package generator

import (
	"github.com/dave/jennifer/jen"
)

// harnessPath is the package of the in-memory test harness.
const harnessPath = kgenModule + "/app/harness"

// renderHarness renders harness_gen.go: table-driven tests of Process
// through the runtime's in-memory clients, app/harness typed for the
// project.
func renderHarness(m *model) ([]byte, error) {
	f := m.newFile()
	f.ImportName(harnessPath, "harness")
	types := func(name string) *jen.Statement {
		return jen.Qual(harnessPath, name).Types(jen.Id("InValue"), jen.Id("OutValue"), jen.Id("Config"))
	}

	f.Comment("TB is the part of testing.TB the harness uses.")
	f.Type().Id("TB").Op("=").Qual(harnessPath, "TB")
	f.Line()
	f.Comment("Result is what an in-memory run of Process wrote and would commit.")
	f.Type().Id("Result").Op("=").Qual(harnessPath, "Result").Types(jen.Id("OutValue"))
	f.Line()

	in0 := m.inbound[0]
	f.Comment("memory runs Process in memory for RunMemory and Case.")
	f.Var().Id("memory").Op("=").Add(types("Harness")).Values(jen.Dict{
		jen.Id("Codec"):      jen.Id("codec"),
		jen.Id("Source"):     jen.Id(in0.Field + "ID"),
		jen.Id("Topic"):      jen.Lit(in0.DefaultTopic),
		jen.Id("TestConfig"): jen.Id("TestConfig"),
	})
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

	f.Comment("RunMemory runs p over ins with cfg through the runtime's in-memory clients")
	f.Comment("(no broker) and returns what was written and would be committed. An input")
	f.Comment("with no Source or Topic comes from the first inbound client")
	f.Commentf("(%q, topic %q); Offsets left 0 count up from 0 per partition.", in0.ID, in0.DefaultTopic)
	f.Func().Id("RunMemory").Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("cfg").Id("Config"), jen.Id("p").Id("ProcessFunc"), jen.Id("ins").Op("...").Id("Input")).
		Params(jen.Id("Result"), jen.Error()).Block(
		jen.Return(jen.Id("memory").Dot("RunMemory").Call(jen.Id("ctx"), jen.Id("cfg"), jen.Id("p"), jen.Id("ins").Op("..."))),
	)
	f.Line()

	f.Comment("Case is one table-driven test of Process: records in, expected writes out;")
	f.Comment("see harness.Case for its fields. A nil Config means TestConfig().")
	f.Type().Id("Case").Add(types("Case"))
	f.Line()

	f.Comment("Check runs c.In through p in memory and reports on t every way the result")
	f.Comment("differs from what c wants.")
	f.Func().Params(jen.Id("c").Id("Case")).Id("Check").Params(jen.Id("t").Id("TB"), jen.Id("p").Id("ProcessFunc")).Block(
		jen.Id("t").Dot("Helper").Call(),
		jen.Id("memory").Dot("Check").Call(jen.Id("t"), types("Case").Call(jen.Id("c")), jen.Id("p")),
	)
	return render(f)
}
