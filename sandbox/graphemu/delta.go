package graphemu

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Delta query for users: GET /v1.0/users/delta (also /users/delta() and
// /users/microsoft.graph.delta, NOTES §2), built on the change log (changelog.go).
//
// A round is a sequence of pages linked by @odata.nextLink ($skiptoken); its last page carries
// @odata.deltaLink ($deltatoken) and never both. Tokens are opaque to clients and stateless for
// the emulator: base64url of a small binary record with an HMAC, so a garbled or forged token
// is answered with 400 "Badly formed token." rather than silently restarting.
//
//   - Initial round (no token, or an empty $deltatoken as in a 410's Location): every live user
//     and every soft-deleted user (as @removed {"reason":"changed"}, which NOTES §2 allows in an
//     initial round), in ascending id order. The round's high-water mark H is the change-log
//     sequence read under the same lock as the first page; each later page resumes after the
//     last id it returned (a binary search), reading the directory as it is then. A mutation
//     made while the client pages may or may not show in this round, but its sequence number
//     is above H, so it always shows in the next one: nothing is lost, and an entity may
//     appear twice (allowed, NOTES §2).
//   - Incremental round (a deltaLink with sync point S): the users with change-log entries in
//     (S, H], coalesced to one entry each in order of first change, with their state when the
//     page is served: live → the object, soft-deleted → @removed "changed", gone → @removed
//     "deleted"; a restored user appears as a plain object. The coalesced list of (S, H] is
//     cached (deltaState.rounds), so a page costs O(page size), not O(changes).
//   - $select limits the returned and the tracked properties: a live user whose selected
//     properties are the same at S (change.prev of its first change after S) and now is left
//     out. Without $select every logged change of a user (any property, licences, manager,
//     sessions) makes it appear. A user soft-deleted at S and still is left out either way.
//     Group membership changes are group changes and never make a user appear.
//   - $deltatoken=latest (any case, also $deltaToken): value [] and a deltaLink at the current
//     sequence.
//   - Tokens older than SetDeltaTokenMaxAge (default 7 days, NOTES §2) on the directory clock
//     answer 400 syncStateNotFound (default) or 410 Gone SyncStateNotFound with a Location of
//     the initial URL (SetDeltaExpiredShape). Skip tokens age from the start of their round.
//
// Page size: 200, or Prefer: odata.maxpagesize=N (1..999), answered with Preference-Applied.
// Not emulated: $filter=id eq … (answered 400 Unsupported Query), Prefer: return=minimal
// (ignored: full objects are returned, which NOTES §2 allows), manager@delta annotations.

const (
	defaultDeltaMaxAge   = 7 * 24 * time.Hour
	defaultDeltaPageSize = 200
	maxDeltaPageSize     = 999
	deltaRoundCacheSize  = 32
)

// deltaState is the Server's delta configuration and its cache of coalesced incremental rounds.
type deltaState struct {
	maxAge   atomic.Int64 // ns; <= 0: tokens never expire
	shape410 atomic.Bool

	mu     sync.Mutex
	rounds map[[2]uint64][]deltaItem // key: (S, H)
	order  [][2]uint64               // insertion order, for eviction
}

func (ds *deltaState) init() {
	ds.maxAge.Store(int64(defaultDeltaMaxAge))
	ds.rounds = make(map[[2]uint64][]deltaItem)
}

// SetDeltaTokenMaxAge sets how old (on the directory clock, Options.Now) a delta or skip token
// may be before it is refused as expired. The default is 7 days (NOTES §2); d <= 0 disables
// expiry. It applies to every later request, including tokens already issued.
func (s *Server) SetDeltaTokenMaxAge(d time.Duration) { s.delta.maxAge.Store(int64(d)) }

// SetDeltaExpiredShape selects the answer to an expired delta token, as the sources disagree
// (NOTES §2, §9.2): "400" (default) is 400 BadRequest {"code":"syncStateNotFound"} with the
// documented message (samples/delta-expired.CONSTRUCTED-directory-400.json); "410" is 410 Gone
// {"code":"SyncStateNotFound"} (samples/delta-expired.OBSERVED-outlook-410.json) with a
// Location header holding the initial delta URL with an empty $deltatoken. Other values panic.
func (s *Server) SetDeltaExpiredShape(shape string) {
	switch shape {
	case "400":
		s.delta.shape410.Store(false)
	case "410":
		s.delta.shape410.Store(true)
	default:
		panic("graphemu: SetDeltaExpiredShape: shape must be \"400\" or \"410\", not " + strconv.Quote(shape))
	}
}

// isDeltaSegment reports whether a segment after /users names the delta function.
func isDeltaSegment(seg string) bool {
	seg = strings.TrimSuffix(strings.ToLower(seg), "()")
	return seg == "delta" || seg == "microsoft.graph.delta"
}

// Token kinds.
const (
	tokDelta       = 'D' // $deltatoken: sync point hw
	tokInitial     = 'I' // $skiptoken of an initial round: resume after id `after`
	tokIncremental = 'C' // $skiptoken of an incremental round (since, hw]: resume at index pos
)

const deltaTokenMagic = "DLT\x01"

// deltaToken is the decoded state of a $deltatoken or delta $skiptoken.
type deltaToken struct {
	kind   byte
	since  uint64 // tokIncremental: the sync point the round started from
	hw     uint64 // high-water mark: the sequence the round (or the next one) is complete up to
	pos    uint64 // tokIncremental: index into the coalesced list
	after  string // tokInitial: last id returned (lower case)
	sel    string // canonical $select names; "" for the default set
	issued int64  // Unix ns on the directory clock: deltatoken issue, or round start
}

func (s *Server) deltaMAC(b []byte) []byte {
	m := hmac.New(sha256.New, s.tokens.key)
	m.Write([]byte("graphemu delta token"))
	m.Write(b)
	return m.Sum(nil)[:16]
}

func (s *Server) encodeDeltaToken(t deltaToken) string {
	b := make([]byte, 0, 64+len(t.after)+len(t.sel))
	b = append(b, deltaTokenMagic...)
	b = append(b, t.kind)
	b = binary.AppendUvarint(b, t.since)
	b = binary.AppendUvarint(b, t.hw)
	b = binary.AppendUvarint(b, t.pos)
	b = binary.AppendUvarint(b, uint64(t.issued))
	b = binary.AppendUvarint(b, uint64(len(t.after)))
	b = append(b, t.after...)
	b = binary.AppendUvarint(b, uint64(len(t.sel)))
	b = append(b, t.sel...)
	b = append(b, s.deltaMAC(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) decodeDeltaToken(tok string) (deltaToken, bool) {
	var t deltaToken
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < len(deltaTokenMagic)+1+16 || string(b[:len(deltaTokenMagic)]) != deltaTokenMagic {
		return t, false
	}
	body, sum := b[:len(b)-16], b[len(b)-16:]
	if !hmac.Equal(sum, s.deltaMAC(body)) {
		return t, false
	}
	r := body[len(deltaTokenMagic):]
	t.kind, r = r[0], r[1:]
	uv := func() uint64 {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			r = nil
			err = strconv.ErrSyntax
			return 0
		}
		r = r[n:]
		return v
	}
	str := func() string {
		n := uv()
		if err != nil || n > uint64(len(r)) {
			err = strconv.ErrSyntax
			return ""
		}
		v := string(r[:n])
		r = r[n:]
		return v
	}
	t.since, t.hw, t.pos, t.issued = uv(), uv(), uv(), int64(uv())
	t.after, t.sel = str(), str()
	if err != nil || len(r) != 0 {
		return t, false
	}
	switch t.kind {
	case tokDelta, tokInitial, tokIncremental:
		return t, true
	}
	return t, false
}

func errBadlyFormedToken() *graphError {
	// NOTES §2 [spike]: malformed or mutated $deltatoken → 400 "Badly formed token.".
	return newError(http.StatusBadRequest, "BadRequest", "Badly formed token.")
}

// errDeltaExpired answers an expired token in the configured shape (SetDeltaExpiredShape).
func (s *Server) errDeltaExpired(r *http.Request, t deltaToken) *graphError {
	if !s.delta.shape410.Load() {
		// samples/delta-expired.CONSTRUCTED-directory-400.json [devblog-7d]
		return newError(http.StatusBadRequest, "syncStateNotFound",
			"The sync state generation is not found. The delta token is expired and data must be synchronized again.")
	}
	// samples/delta-expired.OBSERVED-outlook-410.json; Location per the reset path of [delta-ov].
	e := newError(http.StatusGone, "SyncStateNotFound", "The sync state generation is not found; generation="+
		strconv.FormatUint(t.hw, 10)+";[highest="+strconv.FormatUint(s.dir.head(), 10)+"].")
	loc := serviceRoot(r) + "/users/delta?"
	if t.sel != "" {
		loc += "$select=" + t.sel + "&"
	}
	e.header = map[string]string{"Location": loc + "$deltatoken="}
	return e
}

// head is the sequence number of the newest change-log entry (0 for none).
func (d *directory) head() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.headLocked()
}

func (d *directory) headLocked() uint64 {
	if n := len(d.changes); n > 0 {
		return d.changes[n-1].seq
	}
	return 0
}

// deltaQuery is a parsed /users/delta request.
type deltaQuery struct {
	sel                  selection
	selRaw               string
	hasSelect            bool
	deltaToken, skipTok  string
	hasDelta, hasSkipTok bool
	pageSize             int
	prefApplied          bool
}

func (s *Server) parseDeltaQuery(r *http.Request) (deltaQuery, *graphError) {
	q := deltaQuery{pageSize: defaultDeltaPageSize}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, errBadRequest("The query specified in the URI is not valid.")
	}
	for k, v := range vals {
		switch strings.ToLower(k) {
		case "$select":
			q.selRaw, q.hasSelect = v[0], true
		case "$deltatoken":
			q.deltaToken, q.hasDelta = v[0], true
		case "$skiptoken":
			q.skipTok, q.hasSkipTok = v[0], true
		case "$top", "$orderby", "$expand", "$skip", "$count", "$search", "$filter":
			// $top, $orderby, $expand are not supported on users delta (NOTES §2); $filter
			// (id eq … only) is not emulated.
			return q, errUnsupportedQuery()
		default:
			if strings.HasPrefix(k, "$") {
				return q, errBadRequest("Unrecognized query argument specified: '" + k + "'.")
			}
		}
	}
	var gerr *graphError
	if q.sel, gerr = s.users.parseSelect(q.selRaw, true); gerr != nil {
		return q, gerr
	}
	for _, pref := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(pref, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "odata.maxpagesize") {
				if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`)); err == nil && n >= 1 {
					q.pageSize, q.prefApplied = min(n, maxDeltaPageSize), true
				}
			}
		}
	}
	return q, nil
}

// usersDelta serves GET /v1.0/users/delta.
func (s *Server) usersDelta(x *exchange) *graphError {
	q, gerr := s.parseDeltaQuery(x.r)
	if gerr != nil {
		return gerr
	}
	now := s.now().UnixNano()
	switch {
	case q.hasSkipTok:
		if q.hasDelta {
			return errBadlyFormedToken()
		}
		if q.hasSelect {
			return errUnsupportedQuery() // "$select and $skiptoken aren't supported" (NOTES §2)
		}
		t, ok := s.decodeDeltaToken(q.skipTok)
		if !ok || t.kind == tokDelta {
			return errBadlyFormedToken()
		}
		if s.expired(t, now) {
			return s.errDeltaExpired(x.r, t)
		}
		sel, gerr := s.users.parseSelect(t.sel, true)
		if gerr != nil {
			return errBadlyFormedToken()
		}
		q.sel = sel
		if t.kind == tokInitial {
			return s.deltaInitialPage(x, q, t)
		}
		return s.deltaIncrementalPage(x, q, t)
	case q.hasDelta && strings.EqualFold(q.deltaToken, "latest"):
		t := deltaToken{kind: tokDelta, hw: s.dir.head(), sel: q.sel.names, issued: now}
		s.deltaReply(x, q, nil, "", s.encodeDeltaToken(t))
		return nil
	case q.hasDelta && q.deltaToken != "":
		t, ok := s.decodeDeltaToken(q.deltaToken)
		if !ok || t.kind != tokDelta {
			return errBadlyFormedToken()
		}
		if s.expired(t, now) {
			return s.errDeltaExpired(x.r, t)
		}
		if !q.hasSelect {
			// The tracked properties come from the token; a $select here replaces them
			// (NOTES §2: supported for Entra resources).
			if q.sel, gerr = s.users.parseSelect(t.sel, true); gerr != nil {
				return errBadlyFormedToken()
			}
		}
		hw := s.dir.head()
		if t.hw > hw {
			return errBadlyFormedToken()
		}
		return s.deltaIncrementalPage(x, q, deltaToken{kind: tokIncremental, since: t.hw, hw: hw, sel: q.sel.names, issued: now})
	default:
		return s.deltaInitialPage(x, q, deltaToken{kind: tokInitial, sel: q.sel.names, issued: now})
	}
}

func (s *Server) expired(t deltaToken, now int64) bool {
	maxAge := s.delta.maxAge.Load()
	return maxAge > 0 && now-t.issued > maxAge
}

// deltaEntry is one element of a delta page: a user (removed == "") or a removal.
type deltaEntry struct {
	u       *user
	id      string
	removed string // "changed" or "deleted"
}

// deltaInitialPage serves one page of an initial round; t.after == "" and t.hw == 0 on the
// first page, whose high-water mark is read under the same lock as the users.
func (s *Server) deltaInitialPage(x *exchange, q deltaQuery, t deltaToken) *graphError {
	first := t.after == ""
	d := s.dir
	d.mu.RLock()
	if first {
		t.hw = d.headLocked()
	}
	i, found := slices.BinarySearch(d.order, t.after)
	if found {
		i++
	}
	j, found := slices.BinarySearch(d.deletedOrder, t.after)
	if found {
		j++
	}
	out := make([]deltaEntry, 0, min(q.pageSize, len(d.order)-i+len(d.deletedOrder)-j))
	for len(out) < q.pageSize && (i < len(d.order) || j < len(d.deletedOrder)) {
		if j >= len(d.deletedOrder) || (i < len(d.order) && d.order[i] < d.deletedOrder[j]) {
			out = append(out, deltaEntry{u: d.byID[d.order[i]]})
			i++
			continue
		}
		u := d.deleted[d.deletedOrder[j]]
		out = append(out, deltaEntry{id: u.id, removed: "changed"})
		j++
	}
	more := i < len(d.order) || j < len(d.deletedOrder)
	d.mu.RUnlock()
	if more {
		last := out[len(out)-1]
		t.after = strings.ToLower(last.id)
		if last.u != nil {
			t.after = strings.ToLower(last.u.id)
		}
		s.deltaReply(x, q, out, s.encodeDeltaToken(t), "")
		return nil
	}
	s.deltaReply(x, q, out, "", s.encodeDeltaToken(deltaToken{kind: tokDelta, hw: t.hw, sel: t.sel, issued: s.now().UnixNano()}))
	return nil
}

// deltaItem is one user of a coalesced incremental round: its id as logged and its version
// at the round's sync point (nil: it did not exist).
type deltaItem struct {
	id   string
	prev *user
}

// coalesced returns the users changed in (since, hw], one item each in order of first change,
// from the cache or the change log.
func (s *Server) coalesced(since, hw uint64) []deltaItem {
	key := [2]uint64{since, hw}
	ds := &s.delta
	ds.mu.Lock()
	items, ok := ds.rounds[key]
	ds.mu.Unlock()
	if ok {
		return items
	}
	d := s.dir
	d.mu.RLock()
	// Sequence numbers are dense from 1, so entry seq n is changes[n-1]; search anyway.
	lo, _ := slices.BinarySearchFunc(d.changes, since+1, func(c change, seq uint64) int { return cmpU64(c.seq, seq) })
	seen := make(map[string]bool)
	for k := lo; k < len(d.changes) && d.changes[k].seq <= hw; k++ {
		c := &d.changes[k]
		if c.objectType != objectUser {
			continue
		}
		lid := strings.ToLower(c.objectID)
		if seen[lid] {
			continue
		}
		seen[lid] = true
		items = append(items, deltaItem{id: c.objectID, prev: c.prev})
	}
	d.mu.RUnlock()
	ds.mu.Lock()
	if _, ok := ds.rounds[key]; !ok {
		if len(ds.order) >= deltaRoundCacheSize {
			delete(ds.rounds, ds.order[0])
			ds.order = ds.order[1:]
		}
		ds.rounds[key] = items
		ds.order = append(ds.order, key)
	}
	ds.mu.Unlock()
	return items
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// deltaIncrementalPage serves the page of round (t.since, t.hw] that starts at item t.pos.
func (s *Server) deltaIncrementalPage(x *exchange, q deltaQuery, t deltaToken) *graphError {
	items := s.coalesced(t.since, t.hw)
	if t.pos > uint64(len(items)) {
		return errBadlyFormedToken()
	}
	pos := int(t.pos)
	out := make([]deltaEntry, 0, min(q.pageSize, len(items)-pos))
	var a, b []byte
	d := s.dir
	d.mu.RLock()
	for ; pos < len(items) && len(out) < q.pageSize; pos++ {
		it := items[pos]
		lid := strings.ToLower(it.id)
		cur := d.byID[lid]
		if cur == nil {
			cur = d.deleted[lid]
		}
		var skip bool
		if skip, a, b = untracked(it.prev, cur, q.sel, a, b); skip {
			continue
		}
		switch {
		case cur == nil:
			out = append(out, deltaEntry{id: it.id, removed: "deleted"})
		case cur.deleted:
			out = append(out, deltaEntry{id: cur.id, removed: "changed"})
		default:
			out = append(out, deltaEntry{u: cur})
		}
	}
	d.mu.RUnlock()
	if pos < len(items) {
		t.pos = uint64(pos)
		s.deltaReply(x, q, out, s.encodeDeltaToken(t), "")
		return nil
	}
	s.deltaReply(x, q, out, "", s.encodeDeltaToken(deltaToken{kind: tokDelta, hw: t.hw, sel: t.sel, issued: s.now().UnixNano()}))
	return nil
}

// untracked reports whether a user's change from prev (at the sync point) to cur is invisible
// to the round: deleted then and now, or live then and now with the same values of every
// explicitly selected property. a and b are scratch buffers, returned for reuse.
func untracked(prev, cur *user, sel selection, a, b []byte) (bool, []byte, []byte) {
	if prev == nil || cur == nil || prev.deleted != cur.deleted {
		return false, a, b
	}
	if cur.deleted {
		return true, a, b
	}
	if sel.names == "" {
		return false, a, b // without $select every change of the user is reported
	}
	a, b = a[:0], b[:0]
	for _, p := range sel.props {
		a, b = p.value(a, prev), p.value(b, cur)
	}
	return bytes.Equal(a, b), a, b
}

// deltaReply writes a delta page like samples/delta-page1.json and delta-final-deltalink.json:
// @odata.context, then exactly one of @odata.nextLink / @odata.deltaLink, then value. Each
// object carries the selected properties and always its id (last when not selected).
func (s *Server) deltaReply(x *exchange, q deltaQuery, out []deltaEntry, skipTok, deltaTok string) {
	root := serviceRoot(x.r)
	ctx := root + "/$metadata#users"
	if q.sel.names != "" {
		ctx += "(" + q.sel.names + ")"
	}
	hasID := false
	for _, p := range q.sel.props {
		if p.name == "id" {
			hasID = true
		}
	}
	b := make([]byte, 0, 256+len(out)*(48+40*len(q.sel.props)))
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, ctx)
	if skipTok != "" {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, root+"/users/delta?$skiptoken="+skipTok)
	} else {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendString(b, root+"/users/delta?$deltatoken="+deltaTok)
	}
	b = append(b, `,"value":[`...)
	for i, e := range out {
		if i > 0 {
			b = append(b, ',')
		}
		if e.removed != "" {
			b = append(b, `{"id":`...)
			b = appendString(b, e.id)
			b = append(b, `,"@removed":{"reason":"`...)
			b = append(b, e.removed...)
			b = append(b, `"}}`...)
			continue
		}
		b = append(b, '{')
		b = appendProps(b, e.u, q.sel.props)
		if !hasID {
			if len(q.sel.props) > 0 {
				b = append(b, ',')
			}
			b = append(b, `"id":`...)
			b = appendString(b, e.u.id)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	if q.prefApplied {
		x.w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(q.pageSize))
	}
	s.ok(x, b)
}
