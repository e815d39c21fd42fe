// Package lag measures how far behind the stack's readers are: every
// consumer group's lag per topic and partition, and the WAL each
// replication slot holds back in the services' databases.
package lag

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
)

// ExactLimit is the largest backlog, in offsets, whose records are read
// and counted one by one (see Partition.Exact).
const ExactLimit = 1000

// Config says what to measure.
type Config struct {
	stack.Config
	// Groups, when not empty, are the only groups measured; otherwise
	// every group the broker lists.
	Groups []string
	// MaxLag is the largest lag a group may have before Report.Over
	// names it; negative means no threshold.
	MaxLag int64
}

// Report is what Run measured.
type Report struct {
	AsOf   time.Time `json:"asOf"`
	Groups []Group   `json:"groups"`
	Slots  []Slot    `json:"slots"`
	// MaxLag is the threshold; -1 when there is none.
	MaxLag int64 `json:"maxLag"`
	// Over names the groups whose lag is above MaxLag.
	Over []string `json:"over"`
}

// Group is one consumer group's lag.
type Group struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	Members int    `json:"members"`
	// Lag sums the lag of the group's partitions.
	Lag        int64       `json:"lag"`
	Partitions []Partition `json:"partitions"`
}

// Partition is one group's position on one partition of a topic it reads
// (has committed offsets on, or is assigned or subscribed to).
//
// Lag is counted against the last stable offset (End), the end a
// read_committed consumer can reach: records of a transaction still open
// are not consumable yet, so they are no lag. Transaction markers take an
// offset each but are no records, and a consumer that does not finish
// markers (franz-go's default; the services' consumers do finish them)
// commits the offset of the marker after its last record, so offsets alone
// would show such a caught-up group one behind for ever. A backlog
// of at most ExactLimit offsets is therefore read (read_committed, markers
// and aborted records skipped) and its records counted: Exact is true and
// the lag is the records the group has still to handle. A longer backlog
// is End minus Committed, markers included, an upper bound off by at most
// one per transaction in it (Exact false).
type Partition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Committed is the group's committed offset, -1 without one (the
	// services' consumers then start at the log start).
	Committed int64 `json:"committed"`
	Start     int64 `json:"start"`
	// End is the last stable offset, HighWatermark the log end offset;
	// they differ while a transaction is open.
	End           int64 `json:"end"`
	HighWatermark int64 `json:"highWatermark"`
	Lag           int64 `json:"lag"`
	Exact         bool  `json:"exact"`
}

// Slot is one replication slot of a service's database, or a physical
// slot of its server.
type Slot struct {
	// Database is the service database it was read through (orders,
	// payments, inventory); Server is that database's host:port.
	Database string `json:"database"`
	Server   string `json:"server"`
	// SlotDatabase is the database a logical slot decodes, "" for a
	// physical slot.
	SlotDatabase      string `json:"slotDatabase"`
	Name              string `json:"name"`
	Type              string `json:"type"`
	Plugin            string `json:"plugin"`
	Active            bool   `json:"active"`
	RestartLSN        string `json:"restartLsn"`
	ConfirmedFlushLSN string `json:"confirmedFlushLsn"`
	// RetainedBytes is the WAL the slot holds back: the current WAL
	// position minus restart_lsn.
	RetainedBytes int64 `json:"retainedBytes"`
	// WALStatus is pg_replication_slots.wal_status (reserved, extended,
	// unreserved, lost).
	WALStatus string `json:"walStatus"`
}

// Run measures the groups and the slots.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{AsOf: time.Now().UTC(), MaxLag: max(cfg.MaxLag, -1), Groups: []Group{}, Slots: []Slot{}, Over: []string{}}
	groups, err := measureGroups(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rep.Groups = append(rep.Groups, groups...)
	for _, g := range rep.Groups {
		if rep.MaxLag >= 0 && g.Lag > rep.MaxLag {
			rep.Over = append(rep.Over, g.Name)
		}
	}
	slots, err := readSlots(ctx, cfg.Config)
	if err != nil {
		return nil, err
	}
	rep.Slots = append(rep.Slots, slots...)
	return rep, nil
}

func measureGroups(ctx context.Context, cfg Config) ([]Group, error) {
	cl, err := cfg.Client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	names := cfg.Groups
	if len(names) == 0 {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return nil, fmt.Errorf("kafka: listing groups: %w", err)
		}
		names = listed.Groups()
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return nil, nil
	}
	described, err := adm.DescribeGroups(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("kafka: describing groups: %w", err)
	}
	committed := map[string]map[string]map[int32]int64{}
	topics := map[string]map[string]bool{} // group → topics it reads
	for _, name := range names {
		if committed[name], err = stack.Committed(ctx, adm, name); err != nil {
			return nil, err
		}
		topics[name] = map[string]bool{}
		for t := range committed[name] {
			topics[name][t] = true
		}
		d := described[name]
		for _, t := range d.AssignedPartitions().Topics() {
			topics[name][t] = true
		}
		for _, m := range d.Members {
			if meta, ok := m.Join.AsConsumer(); ok {
				for _, t := range meta.Topics {
					topics[name][t] = true
				}
			}
		}
	}
	var all []string
	for _, ts := range topics {
		all = append(all, slices.Collect(maps.Keys(ts))...)
	}
	slices.Sort(all)
	offsets, err := stack.ListOffsets(ctx, adm, slices.Compact(all)...)
	if err != nil {
		return nil, err
	}

	var out []Group
	for _, name := range names {
		d := described[name]
		g := Group{Name: name, State: d.State, Members: len(d.Members), Partitions: []Partition{}}
		for _, topic := range slices.Sorted(maps.Keys(topics[name])) {
			for _, p := range slices.Sorted(maps.Keys(offsets[topic])) {
				o := offsets[topic][p]
				pl := Partition{Topic: topic, Partition: p, Committed: -1, Start: o.Start, End: o.Stable, HighWatermark: o.End}
				if c, ok := committed[name][topic][p]; ok {
					pl.Committed = c
				}
				g.Partitions = append(g.Partitions, pl)
			}
		}
		out = append(out, g)
	}
	if err := count(ctx, cfg.Config, out); err != nil {
		return nil, err
	}
	for i := range out {
		for _, p := range out[i].Partitions {
			out[i].Lag += p.Lag
		}
	}
	return out, nil
}

// from is where the group reads the partition next.
func (p Partition) from() int64 {
	if p.Committed < 0 {
		return p.Start
	}
	return max(p.Committed, p.Start)
}

// count fills in every partition's lag: counted record by record for a
// backlog of at most ExactLimit offsets, in offsets beyond (see
// Partition).
func count(ctx context.Context, cfg stack.Config, groups []Group) error {
	ranges := map[string]map[int32]stack.Range{}
	for _, g := range groups {
		for _, p := range g.Partitions {
			backlog := p.End - p.from()
			if backlog <= 0 || backlog > ExactLimit {
				continue
			}
			if ranges[p.Topic] == nil {
				ranges[p.Topic] = map[int32]stack.Range{}
			}
			r, seen := ranges[p.Topic][p.Partition]
			if !seen || p.from() < r.From {
				ranges[p.Topic][p.Partition] = stack.Range{From: p.from(), To: p.End}
			}
		}
	}
	records := map[string]map[int32][]int64{} // offsets of the records read
	err := stack.Read(ctx, cfg, ranges, func(r *kgo.Record) bool {
		if records[r.Topic] == nil {
			records[r.Topic] = map[int32][]int64{}
		}
		records[r.Topic][r.Partition] = append(records[r.Topic][r.Partition], r.Offset)
		return false
	})
	if err != nil {
		return fmt.Errorf("counting records behind the groups: %w", err)
	}
	for _, g := range groups {
		for i := range g.Partitions {
			p := &g.Partitions[i]
			backlog := p.End - p.from()
			switch {
			case backlog <= 0:
				p.Lag, p.Exact = 0, true
			case backlog > ExactLimit:
				p.Lag = backlog
			default:
				offs := records[p.Topic][p.Partition]
				at, _ := slices.BinarySearch(offs, p.from())
				p.Lag, p.Exact = int64(len(offs)-at), true
			}
		}
	}
	return nil
}

// selectSlots reads the slots of the database it runs in, and the physical
// slots of its server. pg_replication_slots is readable by every role.
const selectSlots = `SELECT slot_name::text, slot_type, coalesce(plugin::text, ''), coalesce(database::text, ''), active,
coalesce(restart_lsn::text, ''), coalesce(confirmed_flush_lsn::text, ''),
coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
  restart_lsn), 0)::bigint,
coalesce(wal_status, '')
FROM pg_replication_slots WHERE database = current_database() OR database IS NULL ORDER BY slot_name`

// readSlots reads every service database's slots. A physical slot seen
// through several databases of one server is listed once.
func readSlots(ctx context.Context, cfg stack.Config) ([]Slot, error) {
	var out []Slot
	seen := map[[2]string]bool{}
	for _, db := range stack.Databases {
		dsn := cfg.DSN(db)
		server := ""
		if pc, err := pgx.ParseConfig(dsn); err == nil {
			server = net.JoinHostPort(pc.Host, fmt.Sprint(pc.Port))
		}
		err := stack.ReadOnly(ctx, db, dsn, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, selectSlots)
			var s Slot
			_, err := pgx.ForEachRow(rows, []any{&s.Name, &s.Type, &s.Plugin, &s.SlotDatabase, &s.Active,
				&s.RestartLSN, &s.ConfirmedFlushLSN, &s.RetainedBytes, &s.WALStatus}, func() error {
				key := [2]string{server, s.Name}
				if s.SlotDatabase == "" && seen[key] {
					return nil
				}
				seen[key] = true
				slot := s
				slot.Database, slot.Server = db, server
				out = append(out, slot)
				return nil
			})
			if err != nil {
				return fmt.Errorf("replication slots: %w", err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Write prints the report as two tables.
func (r *Report) Write(w io.Writer) error {
	fmt.Fprintf(w, "consumer groups at %s (lag: records between the committed offset and the last stable offset)\n",
		r.AsOf.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Groups) == 0 {
		fmt.Fprintln(tw, "  none")
	} else {
		fmt.Fprintln(tw, "GROUP\tSTATE\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\t")
	}
	for _, g := range r.Groups {
		if len(g.Partitions) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t0\t\n", g.Name, g.State)
		}
		for _, p := range g.Partitions {
			committed := "-"
			if p.Committed >= 0 {
				committed = fmt.Sprint(p.Committed)
			}
			end := fmt.Sprint(p.End)
			if p.HighWatermark != p.End {
				end += fmt.Sprintf(" (open transaction to %d)", p.HighWatermark)
			}
			lag := fmt.Sprint(p.Lag)
			if !p.Exact {
				lag = "~" + lag
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", g.Name, g.State, p.Topic, p.Partition, committed, end, lag)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var totals []string
	for _, g := range r.Groups {
		totals = append(totals, fmt.Sprintf("%s %d", g.Name, g.Lag))
	}
	if len(totals) > 0 {
		fmt.Fprintf(w, "lag by group: %s\n", strings.Join(totals, ", "))
	}
	if r.MaxLag >= 0 {
		if len(r.Over) == 0 {
			fmt.Fprintf(w, "no group lags more than %d\n", r.MaxLag)
		} else {
			fmt.Fprintf(w, "lagging more than %d: %s\n", r.MaxLag, strings.Join(r.Over, ", "))
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "replication slots (retained: WAL the slot holds back, from restart_lsn to the current position)")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Slots) == 0 {
		fmt.Fprintln(tw, "  none")
	} else {
		fmt.Fprintln(tw, "DATABASE\tSLOT\tTYPE\tACTIVE\tRESTART_LSN\tCONFIRMED_FLUSH_LSN\tRETAINED\tWAL_STATUS\t")
	}
	for _, s := range r.Slots {
		active := "no"
		if s.Active {
			active = "yes"
		}
		db := s.Database
		if s.SlotDatabase == "" {
			db += " (server)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", db, s.Name, s.Type, active, dash(s.RestartLSN),
			dash(s.ConfirmedFlushLSN), bytes(s.RetainedBytes), dash(s.WALStatus))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// bytes writes n in binary units: "512 B", "1.5 MiB".
func bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// WriteJSON prints the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
