package configprovider

import (
	"errors"
	"testing"
)

func TestResolve(t *testing.T) {
	env := map[string]string{"CDC_DB_HOST": "db.internal", "CDC_DB_PORT": "5433"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	worker := map[string]string{"config.providers": "env", "config.providers.env.class": EnvVarClass}
	r, err := New(worker, lookup)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{"env reference", "${env:CDC_DB_HOST}", "db.internal", false},
		{"inside text", "host=${env:CDC_DB_HOST}:${env:CDC_DB_PORT}", "host=db.internal:5433", false},
		{"path form", "${env::CDC_DB_PORT}", "5433", false},
		{"router placeholder untouched", "outbox.event.${routedByValue}", "outbox.event.${routedByValue}", false},
		{"unknown provider untouched", "${file:/etc/x:key}", "${file:/etc/x:key}", false},
		{"missing variable", "${env:NOPE}", "${env:NOPE}", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Resolve(map[string]string{"k": tc.in})
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrUnresolved)) {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got["k"] != tc.want {
				t.Fatalf("got %q, want %q", got["k"], tc.want)
			}
		})
	}

	// Without config.providers nothing is resolved, as on a Connect worker.
	plain, err := New(map[string]string{}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	got, err := plain.Resolve(map[string]string{"k": "${env:CDC_DB_HOST}"})
	if err != nil || got["k"] != "${env:CDC_DB_HOST}" {
		t.Fatalf("without providers: %q, %v", got["k"], err)
	}
	if _, err := New(map[string]string{"config.providers": "vault", "config.providers.vault.class": "com.example.Vault"}, lookup); err == nil {
		t.Fatal("an unsupported provider class was accepted")
	}
}
