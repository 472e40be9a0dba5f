package generator

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/dave/jennifer/jen"
)

// newFile starts a generated Go file of the kgen package.
func (m *model) newFile() *jen.File {
	f := jen.NewFilePathName(m.pkgPath, OwnedDir)
	f.HeaderComment(Header[3:])
	f.ImportName(runtimePath, "runtime")
	f.ImportName(settingsPkg, "settings")
	// Each client's config package, by the name it declares (a config
	// type's String is "name.Type").
	for _, cs := range [][]client{m.inbound, m.outbound} {
		for _, c := range cs {
			if c.Custom {
				continue // its config is JSON
			}
			if name, _, ok := strings.Cut(c.Type.String(), "."); ok {
				f.ImportName(c.Type.PkgPath(), name)
			}
		}
	}
	return f
}

// render renders f to bytes.
func render(f *jen.File) ([]byte, error) {
	var b bytes.Buffer
	if err := f.Render(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// renderConfig renders config_gen.go: the typed Config with the settings'
// values as DefaultConfig, and its conversion to runtime.Config.
func renderConfig(m *model) ([]byte, error) {
	f := m.newFile()
	w := &literalWriter{}

	// Client ids.
	var ids []jen.Code
	for _, c := range m.inbound {
		ids = append(ids, jen.Commentf("%sID names the inbound client %q (%s).", c.Field, c.ID, c.Name).Line().
			Id(c.Field+"ID").Op("=").Lit(c.ID))
	}
	for _, c := range m.outbound {
		ids = append(ids, jen.Commentf("%sID names the outbound client %q (%s) in Output.To.", c.Field, c.ID, c.Name).Line().
			Id(c.Field+"ID").Op("=").Lit(c.ID))
	}
	f.Comment("Client ids, as settings.json names them.")
	f.Const().Defs(ids...)
	f.Line()
	f.Comment("Log settings from settings.json; --log-level and --log-format override them.")
	f.Const().Defs(
		jen.Id("DefaultLogLevel").Op("=").Lit(orDefault(m.s.LogLevel, "info")),
		jen.Id("DefaultLogFormat").Op("=").Lit(orDefault(m.s.LogFormat, "text")),
	)
	f.Line()

	// The Config struct.
	var sfields []jen.Code
	sfields = append(sfields,
		jen.Comment("Workers is the processing concurrency (num_of_workers).").Line().
			Id("Workers").Int())
	for _, c := range m.inbound {
		sfields = append(sfields,
			jen.Line().Add(clientComment(c, "inbound")).Line().
				Id(c.Field).Add(clientType(c)),
			jen.Commentf("%s is how many times a failed record from %q is retried", c.Retries, c.ID).Line().
				Comment("before the failure policy applies.").Line().
				Id(c.Retries).Int(),
		)
	}
	for _, c := range m.outbound {
		sfields = append(sfields,
			jen.Line().Add(clientComment(c, "outbound")).Line().
				Id(c.Field).Add(clientType(c)))
	}
	sfields = append(sfields,
		jen.Line().Comment("Failure is what happens to records that keep failing.").Line().
			Id("Failure").Qual(runtimePath, "FailurePolicy"),
		jen.Comment("Flow bounds the memory in flight and shapes ordering.").Line().
			Id("Flow").Qual(runtimePath, "FlowConfig"),
		jen.Comment("MetricsAddr serves /metrics, /healthz and /readyz when not empty.").Line().
			Id("MetricsAddr").String(),
	)
	f.Comment("Config is the processor's configuration, typed for exactly the clients")
	f.Comment("in settings.json. Zero values mean the runtime's documented defaults.")
	f.Type().Id("Config").Struct(sfields...)
	f.Line()

	// DefaultConfig.
	var items []jen.Code
	if m.s.Runtime.Workers != 0 {
		items = append(items, jen.Id("Workers").Op(":").Lit(m.s.Runtime.Workers))
	}
	for _, c := range m.inbound {
		vals, err := w.clientValue(c)
		if err != nil {
			return nil, fmt.Errorf("inbound %q: %w", c.ID, err)
		}
		items = append(items, jen.Id(c.Field).Op(":").Add(vals))
		if c.MaxRetries != 0 {
			items = append(items, jen.Id(c.Retries).Op(":").Lit(c.MaxRetries))
		}
	}
	for _, c := range m.outbound {
		vals, err := w.clientValue(c)
		if err != nil {
			return nil, fmt.Errorf("outbound %q: %w", c.ID, err)
		}
		items = append(items, jen.Id(c.Field).Op(":").Add(vals))
	}
	for _, x := range []struct {
		field string
		v     any
	}{{"Failure", m.s.Runtime.Failure}, {"Flow", m.s.Runtime.Flow}, {"MetricsAddr", m.s.Runtime.MetricsAddr}} {
		v := reflect.ValueOf(x.v)
		if v.IsZero() {
			continue
		}
		c, err := w.value(v, x.field)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", x.field, err)
		}
		items = append(items, jen.Id(x.field).Op(":").Add(c))
	}
	f.Comment("DefaultConfig returns the configuration compiled from settings.json when")
	f.Comment("the code was generated. A ${ENV_VAR} in the settings is read from the")
	f.Comment("environment when DefaultConfig runs. Secrets (passwords) written inline are")
	f.Comment("never compiled in: run with --settings FILE to supply them.")
	f.Func().Id("DefaultConfig").Params().Id("Config").Block(
		jen.Return(jen.Id("Config").Add(fields(items...))),
	)
	f.Line()

	// Runtime.
	var ins, outs []jen.Code
	for _, c := range m.inbound {
		ins = append(ins, fields(
			jen.Id("ID").Op(":").Id(c.Field+"ID"),
			jen.Id("Name").Op(":").Lit(c.Name),
			jen.Id("Config").Op(":").Add(clientConfigRef(c)),
			jen.Id("MaxRetries").Op(":").Id("c").Dot(c.Retries),
		))
	}
	for _, c := range m.outbound {
		outs = append(outs, fields(
			jen.Id("ID").Op(":").Id(c.Field+"ID"),
			jen.Id("Name").Op(":").Lit(c.Name),
			jen.Id("Config").Op(":").Add(clientConfigRef(c)),
		))
	}
	rt := []jen.Code{
		jen.Id("Workers").Op(":").Id("c").Dot("Workers"),
		jen.Id("Inbound").Op(":").Index().Qual(runtimePath, "InboundConfig").Add(fields(ins...)),
	}
	if len(outs) > 0 {
		rt = append(rt, jen.Id("Outbound").Op(":").Index().Qual(runtimePath, "OutboundConfig").Add(fields(outs...)))
	}
	rt = append(rt,
		jen.Id("Failure").Op(":").Id("c").Dot("Failure"),
		jen.Id("Flow").Op(":").Id("c").Dot("Flow"),
		jen.Id("MetricsAddr").Op(":").Id("c").Dot("MetricsAddr"),
	)
	f.Comment("Runtime returns c as the runtime's configuration.")
	f.Func().Params(jen.Id("c").Id("Config")).Id("Runtime").Params().Qual(runtimePath, "Config").Block(
		jen.Return(jen.Qual(runtimePath, "Config").Add(fields(rt...))),
	)

	if w.usedJSON {
		f.Line()
		f.Comment("configJSON returns a custom client's config as the JSON the runtime decodes")
		f.Comment("and checks against the registered client's schema.")
		f.Func().Id("configJSON").Params(jen.Id("v").Any()).Qual("encoding/json", "RawMessage").Block(
			jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("v")),
			jen.If(jen.Err().Op("!=").Nil()).Block(
				jen.Panic(jen.Err()).Comment("cannot happen: only maps, slices, strings, numbers, booleans and nil"),
			),
			jen.Return(jen.Id("b")),
		)
	}
	if w.usedPtr {
		f.Line()
		f.Comment("ptr returns a pointer to v.")
		f.Func().Id("ptr").Types(jen.Id("T").Any()).Params(jen.Id("v").Id("T")).Op("*").Id("T").Block(
			jen.Return(jen.Op("&").Id("v")),
		)
	}
	return render(f)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
