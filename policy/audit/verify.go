package audit

import (
	"context"
	"encoding/json"
	"fmt"
)

// Report is the result of Verify.
type Report struct {
	OK      bool
	Records int    // rows checked
	Head    string // hash of the newest row; record it elsewhere to detect a rewrite of the whole file
	// FirstBad is the sequence number of the first record that fails, and Problem says why.
	FirstBad int64
	Problem  string
}

func (r Report) String() string {
	if r.OK {
		return fmt.Sprintf("audit log intact: %d records, head %s", r.Records, short(r.Head))
	}
	return fmt.Sprintf("audit log TAMPERED at record %d: %s", r.FirstBad, r.Problem)
}

// Verify walks the whole chain. It returns an error only when the database cannot be read;
// tampering is reported in the Report, naming the first bad record.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+columns+` FROM records ORDER BY seq`)
	if err != nil {
		return Report{}, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var rep Report
	bad := func(seq int64, format string, args ...any) (Report, error) {
		rep.FirstBad, rep.Problem = seq, fmt.Sprintf(format, args...)
		return rep, nil
	}
	intents := map[int64]bool{} // intent seq -> has an outcome
	prev, next := "", int64(1)
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return Report{}, fmt.Errorf("audit: %w", err)
		}
		switch {
		case e.Seq > next:
			return bad(next, "record %d is missing (the next record is %d)", next, e.Seq)
		case e.Seq < next:
			return bad(e.Seq, "record %d is out of order", e.Seq)
		case e.PrevHash != prev:
			return bad(e.Seq, "it does not chain onto record %d (removed, inserted or reordered records)", e.Seq-1)
		case chainHash(e) != e.Hash:
			return bad(e.Seq, "its content does not match its hash (edited)")
		}
		switch e.Kind {
		case KindIntent:
			intents[e.Seq] = false
		case KindOutcome:
			done, ok := intents[e.Intent]
			if !ok {
				return bad(e.Seq, "outcome of %d, which is not an earlier intent", e.Intent)
			}
			if done {
				return bad(e.Seq, "second outcome of intent %d", e.Intent)
			}
			intents[e.Intent] = true
		case KindRefused:
		default:
			return bad(e.Seq, "unknown kind %q", e.Kind)
		}
		prev, next = e.Hash, e.Seq+1
		rep.Records++
		rep.Head = e.Hash
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("audit: %w", err)
	}
	counter, err := sequenceCounter(ctx, l.db)
	if err != nil {
		return Report{}, fmt.Errorf("audit: %w", err)
	}
	if counter >= next {
		return bad(next, "records %d to %d were removed from the end", next, counter)
	}
	rep.OK = true
	return rep, nil
}

// maxRecent bounds the msidm://audit/recent payload.
const (
	maxRecent      = 200
	maxRecentBytes = 64 << 10
)

// RecentJSON renders the newest n rows (at most 200, at most 64 KB; the oldest are dropped
// first) for the MCP resource msidm://audit/recent.
func (l *Log) RecentJSON(ctx context.Context, n int) ([]byte, error) {
	n = min(max(n, 1), maxRecent)
	entries, err := l.Tail(ctx, n)
	if err != nil {
		return nil, err
	}
	dropped := false
	for {
		type payload struct {
			Records   []Entry `json:"records"`
			Truncated bool    `json:"truncated"` // older rows were left out to stay within the size bound
		}
		p := payload{Records: entries, Truncated: dropped}
		if p.Records == nil {
			p.Records = []Entry{}
		}
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		if len(b) <= maxRecentBytes || len(entries) <= 1 {
			return b, nil
		}
		entries, dropped = entries[len(entries)/4+1:], true
	}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
