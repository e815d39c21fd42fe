package eventrouter

import "testing"

func TestMurmur2(t *testing.T) {
	// The vectors of Kafka's UtilsTest.testMurmur2.
	for in, want := range map[string]int32{"21": -973932308, "foobar": -790332482, "abc": 479470107, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971} {
		if got := Murmur2([]byte(in)); got != want {
			t.Errorf("Murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestMurmur2Partition(t *testing.T) {
	// The contract's example: "42" and "\"42\"" land on different partitions of a 3-partition topic.
	if p := Murmur2Partition([]byte("42"), 3); p != 1 {
		t.Errorf("partition of 42 = %d, want 1", p)
	}
	if p := Murmur2Partition([]byte(`"42"`), 3); p != 0 {
		t.Errorf(`partition of "42" = %d, want 0`, p)
	}
	if p := Murmur2Partition([]byte("21"), 7); p != (-973932308&0x7fffffff)%7 {
		t.Errorf("partition of 21 = %d", p)
	}
}
