// Package examples_test checks the example projects of examples/ as a user
// runs them: built from their own module (kgen through its go.mod replace),
// their own tests, and the built processor end to end.
package examples_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// goIn runs the go command in dir offline, as the generated projects'
// tests do, and returns its combined output.
func goIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := goRun(dir, args...)
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out
}

func goRun(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// endpoint is the webhook receiver: it answers 503 to its first failFirst
// requests and 200 after, and keeps what it took.
type endpoint struct {
	failFirst int

	mu    sync.Mutex
	n     int
	taken []taken
	auth  map[string]bool
}

type taken struct {
	key  string
	body string
}

func (ep *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	key, _ := url.PathUnescape(r.Header.Get("Kgen-Key"))
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.n++
	ep.auth[r.Header.Get("Authorization")] = true
	if ep.n <= ep.failFirst {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	ep.taken = append(ep.taken, taken{key, string(body)})
}

// TestWebhookExample builds examples/webhook (a project made by kgen init
// with an outbound client of its own), checks that its generated code is what
// its settings generate, runs its tests with -race, then runs the processor
// on a file of records against a local endpoint that fails its first
// requests: every record arrives, the records of each key in input order
// (but for replays), and the processor stops cleanly once the input is
// replayed. A config the client's schema refuses stops the processor at
// start.
func TestWebhookExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example project (-short)")
	}
	dir, err := filepath.Abs("webhook")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := goRun(dir, "tool", "kgen", "generate", "--check"); err != nil {
		t.Fatalf("examples/webhook/kgen is not what its settings generate with this kgen: run make golden\n%s", out)
	}
	goIn(t, dir, "vet", "./...")
	goIn(t, dir, "test", "-race", "-count=1", "./...")
	bin := filepath.Join(t.TempDir(), "webhook")
	goIn(t, dir, "build", "-o", bin, ".")

	const ids, perID, failFirst = 5, 40, 7
	var input bytes.Buffer
	for i := range ids * perID {
		fmt.Fprintf(&input, `{"id":"id-%d","n":%d}`+"\n", i%ids, i)
	}

	t.Run("settings file", func(t *testing.T) {
		runWebhook(t, bin, dir, []string{"--settings", filepath.Join(dir, "settings.json")}, input.Bytes(), ids, perID, failFirst)
	})
	t.Run("compiled in", func(t *testing.T) {
		// Run where there is no settings.json: the settings compiled in.
		runWebhook(t, bin, t.TempDir(), nil, input.Bytes(), ids, perID, failFirst)
	})
	t.Run("config refused at start", func(t *testing.T) {
		cmd := exec.Command(bin, "--settings", filepath.Join(dir, "settings.json"))
		cmd.Env = append(os.Environ(), "WEBHOOK_URL=ftp://example.com/hook", "WEBHOOK_TOKEN=t0k")
		cmd.Stdin = strings.NewReader(`{"id":"a"}` + "\n")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("the processor ran with url ftp://...:\n%s", out)
		}
		if !strings.Contains(string(out), `outbound client \"hook\" (webhook): config does not match the client's schema: /url`) {
			t.Errorf("output does not say that the config of client hook was refused at /url:\n%s", out)
		}
	})
}

// runWebhook runs the processor bin in dir with args, records on standard
// input, against a fresh endpoint, and checks what the endpoint took.
func runWebhook(t *testing.T, bin, dir string, args []string, input []byte, ids, perID, failFirst int) {
	ep := &endpoint{failFirst: failFirst, auth: map[string]bool{}}
	srv := httptest.NewServer(ep)
	defer srv.Close()

	// A guard against a hang, not a timing assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WEBHOOK_URL="+srv.URL+"/hook?sig=1", "WEBHOOK_TOKEN=t0k")
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("processor: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped cleanly") {
		t.Errorf("the processor did not stop cleanly:\n%s", stderr.String())
	}

	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.n < failFirst+ids*perID {
		t.Errorf("%d requests, want at least %d (%d answered 503)", ep.n, failFirst+ids*perID, failFirst)
	}
	if len(ep.auth) != 1 || !ep.auth["Bearer t0k"] {
		t.Errorf("Authorization headers %v, want only \"Bearer t0k\"", ep.auth)
	}
	// Each key's values, in the order taken.
	got := map[string][]int{}
	for _, tk := range ep.taken {
		var n int
		if _, err := fmt.Sscanf(tk.body[strings.Index(tk.body, `"n":`)+4:], "%d", &n); err != nil || !strings.Contains(tk.body, `"id":"`+tk.key+`"`) {
			t.Fatalf("taken key %q body %q: not a record of the input under its id", tk.key, tk.body)
		}
		got[tk.key] = append(got[tk.key], n)
	}
	if len(got) != ids {
		t.Errorf("%d keys taken, want %d", len(got), ids)
	}
	for k := range ids {
		key := "id-" + strconv.Itoa(k)
		var want []int
		for i := k; i < ids*perID; i += ids {
			want = append(want, i)
		}
		checkOrder(t, key, want, got[key])
	}
}

// checkOrder checks one key's deliveries against its inputs: nothing lost,
// in input order except that a failure may replay a suffix, and the last
// delivery the newest input.
func checkOrder(t *testing.T, key string, want, got []int) {
	t.Helper()
	seen := map[int]bool{}
	pos := -1
	for _, n := range got {
		i := slices.Index(want, n)
		switch {
		case i < 0:
			t.Errorf("key %s: took %d, not an input of the key", key, n)
			return
		case i > pos+1:
			t.Errorf("key %s: took %v, skipping from input %d to %d", key, got, pos, i)
			return
		case i <= pos && !seen[n]:
			t.Errorf("key %s: took %v, going back to an input never taken", key, got)
			return
		}
		seen[n] = true
		pos = i
	}
	if len(seen) != len(want) {
		t.Errorf("key %s: %d of %d inputs taken: %v", key, len(seen), len(want), got)
	}
	if len(got) == 0 || got[len(got)-1] != want[len(want)-1] {
		t.Errorf("key %s: last taken is not the newest input %d: %v", key, want[len(want)-1], got)
	}
}
