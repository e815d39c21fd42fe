package pgoutput

import "testing"

func TestLSN(t *testing.T) {
	tests := []struct {
		text string
		lsn  LSN
	}{
		{"0/0", 0},
		{"16/B374D848", 0x16_B374D848},
		{"FFFFFFFF/FFFFFFFF", ^LSN(0)},
		{"0/1", 1},
	}
	for _, tt := range tests {
		got, err := ParseLSN(tt.text)
		if err != nil || got != tt.lsn {
			t.Errorf("ParseLSN(%q) = %d, %v; want %d", tt.text, got, err, tt.lsn)
		}
		if s := tt.lsn.String(); s != tt.text {
			t.Errorf("LSN(%d).String() = %q, want %q", uint64(tt.lsn), s, tt.text)
		}
	}
	for _, bad := range []string{"", "16", "16/", "/1", "G/1", "1/100000000", "-1/0"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) succeeded, want an error", bad)
		}
	}
	if b, err := LSN(0x16_B374D848).MarshalText(); err != nil || string(b) != "16/B374D848" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	if l, _ := ParseLSN("16/b374d848"); l != 0x16_B374D848 {
		t.Errorf("lower-case hex not accepted")
	}
}
