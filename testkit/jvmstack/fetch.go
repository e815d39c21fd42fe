package jvmstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/outboxcdc/outboxcdc/testkit/sharedcache"
)

// ErrNoJava is returned (wrapped) when java (17 or newer) or mvn is missing.
var ErrNoJava = errors.New("the JVM stack needs java 17+ and mvn on PATH; on Debian: apt-get install -y openjdk-17-jdk-headless maven")

// FetchConfig says where the POM is and where its jars go.
type FetchConfig struct {
	// POM is compose/jvm/pom.xml; empty means found from the working
	// directory up (the directory holding go.work).
	POM string
	// CacheDir holds one directory per POM content; empty means
	// DefaultCacheDir().
	CacheDir string
	// Output receives Maven's output as it runs; nil keeps it for the
	// error only.
	Output io.Writer
}

// DefaultCacheDir is $OUTBOXCDC_JVM_CACHE, else $XDG_CACHE_HOME/outboxcdc/jvm,
// else ~/.cache/outboxcdc/jvm.
func DefaultCacheDir() string { return sharedcache.Dir("jvm", "OUTBOXCDC_JVM_CACHE") }

// FindPOM returns compose/jvm/pom.xml of the repository holding the working
// directory.
func FindPOM() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return filepath.Join(dir, "compose", "jvm", "pom.xml"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("jvmstack: no go.work above the working directory, so no compose/jvm/pom.xml")
		}
		dir = parent
	}
}

// CheckTools reports ErrNoJava when java 17+ or mvn is missing.
func CheckTools() error {
	java, err := javaPath()
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("mvn"); err != nil {
		return fmt.Errorf("%w (mvn not found)", ErrNoJava)
	}
	v, err := javaMajor(java)
	if err != nil {
		return err
	}
	if v < 17 {
		return fmt.Errorf("%w (%s is Java %d)", ErrNoJava, java, v)
	}
	return nil
}

// javaPath is $JAVA_HOME/bin/java when JAVA_HOME is set, else java on PATH.
func javaPath() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%w (java not found)", ErrNoJava)
	}
	return p, nil
}

var javaVersion = regexp.MustCompile(`version "(\d+)(?:\.(\d+))?`)

func javaMajor(java string) (int, error) {
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%w (%s -version: %v)", ErrNoJava, java, err)
	}
	m := javaVersion.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("jvmstack: cannot read the version of %s: %q", java, out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	if major == 1 && len(m[2]) > 0 { // 1.8 style
		major, _ = strconv.Atoi(string(m[2]))
	}
	return major, nil
}

// Fetch makes sure the POM's runtime classpath is in the cache and returns
// the directory holding the jars. It runs Maven only when that POM's jars
// are not there yet (then it needs java and mvn; running the jars needs
// java only); concurrent callers wait for one another.
func Fetch(ctx context.Context, cfg FetchConfig) (string, error) {
	pom := cfg.POM
	if pom == "" {
		var err error
		if pom, err = FindPOM(); err != nil {
			return "", err
		}
	}
	content, err := os.ReadFile(pom)
	if err != nil {
		return "", fmt.Errorf("jvmstack: %w", err)
	}
	sum := sha256.Sum256(content)
	cache := cfg.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	dir := filepath.Join(cache, hex.EncodeToString(sum[:])[:16])
	lib := filepath.Join(dir, "lib")
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err == nil {
		return lib, nil
	}
	if err := CheckTools(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("jvmstack: %w", err)
	}
	unlock, err := sharedcache.Lock(filepath.Join(dir, "lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil { // fetched while we waited
		return lib, nil
	}
	if err := os.RemoveAll(lib); err != nil {
		return "", fmt.Errorf("jvmstack: %w", err)
	}
	var out bytes.Buffer
	var w io.Writer = &out
	if cfg.Output != nil {
		w = io.MultiWriter(&out, cfg.Output)
	}
	cmd := exec.CommandContext(ctx, "mvn", "-B", "-q", "-f", pom, "package", "-DjvmLib="+lib)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("jvmstack: mvn -f %s package: %w\n%s", pom, err, tailBytes(out.Bytes(), 4000))
	}
	jars, _ := filepath.Glob(filepath.Join(lib, "*.jar"))
	if len(jars) == 0 {
		return "", fmt.Errorf("jvmstack: mvn put no jars into %s", lib)
	}
	if err := os.WriteFile(done, []byte(strconv.Itoa(len(jars))+" jars\n"), 0o644); err != nil {
		return "", fmt.Errorf("jvmstack: %w", err)
	}
	return lib, nil
}

func tailBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
