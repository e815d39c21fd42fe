package systemtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// writers is how many connections write a wave's workload concurrently.
const writers = 4

type opKind int

const (
	opInsert opKind = iota
	opUpdate
	opPKUpdate
	opDelete
	opTruncate
	opMessage
)

// op is one planned statement.
type op struct {
	tb    *diffTable
	kind  opKind
	vals  []*string // insert: a value per column; update: the new value of updCol
	pk    string    // update, pkUpdate, delete: the row
	newPK string    // pkUpdate
	topic string    // insert, pkUpdate, message: the topic key of the record it makes ("" for none)
	// message: pg_logical_emit_message(transactional, prefix, content)
	transactional   bool
	prefix, content string
}

type plannedTx struct {
	ops      []op
	rollback bool
}

type liveRow struct{ pk, topic string }

// plan is a wave's workload, fixed by the seed before anything is written.
type plan struct {
	pre     []plannedTx   // before the connectors start (snapshot rows)
	writers [][]plannedTx // one sequence per connection
}

// stats summarises what a plan writes.
func (p plan) stats() string {
	var txs, rollbacks, multiGroup, largest, large, updates, pkUpdates, deletes, truncates, messages int
	for _, w := range p.writers {
		for _, tx := range w {
			txs++
			if tx.rollback {
				rollbacks++
			}
			groups := map[*diffGroup]bool{}
			inserts := 0
			for _, o := range tx.ops {
				groups[o.tb.group] = true
				switch o.kind {
				case opInsert:
					inserts++
					for _, v := range o.vals {
						if v != nil && len(*v) >= 100_000 {
							large++
							break
						}
					}
				case opUpdate:
					updates++
				case opPKUpdate:
					pkUpdates++
				case opDelete:
					deletes++
				case opTruncate:
					truncates++
				case opMessage:
					messages++
				}
			}
			largest = max(largest, inserts)
			if len(groups) > 1 {
				multiGroup++
			}
		}
	}
	return fmt.Sprintf("%d transactions on %d connections (%d rolled back, %d spanning groups, largest %d inserts), %d rows of 100 KB or more, %d updates, %d key changes, %d deletes, %d truncates, %d logical decoding messages, %d snapshot transactions",
		txs, len(p.writers), rollbacks, multiGroup, largest, large, updates, pkUpdates, deletes, truncates, messages, len(p.pre))
}

func (tb *diffTable) newRow(g *gen) (vals []*string, pk, topic string) {
	for _, c := range tb.cols {
		v := c.gen(g)
		vals = append(vals, v)
		if c.pk {
			pk = *v
		}
		if c.name == tb.group.routeCol() {
			topic = tb.group.topicKey(*v)
		}
	}
	return vals, pk, topic
}

// planWave plans the generated writes of a wave's tables: transactions of
// one to hundreds of inserts, some spanning several groups' tables, some
// rolled back, with updates, primary-key changes and deletes of rows the
// same connection wrote earlier, and a TRUNCATE where a table asks for it.
func planWave(g *gen, wave []*diffGroup) plan {
	var p plan
	p.writers = make([][]plannedTx, writers)
	remaining := map[*diffTable]int{}
	var tables []*diffTable
	total := 0
	for _, grp := range wave {
		for _, tb := range grp.tables {
			if tb.rows == 0 {
				continue
			}
			for done := 0; done < tb.preRows; {
				var tx plannedTx
				for ; done < tb.preRows && len(tx.ops) < 100; done++ {
					vals, pk, topic := tb.newRow(g)
					tx.ops = append(tx.ops, op{tb: tb, kind: opInsert, vals: vals, pk: pk, topic: topic})
				}
				p.pre = append(p.pre, tx)
			}
			remaining[tb] = tb.rows - tb.preRows
			total += remaining[tb]
			tables = append(tables, tb)
		}
	}
	live := make([]map[*diffTable][]liveRow, writers)
	for i := range live {
		live[i] = map[*diffTable][]liveRow{}
	}
	truncated := map[*diffTable]bool{}
	pickTable := func(except *diffTable) *diffTable {
		n := 0
		for _, tb := range tables {
			if tb != except {
				n += remaining[tb]
			}
		}
		if n == 0 {
			return nil
		}
		k := g.intn(n)
		for _, tb := range tables {
			if tb == except {
				continue
			}
			if k < remaining[tb] {
				return tb
			}
			k -= remaining[tb]
		}
		return nil
	}
	bigDone := map[*diffTable]bool{}
	for total > 0 {
		w := g.intn(writers)
		tb := pickTable(nil)
		var size int
		switch k := g.intn(100); {
		case tb.bigTx > 0 && !bigDone[tb]:
			bigDone[tb] = true
			size = tb.bigTx
		case k < 55:
			size = 1
		case k < 85:
			size = g.between(2, 5)
		case k < 98:
			size = g.between(6, 40)
		default:
			size = g.between(150, 600)
		}
		tx := plannedTx{rollback: g.chance(0.03)}
		counts := map[*diffTable]int{}
		insert := func(tb *diffTable, n int) {
			n = min(n, remaining[tb]-counts[tb])
			for range n {
				vals, pk, topic := tb.newRow(g)
				tx.ops = append(tx.ops, op{tb: tb, kind: opInsert, vals: vals, pk: pk, topic: topic})
			}
			counts[tb] += n
		}
		insert(tb, size)
		if g.chance(0.15) {
			if other := pickTable(tb); other != nil {
				insert(other, g.between(1, 3))
			}
		}
		rows := live[w][tb]
		if len(rows) > 0 && g.chance(tb.updates) {
			r := rows[g.intn(len(rows))]
			tx.ops = append(tx.ops, op{tb: tb, kind: opUpdate, pk: r.pk, vals: []*string{tb.col(tb.updCol).gen(g)}})
		}
		var newRows []liveRow
		if len(rows) > 0 && g.chance(tb.pkUpdates) {
			i := g.intn(len(rows))
			newPK := *tb.pkCol().gen(g)
			tx.ops = append(tx.ops, op{tb: tb, kind: opPKUpdate, pk: rows[i].pk, newPK: newPK, topic: rows[i].topic})
			if !tx.rollback {
				rows = slices.Delete(slices.Clone(rows), i, i+1)
				newRows = append(newRows, liveRow{newPK, tx.ops[len(tx.ops)-1].topic})
			}
		}
		if len(rows) > 0 && g.chance(tb.deletes) {
			i := g.intn(len(rows))
			tx.ops = append(tx.ops, op{tb: tb, kind: opDelete, pk: rows[i].pk})
			if !tx.rollback {
				rows = slices.Delete(slices.Clone(rows), i, i+1)
			}
		}
		if g.chance(tb.messages) {
			for range g.between(1, 3) {
				o := op{tb: tb, kind: opMessage, transactional: g.chance(0.7), prefix: g.pick("audit", "heartbeat", "Audit.v2", "skip.me", "", "é"),
					content: g.text(g.between(0, 40))}
				if o.prefix != "heartbeat" && !strings.HasPrefix(o.prefix, "skip.") {
					o.topic = "ns:" + tb.group.name + ".message"
				}
				tx.ops = append(tx.ops, o)
			}
		}
		// Statements on earlier rows land anywhere among the inserts.
		g.r.Shuffle(len(tx.ops), func(i, j int) { tx.ops[i], tx.ops[j] = tx.ops[j], tx.ops[i] })
		if !tx.rollback {
			live[w][tb] = append(rows, newRows...)
			for _, o := range tx.ops {
				if o.kind == opInsert {
					live[w][o.tb] = append(live[w][o.tb], liveRow{o.pk, o.topic})
				}
			}
			for t, n := range counts {
				remaining[t] -= n
				total -= n
			}
		}
		p.writers[w] = append(p.writers[w], tx)
		if tb.truncate && !truncated[tb] && remaining[tb] < (tb.rows-tb.preRows)/2 {
			truncated[tb] = true
			p.writers[w] = append(p.writers[w], plannedTx{ops: []op{{tb: tb, kind: opTruncate}}})
			for i := range live {
				delete(live[i], tb)
			}
		}
	}
	return p
}

// expected counts the records each group must produce per topic key.
type expected struct {
	mu     sync.Mutex
	counts map[*diffGroup]map[string]int
	rows   int // generated inserts committed
}

func (e *expected) add(g *diffGroup, topic string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts[g] == nil {
		e.counts[g] = map[string]int{}
	}
	e.counts[g][topic]++
}

func castParam(n int, typ string) string { return fmt.Sprintf("$%d::text::%s", n, typ) }

func (o *op) sql() (string, []any) {
	tb := o.tb
	pk := tb.pkCol()
	switch o.kind {
	case opInsert:
		var names, params []string
		var args []any
		for i, c := range tb.cols {
			names = append(names, pgIdent(c.name))
			params = append(params, castParam(i+1, c.typ))
			args = append(args, o.vals[i])
		}
		return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", pgIdent(tb.name), strings.Join(names, ", "), strings.Join(params, ", ")), args
	case opUpdate:
		c := tb.col(tb.updCol)
		return fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", pgIdent(tb.name), pgIdent(c.name), castParam(1, c.typ), pgIdent(pk.name), castParam(2, pk.typ)),
			[]any{o.vals[0], o.pk}
	case opPKUpdate:
		return fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", pgIdent(tb.name), pgIdent(pk.name), castParam(1, pk.typ), pgIdent(pk.name), castParam(2, pk.typ)),
			[]any{o.newPK, o.pk}
	case opDelete:
		return fmt.Sprintf("DELETE FROM %s WHERE %s = %s", pgIdent(tb.name), pgIdent(pk.name), castParam(1, pk.typ)), []any{o.pk}
	case opMessage:
		return "SELECT pg_logical_emit_message($1::bool, $2::text, $3::text)", []any{o.transactional, o.prefix, o.content}
	default:
		return "TRUNCATE " + pgIdent(tb.name), nil
	}
}

// runTx writes one planned transaction and counts the records it makes
// once it has committed.
func runTx(ctx context.Context, conn *pgx.Conn, ptx plannedTx, exp *expected) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op after Commit
	b := &pgx.Batch{}
	for i := range ptx.ops {
		q, args := ptx.ops[i].sql()
		b.Queue(q, args...)
	}
	br := tx.SendBatch(ctx, b)
	affected := make([]int64, len(ptx.ops))
	for i := range ptx.ops {
		ct, err := br.Exec()
		if err != nil {
			br.Close()
			q, _ := ptx.ops[i].sql()
			return fmt.Errorf("%s: %w", q, err)
		}
		affected[i] = ct.RowsAffected()
	}
	if err := br.Close(); err != nil {
		return err
	}
	// A message that is not transactional is decoded at once, whatever
	// becomes of the transaction.
	for _, o := range ptx.ops {
		if o.kind == opMessage && !o.transactional && o.topic != "" {
			exp.add(o.tb.group, o.topic)
		}
	}
	if ptx.rollback {
		return tx.Rollback(ctx)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	for i, o := range ptx.ops {
		switch {
		case o.kind == opInsert:
			exp.add(o.tb.group, o.topic)
			if o.tb.rows > 0 {
				exp.mu.Lock()
				exp.rows++
				exp.mu.Unlock()
			}
		case o.kind == opPKUpdate && affected[i] == 1 && !strings.Contains(o.tb.group.conf["skipped.operations"], "u"):
			exp.add(o.tb.group, o.topic)
		case o.kind == opMessage && o.transactional && o.topic != "":
			exp.add(o.tb.group, o.topic)
		}
	}
	return nil
}

// goldenRow is the row a golden run writes, with its unique id.
func goldenRow(r *goldenRun) map[string]*string {
	row := maps.Clone(r.gc.Row)
	if r.gc.PayloadAsInserted != nil {
		row["payload"] = r.gc.PayloadAsInserted
	}
	if _, ok := row["id"]; ok {
		row["id"] = &r.id
	}
	return row
}

func goldenInsert(r *goldenRun) (string, []any) {
	row := goldenRow(r)
	var names, params []string
	var args []any
	for _, c := range r.gc.Columns {
		v, ok := row[c.Name]
		if !ok {
			continue
		}
		names = append(names, pgIdent(c.Name))
		args = append(args, v)
		params = append(params, castParam(len(args), c.Type))
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", pgIdent(r.table.name), strings.Join(names, ", "), strings.Join(params, ", ")), args
}

// goldenProduces says whether a golden run must produce a record.
func (r *goldenRun) produces() bool {
	return r.exp.Error == "" && !r.exp.Skip && (r.gc.Op == "c" || r.gc.Op == "r")
}

func (r *goldenRun) topicKey(g *diffGroup) string {
	v := goldenRow(r)[g.routeCol()]
	if v == nil {
		return ""
	}
	return g.topicKey(*v)
}

type waveResult struct{ rows, records, golden int }

// runWave registers the wave's groups on both sides, writes, collects
// and compares.
func (st *diffStack) runWave(n int, wave []*diffGroup) waveResult {
	t := st.t
	t.Helper()
	var names []string
	for _, g := range wave {
		names = append(names, g.name)
	}
	waveStart := time.Now()
	t.Logf("wave %d: %s", n, strings.Join(names, " "))
	p := planWave(newGen(st.seed+uint64(n)), wave)
	t.Logf("wave %d plan: %s", n, p.stats())
	exp := &expected{counts: map[*diffGroup]map[string]int{}}
	ctx := t.Context()

	// Rows that exist before the connectors: snapshot rows, and the rows
	// golden updates, deletes and truncates act on.
	for _, ptx := range p.pre {
		if err := runTx(ctx, st.db, ptx, exp); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range wave {
		for _, r := range g.golden {
			switch r.gc.Op {
			case "r", "u", "d", "t", "tombstone":
				q, args := goldenInsert(r)
				mustExec(t, st.db, q, args...)
				if r.gc.Op == "r" {
					exp.add(g, r.topicKey(g))
				}
			}
		}
	}

	st.register(wave)
	st.waitStreamingAll(wave)
	t.Logf("wave %d: %d connectors streaming after %s", n, 2*len(wave), time.Since(waveStart).Round(time.Millisecond))

	// Golden writes, then the workload from several connections at once,
	// then the writes that must fail tasks.
	for _, g := range wave {
		for _, r := range g.golden {
			if r.exp.Error != "" {
				continue
			}
			switch r.gc.Op {
			case "c":
				q, args := goldenInsert(r)
				mustExec(t, st.db, q, args...)
				exp.add(g, r.topicKey(g))
			case "u":
				mustExec(t, st.db, fmt.Sprintf("UPDATE %s SET type = 'Updated'", pgIdent(r.table.name)))
			case "d", "tombstone":
				mustExec(t, st.db, fmt.Sprintf("DELETE FROM %s", pgIdent(r.table.name)))
			case "t":
				mustExec(t, st.db, fmt.Sprintf("TRUNCATE %s", pgIdent(r.table.name)))
			}
		}
	}
	var wg sync.WaitGroup
	writeErrs := make([]error, writers)
	for w := range writers {
		conn := st.writerConns[w]
		wg.Go(func() {
			for _, ptx := range p.writers[w] {
				if err := runTx(ctx, conn, ptx, exp); err != nil {
					writeErrs[w] = fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(writeErrs...); err != nil {
		t.Fatal(err)
	}
	for _, g := range wave {
		for _, r := range g.golden {
			if r.exp.Error != "" {
				q, args := goldenInsert(r)
				mustExec(t, st.db, q, args...)
			}
		}
		for _, q := range g.failSQL {
			mustExec(t, st.db, q)
		}
	}
	written := time.Now()

	col := st.collect(wave, exp)
	t.Logf("wave %d: collected %d records in %s after the writes", n, col.total, time.Since(written).Round(time.Millisecond))
	res := st.compare(wave, col, exp, waveStart)
	res.rows = exp.rows
	st.unregister(wave)
	t.Logf("wave %d: %d generated rows, %d records compared, done in %s", n, res.rows, res.records, time.Since(waveStart).Round(time.Millisecond))
	return res
}

// collection holds every record of a wave's topics, per topic in
// partition and offset order.
type collection struct {
	topics map[string][]*kgo.Record
	total  int
	// failed holds the final task state of every connector of a failure
	// group: name -> trace ("" while not FAILED).
	states map[string][2]string
}

func (c *collection) count(topic string) int { return len(c.topics[topic]) }

// rawTopics are the topics the wave's groups route to unprefixed.
func rawTopics(wave []*diffGroup) []string {
	var out []string
	for _, g := range wave {
		for _, v := range g.routeVals {
			if k := g.topicKey(v); strings.HasPrefix(k, "raw:") {
				out = append(out, k[4:])
			}
		}
	}
	return out
}

func heartbeatTopic(sd string, g *diffGroup) string {
	return sd + "." + g.name + ".__debezium-heartbeat." + g.topicPrefix()
}

// collect consumes the wave's topics until each side has every expected
// record, every heartbeat group has a heartbeat on both sides and every
// failure group's tasks have failed (or a deadline passes), then reads on
// to the end offsets of that moment so nothing produced by then is missed.
func (st *diffStack) collect(wave []*diffGroup, exp *expected) *collection {
	t := st.t
	t.Helper()
	var alts []string
	for _, g := range wave {
		alts = append(alts, g.name)
	}
	pattern := `^(deb|wal)\.(` + strings.Join(alts, "|") + `)\.`
	if raw := rawTopics(wave); len(raw) > 0 {
		var q []string
		for _, r := range raw {
			q = append(q, regexp.QuoteMeta(r))
		}
		pattern += `|^(` + strings.Join(q, "|") + `)$`
	}
	matcher := regexp.MustCompile(pattern)
	cl, err := kgo.NewClient(kgo.SeedBrokers(st.brokers), kgo.ConsumeRegex(), kgo.ConsumeTopics(pattern),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.MetadataMaxAge(time.Second), kgo.FetchMaxWait(200*time.Millisecond), kgo.FetchMaxBytes(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	col := &collection{topics: map[string][]*kgo.Record{}, states: map[string][2]string{}}
	next := map[string]map[int32]int64{} // topic -> partition -> next offset
	poll := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			col.topics[r.Topic] = append(col.topics[r.Topic], r)
			col.total++
			if next[r.Topic] == nil {
				next[r.Topic] = map[int32]int64{}
			}
			next[r.Topic][r.Partition] = r.Offset + 1
		})
	}
	lastStates := time.Time{}
	complete := func() bool {
		ok := true
		for _, g := range wave {
			for key, n := range exp.counts[g] {
				if s, isRaw := strings.CutPrefix(key, "raw:"); isRaw {
					ok = ok && col.count(s) >= 2*n
				} else {
					s := strings.TrimPrefix(key, "ns:")
					ok = ok && col.count("deb."+s) >= n && col.count("wal."+s) >= n
				}
			}
			if g.heartbeat {
				ok = ok && col.count(heartbeatTopic("deb", g)) > 0 && col.count(heartbeatTopic("wal", g)) > 0
			}
		}
		if time.Since(lastStates) > time.Second {
			lastStates = time.Now()
			for _, g := range wave {
				if g.failure == "" {
					continue
				}
				for _, sd := range st.sides() {
					name := sd.name + "-" + g.name
					state, trace, err := taskState(t.Context(), sd.url, name)
					if err != nil {
						t.Fatal(err)
					}
					col.states[name] = [2]string{state, trace}
				}
			}
		}
		for _, g := range wave {
			if g.failure == "" {
				continue
			}
			for _, sd := range st.sides() {
				ok = ok && col.states[sd.name+"-"+g.name][0] == "FAILED"
			}
		}
		return ok
	}
	deadline := time.Now().Add(90 * time.Second)
	for !complete() {
		if time.Now().After(deadline) {
			t.Errorf("collecting: not every expected record or failure arrived within 90s; comparing what did")
			break
		}
		poll(500 * time.Millisecond)
	}

	// Read on to the end offsets as of now.
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, name := range topics.Names() {
		if matcher.MatchString(name) {
			mine = append(mine, name)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, mine...)
	if err != nil {
		t.Fatal(err)
	}
	caughtUp := func() bool {
		done := true
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err == nil && o.Offset > 0 && next[o.Topic][o.Partition] < o.Offset {
				done = false
			}
		})
		return done
	}
	drainDeadline := time.Now().Add(30 * time.Second)
	for !caughtUp() {
		if time.Now().After(drainDeadline) {
			t.Errorf("collecting: could not read up to the end offsets within 30s")
			break
		}
		poll(500 * time.Millisecond)
	}
	// Every record the broker holds was read, none twice.
	starts, err := adm.ListStartOffsets(ctx, mine...)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok && o.Err == nil {
			held[o.Topic] += o.Offset - s.Offset
		}
	})
	for _, topic := range mine {
		if int64(col.count(topic)) != held[topic] {
			t.Errorf("collecting: read %d records of %s, the broker holds %d", col.count(topic), topic, held[topic])
		}
	}
	return col
}
