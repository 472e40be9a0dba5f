// Package contender holds what every Go contender of the benchmark shares:
// its flags, its CPU profile, and its shutdown on SIGTERM.
//
// A contender consumes -in with group -group and writes every record,
// unchanged, to the topic -out (or, with -file, to files). It runs until the
// harness sends SIGTERM: the harness decides completion by watching the
// output (topic end offsets or file sizes), which holds for every contender
// alike, whatever its client reports about itself.
package contender

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// Flags are the contender's command line.
type Flags struct {
	Brokers []string
	In      string
	Out     string
	Group   string
	// N is how many records the harness expects; a hint for sizing.
	N int
	// File, when set, is the output path; "{}" is replaced by a writer id.
	File string
	// Sleep is a per-record handler delay (the slow-handler workload).
	Sleep   time.Duration
	Workers int
}

// Setup parses the flags (extra ones may be registered on flag.CommandLine
// before), starts the CPU profile when -cpuprofile is set, and returns a
// context that ends on SIGTERM or SIGINT, plus a function main must defer
// to stop the profile.
func Setup(defaultWorkers int) (context.Context, Flags, func()) {
	var (
		f       Flags
		brokers = flag.String("brokers", "127.0.0.1:9092", "bootstrap servers, comma-separated")
		prof    = flag.String("cpuprofile", "", "write a CPU profile here")
		memProf = flag.String("memprofile", "", "write a heap profile here when stopping")
	)
	flag.StringVar(&f.In, "in", "", "input topic")
	flag.StringVar(&f.Out, "out", "", "output topic")
	flag.StringVar(&f.Group, "group", "", "consumer group")
	flag.IntVar(&f.N, "n", 0, "records the harness expects (hint)")
	flag.StringVar(&f.File, "file", "", "write to this file path ({} = writer id) instead of -out")
	flag.DurationVar(&f.Sleep, "sleep", 0, "handler delay per record")
	flag.IntVar(&f.Workers, "workers", defaultWorkers, "workers")
	flag.Parse()
	f.Brokers = strings.Split(*brokers, ",")
	if f.In == "" || f.Group == "" || (f.Out == "" && f.File == "") {
		Fatal(fmt.Errorf("-in, -group and one of -out or -file are required"))
	}
	stopProf := func() {}
	if *prof != "" {
		pf, err := os.Create(*prof)
		if err != nil {
			Fatal(err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			Fatal(err)
		}
		stopProf = func() {
			pprof.StopCPUProfile()
			_ = pf.Close()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	if *memProf != "" {
		// The heap in use at the signal, before the shutdown frees it.
		go func() {
			<-ctx.Done()
			if mf, err := os.Create(*memProf); err == nil {
				_ = pprof.Lookup("heap").WriteTo(mf, 0)
				_ = mf.Close()
			}
		}()
	}
	return ctx, f, func() {
		stop()
		stopProf()
	}
}

// Fatal prints err and exits with status 1.
func Fatal(err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", progName(), err)
	os.Exit(1)
}

func progName() string {
	name := os.Args[0]
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// FilePath returns the output path for writer id.
func (f Flags) FilePath(id int) string {
	return strings.ReplaceAll(f.File, "{}", fmt.Sprint(id))
}
