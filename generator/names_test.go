package generator

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dave/jennifer/jen"

	rkafka "github.com/kgen-dev/kgen/runtime/kafka"
)

func TestGoName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"inbound", "Inbound"},
		{"kafka_out", "KafkaOut"},
		{"user-id", "UserID"},
		{"orders.retry", "OrdersRetry"},
		{"fileWriter", "FileWriter"},
		{"2nd", "Client2nd"},
		{"", "Client"},
		{"__", "Client"},
	}
	for _, tt := range tests {
		if got := goName(tt.in, "Client"); got != tt.want {
			t.Errorf("goName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	n := namer{"Workers": true}
	if a, b := n.take("Workers"), n.take("Workers"); a != "Workers2" || b != "Workers3" {
		t.Errorf("namer: %s, %s", a, b)
	}
}

func TestDurationCode(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{5 * time.Second, "5 * time.Second"},
		{time.Minute, "time.Minute"},
		{1500 * time.Millisecond, "1500 * time.Millisecond"},
		{90 * time.Minute, "90 * time.Minute"},
		{3 * time.Nanosecond, "time.Duration(3)"},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf("%#v", durationCode(tt.d)); got != tt.want {
			t.Errorf("durationCode(%s) = %s, want %s", tt.d, got, tt.want)
		}
	}
}

func TestStringCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{envOpen + "HOST" + envClose + ":9092", `os.Getenv("HOST") + ":9092"`},
		{"a-" + envOpen + "X" + envClose + "-" + envOpen + "Y" + envClose, `"a-" + os.Getenv("X") + "-" + os.Getenv("Y")`},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf("%#v", stringCode(tt.in)); got != tt.want {
			t.Errorf("stringCode(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if !onlyEnv(envOpen+"P"+envClose) || onlyEnv("x"+envOpen+"P"+envClose) {
		t.Error("onlyEnv")
	}
}

func TestSecretsNeverCompiled(t *testing.T) {
	w := &literalWriter{}
	for _, tt := range []struct {
		sec  rkafka.Security
		want string
	}{
		{rkafka.Security{Username: "u", Password: "hunter2"}, `x=T{Username:"u",}`},
		{rkafka.Security{Password: envOpen + "PW" + envClose}, `x=T{Password:os.Getenv("PW"),}`},
		{rkafka.Security{Password: "pre-" + envOpen + "PW" + envClose}, `x=T{}`},
	} {
		c, err := w.structValues(reflect.ValueOf(tt.sec))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(strings.Fields(fmt.Sprintf("%#v", jen.Id("x").Op("=").Id("T").Add(c))), ""); got != tt.want {
			t.Errorf("%+v rendered as %s, want %s", tt.sec, got, tt.want)
		}
	}
}
