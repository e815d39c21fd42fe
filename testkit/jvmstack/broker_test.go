package jvmstack

import (
	"encoding/base64"
	"testing"
)

func TestNewClusterIDIsNeverReadAsAnOption(t *testing.T) {
	// One id in 64 would start with '-' if nothing prevented it.
	for range 5000 {
		id := newClusterID()
		if id[0] == '-' {
			t.Fatalf("cluster id %q starts with '-'", id)
		}
		if b, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(b) != 16 {
			t.Fatalf("cluster id %q is not 16 bytes in base64url: %v", id, err)
		}
	}
}
