package generator

import (
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/kgen-dev/kgen/runtime"
)

var (
	durationType  = reflect.TypeFor[time.Duration]()
	fileModeType  = reflect.TypeFor[fs.FileMode]()
	onFailureType = reflect.TypeFor[runtime.OnFailure]()
	runtimePkg    = reflect.TypeFor[runtime.Config]().PkgPath()
)

// onFailureNames are the runtime constants for the failure policies.
var onFailureNames = map[runtime.OnFailure]string{
	runtime.DeadLetter: "DeadLetter",
	runtime.Skip:       "Skip",
	runtime.Stop:       "Stop",
}

// literalWriter renders runtime config values as Go composite literals.
type literalWriter struct {
	// usedPtr is set when a pointer field needed the ptr helper.
	usedPtr bool
	// usedJSON is set when a custom client's config needed the
	// configJSON helper.
	usedJSON bool
}

// isSecret reports whether a field holds a secret that must never be
// compiled into a binary: it comes at run time from the settings file, or
// from the environment when the settings refer to a variable alone. A
// client's config marks its secrets with the struct tag `kgen:"secret"`.
func isSecret(f reflect.StructField) bool {
	return slices.Contains(strings.Split(f.Tag.Get("kgen"), ","), "secret")
}

// typeCode renders a type.
func typeCode(t reflect.Type) (jen.Code, error) {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return jen.Id(t.Name()), nil
		}
		return jen.Qual(t.PkgPath(), t.Name()), nil
	}
	switch t.Kind() {
	case reflect.Slice:
		e, err := typeCode(t.Elem())
		if err != nil {
			return nil, err
		}
		return jen.Index().Add(e), nil
	case reflect.Pointer:
		e, err := typeCode(t.Elem())
		if err != nil {
			return nil, err
		}
		return jen.Op("*").Add(e), nil
	case reflect.Map:
		k, err := typeCode(t.Key())
		if err != nil {
			return nil, err
		}
		e, err := typeCode(t.Elem())
		if err != nil {
			return nil, err
		}
		return jen.Map(k).Add(e), nil
	}
	return nil, fmt.Errorf("cannot render type %s", t)
}

// structValues renders the non-zero, non-secret fields of struct v as
// {Field: value, ...} (without the type).
func (w *literalWriter) structValues(v reflect.Value) (*jen.Statement, error) {
	var items []jen.Code
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fv := v.Field(i)
		if !f.IsExported() || fv.IsZero() {
			continue
		}
		if isSecret(f) && (fv.Kind() != reflect.String || !onlyEnv(fv.String())) {
			continue // only a reference to the environment may be compiled in
		}
		c, err := w.value(fv, f.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		items = append(items, jen.Id(f.Name).Op(":").Add(c))
	}
	return fields(items...), nil
}

// fields renders {a: 1, b: 2} with one item a line, in the given order
// (jen.Dict would sort them).
func fields(items ...jen.Code) *jen.Statement {
	if len(items) == 0 {
		return jen.Values()
	}
	return jen.Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, items...)
}

// value renders v; field is its struct field name, when it has one.
func (w *literalWriter) value(v reflect.Value, field string) (jen.Code, error) {
	t := v.Type()
	switch {
	case t == durationType:
		return durationCode(time.Duration(v.Int())), nil
	case t == fileModeType:
		return jen.Op(fmt.Sprintf("0o%o", v.Uint())), nil
	case t == onFailureType:
		if n, ok := onFailureNames[runtime.OnFailure(v.String())]; ok {
			return jen.Qual(runtimePkg, n), nil
		}
		return jen.Qual(runtimePkg, "OnFailure").Call(jen.Lit(v.String())), nil
	}
	switch t.Kind() {
	case reflect.String:
		return stringCode(v.String()), nil
	case reflect.Bool:
		return jen.Lit(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intCode(v.Int(), field), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return jen.Lit(int(v.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return jen.Lit(v.Float()), nil
	case reflect.Struct:
		tc, err := typeCode(t)
		if err != nil {
			return nil, err
		}
		vals, err := w.structValues(v)
		if err != nil {
			return nil, err
		}
		return jen.Add(tc).Add(vals), nil
	case reflect.Pointer:
		if v.IsNil() {
			return jen.Nil(), nil
		}
		e := v.Elem()
		if e.Kind() == reflect.Struct {
			c, err := w.value(e, "")
			if err != nil {
				return nil, err
			}
			return jen.Op("&").Add(c), nil
		}
		tc, err := typeCode(e.Type())
		if err != nil {
			return nil, err
		}
		c, err := w.value(e, field)
		if err != nil {
			return nil, err
		}
		w.usedPtr = true
		return jen.Id("ptr").Types(tc).Call(c), nil
	case reflect.Slice:
		tc, err := typeCode(t)
		if err != nil {
			return nil, err
		}
		var elems []jen.Code
		for i := range v.Len() {
			e := v.Index(i)
			var c jen.Code
			var err error
			if e.Kind() == reflect.Struct {
				c, err = w.structValues(e) // the element type is elided
			} else {
				c, err = w.value(e, "")
			}
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			elems = append(elems, c)
		}
		return jen.Add(tc).Values(elems...), nil
	case reflect.Map:
		tc, err := typeCode(t)
		if err != nil {
			return nil, err
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		d := jen.Dict{}
		for _, k := range keys {
			kc, err := w.value(k, "")
			if err != nil {
				return nil, err
			}
			vc, err := w.value(v.MapIndex(k), "")
			if err != nil {
				return nil, err
			}
			d[kc] = vc
		}
		return jen.Add(tc).Values(d), nil
	}
	return nil, fmt.Errorf("cannot render a value of type %s", t)
}

// intCode renders n; byte counts that are whole KiB or MiB read as shifts.
func intCode(n int64, field string) jen.Code {
	if strings.HasSuffix(field, "Bytes") && n > 0 {
		switch {
		case n%(1<<20) == 0:
			return jen.Lit(int(n >> 20)).Op("<<").Lit(20)
		case n%(1<<10) == 0:
			return jen.Lit(int(n >> 10)).Op("<<").Lit(10)
		}
	}
	return jen.Lit(int(n))
}

// durationCode renders d in the largest unit that divides it: 5 *
// time.Second, 300 * time.Millisecond, time.Minute.
func durationCode(d time.Duration) jen.Code {
	units := []struct {
		d    time.Duration
		name string
	}{
		{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"},
		{time.Millisecond, "Millisecond"}, {time.Microsecond, "Microsecond"},
	}
	for _, u := range units {
		if d%u.d == 0 {
			n := int64(d / u.d)
			if n == 1 {
				return jen.Qual("time", u.name)
			}
			return jen.Lit(int(n)).Op("*").Qual("time", u.name)
		}
	}
	return jen.Qual("time", "Duration").Call(jen.Lit(int(d)))
}
