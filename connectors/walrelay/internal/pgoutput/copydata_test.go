package pgoutput

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseCopyData(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	tests := []struct {
		name string
		in   enc
		want CopyMessage
	}{
		{
			name: "xlogdata",
			in:   enc{'w'}.u64(0x10).u64(0x20).ts(now).raw([]byte("Bpayload")),
			want: &XLogData{WALStart: 0x10, ServerWALEnd: 0x20, ServerTime: now, Data: []byte("Bpayload")},
		},
		{
			name: "xlogdata without data",
			in:   enc{'w'}.u64(1).u64(2).ts(now),
			want: &XLogData{WALStart: 1, ServerWALEnd: 2, ServerTime: now, Data: []byte{}},
		},
		{
			name: "keepalive asking for a reply",
			in:   enc{'k'}.u64(0xABCDEF).ts(now).u8(1),
			want: &PrimaryKeepalive{ServerWALEnd: 0xABCDEF, ServerTime: now, ReplyRequested: true},
		},
		{
			name: "keepalive",
			in:   enc{'k'}.u64(7).ts(now).u8(0),
			want: &PrimaryKeepalive{ServerWALEnd: 7, ServerTime: now},
		},
		{
			name: "standby status update",
			in:   enc{'r'}.u64(3).u64(2).u64(1).ts(now).u8(0),
			want: &StandbyStatusUpdate{WALWrite: 3, WALFlush: 2, WALApply: 1, ClientTime: now},
		},
	}
	var dec Decoder // shared: each case reuses its storage
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCopyData(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCopyData =\n%#v\nwant\n%#v", got, tt.want)
			}
			decoded, err := dec.DecodeCopyData(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(decoded, tt.want) {
				t.Fatalf("DecodeCopyData =\n%#v\nwant\n%#v", decoded, tt.want)
			}
			min := len(tt.in)
			if _, ok := tt.want.(*XLogData); ok {
				min = 25 // the header; data may be empty
			}
			for n := 0; n < min; n++ {
				if _, err := ParseCopyData(tt.in[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseCopyData(first %d bytes) error = %v, want ErrMalformed", n, err)
				}
			}
		})
	}
	if _, err := ParseCopyData([]byte{'x', 0}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("unknown CopyData type: error = %v, want ErrUnsupported", err)
	}
}

func TestStandbyStatusUpdateAppend(t *testing.T) {
	u := &StandbyStatusUpdate{
		WALWrite:       0x1_00000010,
		WALFlush:       0x1_00000008,
		WALApply:       0x1_00000004,
		ClientTime:     time.Date(2000, 1, 1, 0, 0, 1, 0, time.UTC),
		ReplyRequested: true,
	}
	b := u.Append([]byte("prefix"))
	want := enc("prefix").u8('r').u64(0x1_00000010).u64(0x1_00000008).u64(0x1_00000004).u64(1_000_000).u8(1)
	if !reflect.DeepEqual([]byte(want), b) {
		t.Fatalf("Append = %x\nwant     %x", b, []byte(want))
	}
	got, err := ParseCopyData(b[len("prefix"):])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("round trip = %#v, want %#v", got, u)
	}
	if n := len((&StandbyStatusUpdate{}).Append(nil)); n != standbyStatusUpdateLen {
		t.Fatalf("encoded length %d, want %d", n, standbyStatusUpdateLen)
	}
}

func TestTimeZeroEncodesAsEpoch(t *testing.T) {
	b := (&StandbyStatusUpdate{}).Append(nil)
	m, err := ParseCopyData(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, epoch := m.(*StandbyStatusUpdate).ClientTime, time.Unix(pgEpochUnix, 0); !got.Equal(epoch) {
		t.Fatalf("zero client time decodes as %v, want %v", got, epoch)
	}
}
