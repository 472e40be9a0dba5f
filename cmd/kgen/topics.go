package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/kgen-dev/kgen/runtime"
	"github.com/kgen-dev/kgen/settings"
)

// namedTopic is a Kafka topic a settings file names, with the connection
// of the client that names it.
type namedTopic struct {
	name    string
	role    string // "inbound in", "outbound out", "dead letters"
	brokers []string
	sec     runtime.Security
	client  string
}

// role names a client: its kind, and its id when that differs.
func role(kind, id string) string {
	if id == "" || id == kind {
		return kind
	}
	return kind + " " + id
}

// settingsTopics lists the Kafka topics of cfg: inbound topics (and
// manually assigned ones), kafka_producer outbound topics and the
// dead-letter topic (written with the inbound client's brokers).
func settingsTopics(cfg runtime.Config) []namedTopic {
	var out []namedTopic
	seen := map[string]bool{}
	add := func(t namedTopic) {
		if t.name == "" || seen[t.name] {
			return
		}
		seen[t.name] = true
		out = append(out, t)
	}
	var dlqConn *runtime.KafkaConsumerConfig
	for _, in := range cfg.Inbound {
		k, _ := in.Config.(*runtime.KafkaConsumerConfig)
		if k == nil {
			continue
		}
		if dlqConn == nil {
			dlqConn = k
		}
		for _, t := range k.Topics {
			add(namedTopic{t, role("inbound", in.ID), k.Brokers, k.Security, k.ClientID})
		}
		for _, a := range k.Assignments {
			add(namedTopic{a.Topic, role("inbound", in.ID), k.Brokers, k.Security, k.ClientID})
		}
	}
	for _, o := range cfg.Outbound {
		if k, _ := o.Config.(*runtime.KafkaProducerConfig); k != nil {
			add(namedTopic{k.Topic, role("outbound", o.ID), k.Brokers, k.Security, k.ClientID})
		}
	}
	if cfg.Failure.OnFailure == runtime.DeadLetter && dlqConn != nil {
		add(namedTopic{cfg.Failure.DeadLetterTopic, "dead letters", dlqConn.Brokers, dlqConn.Security, dlqConn.ClientID})
	}
	return out
}

// settingsArg returns the settings file from --settings or the one
// positional argument.
func settingsArg(flag string, args []string) (string, error) {
	switch {
	case flag != "" && len(args) > 0:
		return "", usage("give the settings file once: --settings %s or %s, not both", flag, args[0])
	case flag != "":
		return flag, nil
	case len(args) == 1:
		return args[0], nil
	case len(args) > 1:
		return "", usage("one settings file expected, got %d arguments", len(args))
	}
	return "", usage("no settings file: give --settings FILE (or FILE)")
}

// loadRuntime loads file's settings, printing its diagnostics; errors fail.
func (e *env) loadRuntime(file string) (runtime.Config, error) {
	s, diags := settings.Load(file)
	var errs []settings.Diagnostic
	for _, d := range diags {
		if d.Severity == settings.Error {
			errs = append(errs, d)
		}
	}
	if s == nil || len(errs) > 0 {
		printDiagnostics(e.stderr, errs)
		return runtime.Config{}, fail("%s: invalid settings", file)
	}
	return s.Runtime, nil
}

func (e *env) topicsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create, list and read the Kafka topics a settings file names",
		Long: `topics works on the Kafka topics a settings file names: the inbound topics,
the kafka_producer outbound topics and the dead-letter topic, each with the
brokers, TLS and SASL settings of the client that names it.`,
		Example: `  kgen topics create settings.json --partitions 6 --replication-factor 3
  kgen topics list settings.json
  kgen topics read settings.json --topic articles-dlq -n 10`,
	}
	cmd.AddCommand(e.topicsCreateCmd(), e.topicsListCmd(), e.topicsReadCmd())
	return cmd
}

func (e *env) topicsCreateCmd() *cobra.Command {
	var file string
	var partitions, replication int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "create [--settings] FILE",
		Short: "Create every topic the settings name that does not exist yet",
		Long: `create creates the inbound, outbound and dead-letter topics the settings
name. Topics that exist are left as they are (and said so), so running it
again is harmless. --partitions and --replication-factor default to the
broker's own defaults (num.partitions, default.replication.factor).`,
		Example: `  kgen topics create settings.json
  kgen topics create --settings settings.json --partitions 6 --replication-factor 3`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			f, err := settingsArg(file, args)
			if err != nil {
				return err
			}
			if partitions == 0 || partitions < -1 || replication == 0 || replication < -1 {
				return usage("--partitions and --replication-factor must be positive (or -1 for the broker's default)")
			}
			cfg, err := e.loadRuntime(f)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return e.eachTopic(ctx, settingsTopics(cfg), func(a *runtime.Admin, t namedTopic) error {
				created, err := a.Create(ctx, t.name, partitions, replication)
				if err != nil {
					return err
				}
				info, err := a.Describe(ctx, []string{t.name})
				if err != nil {
					return err
				}
				state := "exists"
				if created {
					state = "created"
				}
				fmt.Fprintf(e.stdout, "%-7s %s (%s): %d partition(s), replication factor %d\n",
					state, t.name, t.role, info[0].Partitions, info[0].Replication)
				return nil
			})
		}),
	}
	cmd.Flags().StringVar(&file, "settings", "", "settings `FILE`")
	cmd.Flags().IntVar(&partitions, "partitions", -1, "partitions of each new topic (-1: the broker's num.partitions)")
	cmd.Flags().IntVar(&replication, "replication-factor", -1, "replicas of each new topic (-1: the broker's default.replication.factor)")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "give up after this long")
	return cmd
}

func (e *env) topicsListCmd() *cobra.Command {
	var file string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "list [--settings] FILE",
		Short:   "Show whether each topic the settings name exists, with its partitions",
		Example: `  kgen topics list settings.json`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			f, err := settingsArg(file, args)
			if err != nil {
				return err
			}
			cfg, err := e.loadRuntime(f)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			missing := 0
			err = e.eachTopic(ctx, settingsTopics(cfg), func(a *runtime.Admin, t namedTopic) error {
				info, err := a.Describe(ctx, []string{t.name})
				if err != nil {
					return err
				}
				switch i := info[0]; {
				case i.Err != nil:
					fmt.Fprintf(e.stdout, "error   %s (%s): %v\n", t.name, t.role, i.Err)
				case !i.Exists:
					missing++
					fmt.Fprintf(e.stdout, "missing %s (%s)\n", t.name, t.role)
				default:
					fmt.Fprintf(e.stdout, "exists  %s (%s): %d partition(s), replication factor %d\n",
						t.name, t.role, i.Partitions, i.Replication)
				}
				return nil
			})
			if err == nil && missing > 0 {
				return fail("%d topic(s) missing: kgen topics create %s", missing, f)
			}
			return err
		}),
	}
	cmd.Flags().StringVar(&file, "settings", "", "settings `FILE`")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "give up after this long")
	return cmd
}

func (e *env) topicsReadCmd() *cobra.Command {
	var file, topic string
	var n int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "read [--settings] FILE --topic TOPIC",
		Short: "Print a topic's records: partition, offset, time, key, headers, value",
		Long: `read prints the records of one of the topics the settings name (the
dead-letter topic, say: its headers say why each record failed), one per
line, partition by partition in offset order, as they are when it starts.
Keys, values and header values are printed as quoted strings (Go syntax).`,
		Example: `  kgen topics read settings.json --topic articles-dlq
  kgen topics read settings.json --topic articles-out -n 5`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			f, err := settingsArg(file, args)
			if err != nil {
				return err
			}
			if topic == "" {
				return usage("--topic is required")
			}
			cfg, err := e.loadRuntime(f)
			if err != nil {
				return err
			}
			var target *namedTopic
			var names []string
			for _, t := range settingsTopics(cfg) {
				names = append(names, t.name)
				if t.name == topic {
					target = &t
				}
			}
			if target == nil {
				sort.Strings(names)
				return usage("topic %q is not named by %s (it names: %s)", topic, f, strings.Join(names, ", "))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return e.eachTopic(ctx, []namedTopic{*target}, func(a *runtime.Admin, t namedTopic) error {
				count := 0
				err := a.Read(ctx, t.name, n, func(r runtime.ReadRecord) error {
					count++
					printRecord(e.stdout, r)
					return nil
				})
				if err == nil {
					fmt.Fprintf(e.stderr, "kgen: %d record(s) in %s\n", count, t.name)
				}
				return err
			})
		}),
	}
	cmd.Flags().StringVar(&file, "settings", "", "settings `FILE`")
	cmd.Flags().StringVar(&topic, "topic", "", "the `TOPIC` to read (one the settings name)")
	cmd.Flags().IntVarP(&n, "max", "n", 0, "print at most `N` records (0: all)")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "give up after this long")
	return cmd
}

// eachTopic runs fn for each topic with an Admin on its client's brokers.
func (e *env) eachTopic(ctx context.Context, topics []namedTopic, fn func(*runtime.Admin, namedTopic) error) error {
	if len(topics) == 0 {
		fmt.Fprintln(e.stderr, "kgen: the settings name no Kafka topic")
		return nil
	}
	for _, t := range topics {
		a, err := runtime.NewAdmin(t.brokers, t.sec, t.client)
		if err != nil {
			return fail("%s (%s): %v", t.name, t.role, err)
		}
		err = fn(a, t)
		a.Close()
		if err != nil {
			if ctx.Err() != nil {
				return fail("%s (%s) on %s: %v (gave up after --timeout)", t.name, t.role, strings.Join(t.brokers, ","), err)
			}
			return fail("%s (%s) on %s: %v", t.name, t.role, strings.Join(t.brokers, ","), err)
		}
	}
	return nil
}

// printRecord writes one record as a line.
func printRecord(w io.Writer, r runtime.ReadRecord) {
	var b strings.Builder
	fmt.Fprintf(&b, "partition=%d offset=%d time=%s key=%s", r.Partition, r.Offset,
		r.Time.UTC().Format(time.RFC3339Nano), quoteBytes(r.Key))
	if len(r.Headers) > 0 {
		b.WriteString(" headers={")
		for i, h := range r.Headers {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(h.Key) + ": " + quoteBytes(h.Value))
		}
		b.WriteString("}")
	}
	b.WriteString(" value=" + quoteBytes(r.Value))
	fmt.Fprintln(w, b.String())
}

// quoteBytes quotes b as a Go string, or says null for a nil key or value.
func quoteBytes(b []byte) string {
	if b == nil {
		return "null"
	}
	if utf8.Valid(b) {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%q", b)
}
