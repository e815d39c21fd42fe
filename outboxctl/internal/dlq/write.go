package dlq

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func sortByRef(ds []*DeadLetter) {
	slices.SortFunc(ds, func(a, b *DeadLetter) int {
		return cmp.Or(strings.Compare(a.Ref.Topic, b.Ref.Topic), cmp.Compare(a.Ref.Partition, b.Ref.Partition),
			cmp.Compare(a.Ref.Offset, b.Ref.Offset))
	})
}

const stampLayout = "2006-01-02T15:04:05.000Z"

// WriteList prints dead letters as a table, one line each.
func WriteList(w io.Writer, ds []*DeadLetter) error {
	if len(ds) == 0 {
		_, err := fmt.Fprintln(w, "no dead letters")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEAD LETTER\tORIGINAL\tGROUP\tTYPE\tEVENT ID\tFAILED AT\tERROR")
	for _, d := range ds {
		original := "-"
		if d.Original.Topic != "" {
			original = d.Original.String()
		}
		reason := d.Reason()
		if d.ValueDropped != "" {
			reason = "(value dropped) " + reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Ref, original, dash(d.Group), dash(d.EventType), dash(d.EventID),
			d.FailedAt.Format(stampLayout), reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d dead letter(s)\n", len(ds))
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteRecord prints one dead letter in full: where it came from, its
// headers, its key and its value (indented when it is JSON).
func WriteRecord(w io.Writer, d *DeadLetter) error {
	fmt.Fprintf(w, "dead letter %s\n", d.Ref)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	original := "-"
	if d.Original.Topic != "" {
		original = d.Original.String()
	}
	for _, row := range [][2]string{
		{"timestamp", d.Timestamp.Format(stampLayout)},
		{"original", original},
		{"group", dash(d.Group)},
		{"event", strings.TrimSpace(dash(d.EventType) + " " + d.EventID)},
		{"failed at", d.FailedAt.Format(time.RFC3339Nano)},
		{"attempts", fmt.Sprint(d.Attempts)},
	} {
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "headers:")
	for _, h := range d.Headers {
		lines := strings.Split(h.Value, "\n")
		fmt.Fprintf(w, "  %s: %s\n", h.Key, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
	if d.Key == nil {
		fmt.Fprintln(w, "key: (null)")
	} else {
		fmt.Fprintf(w, "key: %s\n", d.Key)
	}
	switch {
	case d.Value == nil:
		fmt.Fprintln(w, "value: (null)")
	case json.Valid(d.Value):
		var b bytes.Buffer
		if err := json.Indent(&b, d.Value, "  ", "  "); err != nil {
			return err
		}
		fmt.Fprintf(w, "value (JSON):\n  %s\n", b.String())
	default:
		fmt.Fprintf(w, "value:\n  %s\n", d.Value)
	}
	return nil
}

// WriteJSON prints v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
