package jaeger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeModule is a tools/jaeger stand-in whose go.sum the test can change.
func fakeModule(t *testing.T, sum string) string {
	t.Helper()
	dir := t.TempDir()
	gomod := "module example.com/tools/jaeger\n\ngo 1.26.0\n\ntool github.com/jaegertracing/jaeger/cmd/jaeger\n\nrequire github.com/jaegertracing/jaeger v1.75.0 // indirect\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	writeSum(t, dir, sum)
	return dir
}

func writeSum(t *testing.T, module, sum string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(module, "go.sum"), []byte(sum), 0o644); err != nil {
		t.Fatal(err)
	}
}

// countingBuild writes a small file as the binary and counts its calls.
func countingBuild(n *atomic.Int32) func(context.Context, string, string) error {
	return func(_ context.Context, _, out string) error {
		n.Add(1)
		return os.WriteFile(out, []byte("#!/bin/sh\n"), 0o755)
	}
}

// TestBinaryBuildsOncePerContent: callers at the same time get one build
// and one path; later calls reuse it; another go.sum is another build; a
// failed build leaves nothing behind and the next call tries again.
func TestBinaryBuildsOncePerContent(t *testing.T) {
	module, cache := fakeModule(t, "a v1.0.0 h1:one=\n"), t.TempDir()
	var builds atomic.Int32
	cfg := BuildConfig{Module: module, CacheDir: cache, build: countingBuild(&builds)}

	const callers = 8
	paths := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { paths[i], errs[i] = Binary(context.Background(), cfg) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("caller %d: %q, %v; want %q", i, paths[i], errs[i], paths[0])
		}
	}
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d concurrent callers built %d times, want once", callers, n)
	}
	if !strings.HasPrefix(paths[0], cache+string(filepath.Separator)) || filepath.Base(paths[0]) != "jaeger" {
		t.Errorf("binary at %s, want <cache>/<key>/jaeger", paths[0])
	}
	if again, err := Binary(context.Background(), cfg); err != nil || again != paths[0] || builds.Load() != 1 {
		t.Fatalf("second call: %q, %v after %d builds; want the same binary, no build", again, err, builds.Load())
	}

	writeSum(t, module, "a v1.0.1 h1:two=\n")
	other, err := Binary(context.Background(), cfg)
	if err != nil || other == paths[0] || builds.Load() != 2 {
		t.Fatalf("after go.sum changed: %q, %v after %d builds; want a new build elsewhere", other, err, builds.Load())
	}

	writeSum(t, module, "a v1.0.2 h1:three=\n")
	failing := cfg
	failing.build = func(_ context.Context, _, out string) error {
		_ = os.WriteFile(out, []byte("half"), 0o755)
		return errors.New("compile error")
	}
	if bin, err := Binary(context.Background(), failing); err == nil {
		t.Fatalf("a failed build returned %s", bin)
	}
	bin, err := Binary(context.Background(), cfg)
	if err != nil || builds.Load() != 3 {
		t.Fatalf("after a failed build: %q, %v after %d builds; want a fresh build", bin, err, builds.Load())
	}
	if b, _ := os.ReadFile(bin); string(b) == "half" {
		t.Fatal("a failed build's partial file became the binary")
	}
}

func TestBinaryNeedsTheModule(t *testing.T) {
	if _, err := Binary(context.Background(), BuildConfig{Module: t.TempDir(), CacheDir: t.TempDir()}); err == nil {
		t.Fatal("Binary succeeded without go.mod and go.sum")
	}
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct{ gomod, want string }{
		{"require (\n\tgithub.com/jaegertracing/jaeger v1.75.0 // indirect\n)\n", "v1.75.0"},
		{"require github.com/jaegertracing/jaeger v2.13.0\n", "v2.13.0"},
		{"require github.com/jaegertracing/jaeger-idl v0.6.0\n", "(version unknown)"},
	} {
		if got := Version([]byte(tc.gomod)); got != tc.want {
			t.Errorf("Version(%q) = %q, want %q", tc.gomod, got, tc.want)
		}
	}
	// The module devstack builds names its version, for the build's log line.
	gomod, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "tools", "jaeger", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if v := Version(gomod); !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("tools/jaeger/go.mod: version %q", v)
	}
}

func TestConfigYAML(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
		err  bool
	}{
		{"defaults", Config{QueryPort: 16686, OTLPPort: 4318},
			[]string{"endpoint: 127.0.0.1:16686", "endpoint: 127.0.0.1:4318", "endpoint: 127.0.0.1:0", "max_traces: 10000", "level: warn", "encoding: console", "enable_tracing: false"}, false},
		{"json logs", Config{QueryPort: 1, OTLPPort: 2, LogLevel: "info", LogJSON: true, MaxTraces: 5},
			[]string{"level: info", "encoding: json", "max_traces: 5"}, false},
		{"same port twice", Config{QueryPort: 4318, OTLPPort: 4318}, nil, true},
		{"no port", Config{QueryPort: 16686}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.cfg.YAML()
			if tc.err {
				if !errors.Is(err, ErrPorts) {
					t.Fatalf("YAML() error %v, want ErrPorts", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("configuration lacks %q:\n%s", w, b)
				}
			}
			// No receiver or extension that opens a fixed port of its own.
			for _, unwanted := range []string{"zipkin", "jaeger:", "healthcheck", "remote_sampling", "prometheus", "expvar", "zpages", "pprof", "4317"} {
				if strings.Contains(string(b), unwanted) {
					t.Errorf("configuration has %q:\n%s", unwanted, b)
				}
			}
			_, receivers, _ := strings.Cut(string(b), "\nreceivers:")
			receivers, _, _ = strings.Cut(receivers, "\nprocessors:")
			if strings.Contains(receivers, "grpc") {
				t.Errorf("the OTLP receiver takes gRPC:%s", receivers)
			}
		})
	}
}
