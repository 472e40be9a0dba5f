package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kgen-dev/kgen"
	"github.com/kgen-dev/kgen/generator"
	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/runtime/kafka/consumer"
	"github.com/kgen-dev/kgen/settings"
)

func (e *env) initCmd() *cobra.Command {
	var file, out, module, source string
	var force bool
	cmd := &cobra.Command{
		Use:   "init [--settings] FILE --out DIR",
		Short: "Create a new processor project from a settings file",
		Long: `init validates the settings, then writes a new project into DIR: your
process.go (forwarding every record unchanged until you change it), its test,
main.go, a README, a Makefile, go.mod and a copy of the settings, plus the
generated package kgen/. Everything is rendered in memory first and the
project appears all at once: on any error DIR is left as it was.

DIR must be missing or empty unless --force, which writes the project's files
into DIR, replacing files of the same name (process.go included) and leaving
the others alone.

The project's go.mod points at this kgen: its source checkout (found
automatically for a development build; --kgen-source or KGEN_SOURCE to
choose) or, for a released kgen, the published module at kgen's version.`,
		Example: `  kgen init settings.json --out ./article-copier
  kgen init --settings settings.json --out ./copier --module github.com/acme/copier
  kgen init --settings settings.json --out . --force`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			file, err := settingsArg(file, args)
			if err != nil {
				return err
			}
			data, err := settings.ReadFile(file)
			if err != nil {
				return fail("reading settings: %v", err)
			}
			s, diags := settings.ParseWith(file, data, generator.GenerationEnv, settings.Options{ClientSchemas: true})
			printSummary(e.stderr, diags)
			if s == nil {
				return fail("%s: invalid settings; nothing written", file)
			}
			abs, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			if module == "" {
				module = "example.com/" + sanitizeModuleElem(filepath.Base(abs))
			}
			if err := generator.CheckModulePath(module); err != nil {
				return usage("--module: %v", err)
			}
			src, err := generator.FindSource(source, e.getenv)
			if err != nil {
				return err
			}
			files, err := generator.Render(s, data, generator.Options{
				Module:    module,
				Version:   kgen.Version(),
				SourceDir: src,
			})
			if err != nil {
				return err
			}
			res, err := generator.WriteNew(out, files, force)
			if err != nil {
				return err
			}
			e.printInit(out, module, src, files, res)
			e.printFailurePolicy(s, data)
			e.printCustomClients(s)
			if secrets := settings.InlineSecrets(data); len(secrets) > 0 {
				sort.Strings(secrets)
				fmt.Fprintf(e.stdout, "\nNote: settings.json holds a secret written inline (%s): kgen wrote it readable by you only (0600) and listed it in .gitignore. Write secrets as \"${ENV_VAR}\" instead to keep them out of every copy.\n", strings.Join(secrets, ", "))
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&file, "settings", "", "settings `FILE` to generate from (or give FILE as the argument)")
	f.StringVar(&out, "out", "", "`DIR` to create the project in (required)")
	f.StringVar(&module, "module", "", "module `PATH` of the project (default example.com/ and DIR's name)")
	f.BoolVar(&force, "force", false, "write into a non-empty DIR, replacing the project's files there")
	f.StringVar(&source, "kgen-source", "", "kgen source checkout `DIR` for go.mod's replace directive (default: found automatically, or $KGEN_SOURCE)")
	cmd.MarkFlagRequired("out")
	return cmd
}

func (e *env) printInit(out, module, src string, files generator.Files, res *generator.InitResult) {
	w := e.stdout
	fmt.Fprintf(w, "Created %s (module %s)\n", out, module)
	replaced := map[string]bool{}
	for _, p := range res.Replaced {
		replaced[p] = true
	}
	for _, p := range res.Written {
		note := ""
		if files[p].Class == generator.Generated {
			note = "generated"
		} else {
			note = "yours"
		}
		if replaced[p] {
			note += ", replaced"
		}
		fmt.Fprintf(w, "  %-24s %s\n", p, note)
	}
	if src != "" {
		fmt.Fprintf(w, "kgen comes from %s (go.mod replace)\n", src)
	}
	fmt.Fprintf(w, "\nNext:\n  cd %s\n  make test    # run process_test.go in memory\n  make run     # build and run with settings.json\nThen write your logic in process.go.\n", out)
}

// sanitizeModuleElem turns a directory name into a module path element.
func sanitizeModuleElem(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	elem := strings.Trim(b.String(), ".-")
	if elem == "" || generator.CheckModulePath("example.com/"+elem) != nil {
		return "processor"
	}
	return elem
}

// printFailurePolicy says which failure policy the project runs with, where
// it comes from, and the JSON that changes it.
func (e *env) printFailurePolicy(s *settings.Settings, data []byte) {
	w := e.stdout
	f := s.Runtime.Failure
	retries := "its retries"
	if len(s.Runtime.Inbound) == 1 {
		retries = fmt.Sprintf("%d retries (max_retries)", s.Runtime.Inbound[0].MaxRetries)
	}
	from := "set in settings.json"
	if !settings.HasMember(data, "/processing/on_failure") {
		from = "the default: settings.json sets no processing.on_failure"
	}
	fmt.Fprintf(w, "\nFailure policy: on_failure %q (%s).\n", f.OnFailure, from)
	switch f.OnFailure {
	case runtime.Stop:
		fmt.Fprintf(w, "A record that still fails after %s stops the processor; nothing after it is committed, so it is read again at the next start.\n", retries)
	case runtime.Skip:
		fmt.Fprintf(w, "A record that still fails after %s is logged, counted and passed over.\n", retries)
	case runtime.DeadLetter:
		fmt.Fprintf(w, "A record that still fails after %s is written to the dead-letter topic %q, its failure in the headers.\n", retries, f.DeadLetterTopic)
		return
	}
	// Dead letters are written with the brokers of the record's inbound
	// client: only Kafka inbound clients have some.
	topic := ""
	for _, in := range s.Runtime.Inbound {
		k, _ := in.Config.(*consumer.Config)
		if k == nil {
			topic = ""
			break
		}
		if topic == "" && len(k.Topics) > 0 {
			topic = k.Topics[0] + "-dlq"
		}
	}
	what, policy := "dead-letter them", fmt.Sprintf(`"on_failure": "dead_letter", "dead_letter_topic": %q`, topic)
	if topic == "" {
		what, policy = "pass over them", `"on_failure": "skip"`
	}
	if settings.HasMember(data, "/processing") {
		fmt.Fprintf(w, "To %s instead, put this in the \"processing\" object of settings.json:\n  %s\n", what, policy)
	} else {
		fmt.Fprintf(w, "To %s instead, add this member to settings.json:\n  \"processing\": {%s}\n", what, policy)
	}
	fmt.Fprintln(w, "then run make generate (go generate ./...).")
}

// printCustomClients reminds that the project registers its own clients:
// kgen generated their config as JSON, nothing else.
func (e *env) printCustomClients(s *settings.Settings) {
	var names []string
	for _, in := range s.Runtime.Inbound {
		if _, ok := in.Config.(json.RawMessage); ok {
			names = append(names, fmt.Sprintf("%s (inbound %q)", in.Name, in.ID))
		}
	}
	for _, out := range s.Runtime.Outbound {
		if _, ok := out.Config.(json.RawMessage); ok {
			names = append(names, fmt.Sprintf("%s (outbound %q)", out.Name, out.ID))
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(e.stdout, "\nYour own clients: %s. Register each before kgen.Main runs, e.g. in package main:\n"+
		"  func init() { runtime.Register(yourclient.Client) }\n"+
		"The processor checks each one's config against its registered schema when it starts; an unregistered name stops it there.\n",
		strings.Join(names, ", "))
}
