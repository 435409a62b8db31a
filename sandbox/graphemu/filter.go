package graphemu

import (
	"net/http"
	"strings"
)

// filterSchema implements $filter on /users as the directory does (NOTES §1.1 [aq],
// [aq-filter]): comparisons `p eq|ne literal`, `p in ('a','b')`, startswith/endswith,
// lambdas over collections (`proxyAddresses/any(x:x eq 'smtp:a@b')`,
// `assignedLicenses/any(a:a/skuId eq <guid>)`), joined by and/or/not with parentheses. String
// matches are case-insensitive, as in the directory.
//
// Support per property and operator follows the [aq-filter] table: "default" works on any
// request; "advanced" only with ConsistencyLevel: eventual and $count=true. ne, not and
// endsWith are advanced-only everywhere; in is allowed wherever eq is.
type filterSchema struct {
	fields map[string]filterField // key: lower-cased property name
	users  *userSchema            // to tell "not filterable" from "no such property"
}

// support is where an operator works: nowhere, by default, or only in advanced queries.
type support uint8

const (
	no support = iota
	dflt
	adv
)

type filterField struct {
	name       string
	boolean    bool
	collection bool    // a string collection, filtered through any()
	eq         support // eq, in (and ne/not, advanced)
	startsWith support
	endsWith   bool    // endsWith (advanced only): mail, otherMails, userPrincipalName, proxyAddresses
	eqNull     support // eq null
	get        func(*user) string
	getAll     func(*user) []string // collections
}

func newFilterSchema(users *userSchema) *filterSchema {
	boolStr := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	str := func(name string, eq, sw, null support, get func(*user) string) filterField {
		return filterField{name: name, eq: eq, startsWith: sw, eqNull: null, get: get}
	}
	coll := func(name string, level support, get func(*user) []string) filterField {
		return filterField{name: name, collection: true, eq: level, startsWith: level, getAll: get}
	}
	fields := []filterField{
		str("id", dflt, no, no, func(u *user) string { return u.id }),
		str("userPrincipalName", dflt, dflt, no, func(u *user) string { return u.userPrincipalName }),
		str("displayName", dflt, dflt, adv, func(u *user) string { return u.displayName }),
		str("mail", dflt, dflt, adv, func(u *user) string { return u.mail }),
		str("mailNickname", dflt, dflt, adv, func(u *user) string { return u.mailNickname }),
		str("givenName", dflt, dflt, adv, func(u *user) string { return u.givenName }),
		str("surname", dflt, dflt, adv, func(u *user) string { return u.surname }),
		str("jobTitle", dflt, dflt, adv, func(u *user) string { return u.jobTitle }),
		str("department", dflt, dflt, adv, func(u *user) string { return u.department }),
		str("city", dflt, dflt, adv, func(u *user) string { return u.city }),
		str("country", dflt, dflt, adv, func(u *user) string { return u.country }),
		str("usageLocation", dflt, dflt, adv, func(u *user) string { return u.usageLocation }),
		str("userType", dflt, no, adv, func(u *user) string { return u.userType }),
		str("employeeId", dflt, no, adv, func(u *user) string { return u.employeeID }),
		str("onPremisesImmutableId", dflt, no, no, func(u *user) string { return u.onPremisesImmutableID }),
		str("mobilePhone", adv, adv, adv, func(u *user) string { return u.mobilePhone }),
		str("officeLocation", adv, adv, adv, func(u *user) string { return u.officeLocation }),
		str("preferredLanguage", adv, adv, adv, func(u *user) string { return u.preferredLanguage }),
		{name: "accountEnabled", boolean: true, eq: dflt, get: func(u *user) string { return boolStr(u.accountEnabled) }},
		{name: "onPremisesSyncEnabled", boolean: true, eq: dflt, eqNull: adv, get: func(u *user) string {
			if !u.onPremisesSyncEnabled {
				return "" // null for cloud-only users
			}
			return "true"
		}},
		coll("otherMails", dflt, func(u *user) []string { return u.otherMails }),
		coll("proxyAddresses", dflt, func(u *user) []string { return u.proxyAddresses }),
		coll("businessPhones", adv, func(u *user) []string { return u.businessPhones }),
		{name: "assignedLicenses", collection: true, eq: dflt, getAll: func(u *user) []string {
			ids := make([]string, len(u.licenses))
			for i, l := range u.licenses {
				ids[i] = l.skuID
			}
			return ids
		}},
	}
	s := &filterSchema{fields: make(map[string]filterField, len(fields)), users: users}
	for _, f := range fields {
		switch f.name {
		case "mail", "userPrincipalName", "otherMails", "proxyAddresses":
			f.endsWith = true
		}
		s.fields[strings.ToLower(f.name)] = f
	}
	return s
}

// parse compiles a $filter expression into a predicate. advanced reports whether the request
// is an advanced query.
func (s *filterSchema) parse(expr string, advanced bool) (func(*user) bool, *graphError) {
	toks, ok := tokenize(expr)
	if !ok {
		return nil, errInvalidFilter()
	}
	p := &filterParser{schema: s, toks: toks, advanced: advanced}
	pred, gerr := p.or(0)
	if gerr != nil {
		return nil, gerr
	}
	if !p.done() {
		return nil, errInvalidFilter()
	}
	return pred, nil
}

func errInvalidFilter() *graphError { return errBadRequest("Invalid filter clause") }

// token kinds: words (names, keywords, unquoted literals such as true or a GUID), quoted
// strings, and the punctuation ( ) , : /.
type tok struct {
	kind byte // 'w' word, 's' string, or the punctuation character
	text string
}

func tokenize(expr string) ([]tok, bool) {
	var toks []tok
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("(),:/", c) >= 0:
			toks = append(toks, tok{kind: c})
			i++
		case c == '\'':
			text, n, ok := quoted(expr[i:])
			if !ok {
				return nil, false
			}
			toks = append(toks, tok{kind: 's', text: text})
			i += n
		case isWordByte(c):
			j := i
			for j < len(expr) && isWordByte(expr[j]) {
				j++
			}
			toks = append(toks, tok{kind: 'w', text: expr[i:j]})
			i = j
		default:
			return nil, false
		}
	}
	return toks, true
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '$'
}

// quoted reads an OData string literal (” stands for ') and reports its length in s.
func quoted(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

// maxFilterDepth bounds nesting, so a hostile filter cannot exhaust the stack.
const maxFilterDepth = 32

type filterParser struct {
	schema   *filterSchema
	toks     []tok
	pos      int
	advanced bool
}

type pred = func(*user) bool

func (p *filterParser) done() bool { return p.pos >= len(p.toks) }

func (p *filterParser) peek() tok {
	if p.done() {
		return tok{}
	}
	return p.toks[p.pos]
}

// keyword consumes the word kw (case-insensitive) if it comes next.
func (p *filterParser) keyword(kw string) bool {
	if t := p.peek(); t.kind == 'w' && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *filterParser) punct(c byte) bool {
	if p.peek().kind == c {
		p.pos++
		return true
	}
	return false
}

func (p *filterParser) or(depth int) (pred, *graphError) {
	left, gerr := p.and(depth)
	for gerr == nil && p.keyword("or") {
		var right pred
		if right, gerr = p.and(depth); gerr == nil {
			l := left
			left = func(u *user) bool { return l(u) || right(u) }
		}
	}
	return left, gerr
}

func (p *filterParser) and(depth int) (pred, *graphError) {
	left, gerr := p.unary(depth)
	for gerr == nil && p.keyword("and") {
		var right pred
		if right, gerr = p.unary(depth); gerr == nil {
			l := left
			left = func(u *user) bool { return l(u) && right(u) }
		}
	}
	return left, gerr
}

func (p *filterParser) unary(depth int) (pred, *graphError) {
	if depth > maxFilterDepth {
		return nil, errInvalidFilter()
	}
	if p.keyword("not") {
		inner, gerr := p.unary(depth + 1)
		if gerr != nil {
			return nil, gerr
		}
		if !p.advanced {
			return nil, errUnsupportedQuery() // not is advanced-only [aq]
		}
		return func(u *user) bool { return !inner(u) }, nil
	}
	if p.punct('(') {
		inner, gerr := p.or(depth + 1)
		if gerr != nil {
			return nil, gerr
		}
		if !p.punct(')') {
			return nil, errInvalidFilter()
		}
		return inner, nil
	}
	return p.primary()
}

// test is a compiled condition on one value (a property, or one element of a collection).
type test = func(v string) bool

// primary reads a function call, a lambda over a collection, or a comparison.
func (p *filterParser) primary() (pred, *graphError) {
	t := p.peek()
	if t.kind != 'w' {
		return nil, errInvalidFilter()
	}
	p.pos++
	if p.peek().kind == '(' {
		f, check, gerr := p.function(t.text, nil, "")
		if gerr != nil {
			return nil, gerr
		}
		return func(u *user) bool { return check(f.get(u)) }, nil
	}
	f, gerr := p.schema.field(t.text, p.advanced)
	if gerr != nil {
		return nil, gerr
	}
	if p.punct('/') {
		return p.lambda(f)
	}
	if f.collection {
		return nil, errUnsupportedQuery() // a collection is filtered only through any()
	}
	check, gerr := p.comparison(f)
	if gerr != nil {
		return nil, gerr
	}
	return func(u *user) bool { return check(f.get(u)) }, nil
}

// function reads startswith(arg,'x') or endswith(arg,'x'). Outside a lambda arg is a
// property; inside one (coll != nil) it must be the range variable rangeVar.
func (p *filterParser) function(name string, coll *filterField, rangeVar string) (filterField, test, *graphError) {
	p.punct('(')
	arg := p.peek()
	if arg.kind != 'w' {
		return filterField{}, nil, errInvalidFilter()
	}
	p.pos++
	var f filterField
	switch {
	case coll != nil && arg.text == rangeVar:
		f = *coll
	case coll != nil:
		return f, nil, errInvalidFilter()
	default:
		var gerr *graphError
		if f, gerr = p.schema.field(arg.text, p.advanced); gerr != nil {
			return f, nil, gerr
		}
		if f.collection {
			return f, nil, errUnsupportedQuery()
		}
	}
	if !p.punct(',') || p.peek().kind != 's' {
		return f, nil, errInvalidFilter()
	}
	value := p.peek().text
	p.pos++
	if !p.punct(')') {
		return f, nil, errInvalidFilter()
	}
	switch strings.ToLower(name) {
	case "startswith":
		if f.boolean || !p.allowed(f.startsWith) {
			return f, nil, errUnsupportedQuery()
		}
		return f, func(v string) bool { return hasPrefixFold(v, value) }, nil
	case "endswith":
		if !f.endsWith || !p.advanced {
			return f, nil, errUnsupportedQuery() // advanced-only, on four properties [aq]
		}
		return f, func(v string) bool { return hasSuffixFold(v, value) }, nil
	}
	return f, nil, errUnsupportedQuery()
}

func (p *filterParser) allowed(s support) bool {
	return s == dflt || (s == adv && p.advanced)
}

// lambda reads any(x:x eq 'v'), any(x:x in (…)), any(x:startswith(x,'v')),
// any(x:endswith(x,'v')) and, for assignedLicenses, any(a:a/skuId eq <guid>).
func (p *filterParser) lambda(f filterField) (pred, *graphError) {
	if !f.collection || !p.keyword("any") || !p.punct('(') || p.peek().kind != 'w' {
		return nil, errInvalidFilter()
	}
	rangeVar := p.peek().text
	p.pos++
	if !p.punct(':') {
		return nil, errInvalidFilter()
	}
	var check test
	var gerr *graphError
	switch t := p.peek(); {
	case t.kind == 'w' && t.text == rangeVar:
		p.pos++
		if f.name == "assignedLicenses" && !(p.punct('/') && p.keyword("skuId")) {
			return nil, errInvalidFilter()
		}
		check, gerr = p.comparison(f)
	case t.kind == 'w':
		p.pos++
		if p.peek().kind != '(' {
			return nil, errInvalidFilter()
		}
		_, check, gerr = p.function(t.text, &f, rangeVar)
	default:
		return nil, errInvalidFilter()
	}
	if gerr != nil {
		return nil, gerr
	}
	if !p.punct(')') {
		return nil, errInvalidFilter()
	}
	return func(u *user) bool {
		for _, e := range f.getAll(u) {
			if check(e) {
				return true
			}
		}
		return false
	}, nil
}

// comparison reads `eq|ne literal` or `in (literals)` after a property.
func (p *filterParser) comparison(f filterField) (test, *graphError) {
	op := p.peek()
	if op.kind != 'w' {
		return nil, errInvalidFilter()
	}
	p.pos++
	switch lop := strings.ToLower(op.text); lop {
	case "eq", "ne":
		null, value, gerr := p.literal(f)
		if gerr != nil {
			return nil, gerr
		}
		if !p.allowed(f.eq) || (null && !p.allowed(f.eqNull)) || (lop == "ne" && !p.advanced) {
			return nil, errUnsupportedQuery() // ne is advanced-only [aq]
		}
		if lop == "ne" {
			return func(v string) bool { return !strings.EqualFold(v, value) }, nil
		}
		return func(v string) bool { return strings.EqualFold(v, value) }, nil
	case "in":
		values, gerr := p.literalList(f)
		if gerr != nil {
			return nil, gerr
		}
		if !p.allowed(f.eq) {
			return nil, errUnsupportedQuery()
		}
		return func(v string) bool { return containsFold(values, v) }, nil
	case "ge", "le", "gt", "lt":
		return nil, errUnsupportedQuery()
	}
	return nil, errInvalidFilter()
}

// literal reads 'text', true/false for boolean fields, a bare GUID for assignedLicenses, or
// null (reported as null with value "").
func (p *filterParser) literal(f filterField) (null bool, value string, gerr *graphError) {
	t := p.peek()
	p.pos++
	switch {
	case t.kind == 'w' && strings.EqualFold(t.text, "null"):
		return true, "", nil
	case f.boolean && t.kind == 'w' && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")):
		return false, strings.ToLower(t.text), nil
	case f.name == "assignedLicenses" && t.kind == 'w' && isGUID(t.text):
		return false, t.text, nil
	case !f.boolean && f.name != "assignedLicenses" && t.kind == 's':
		return false, t.text, nil
	}
	return false, "", errInvalidFilter()
}

func (p *filterParser) literalList(f filterField) ([]string, *graphError) {
	if !p.punct('(') {
		return nil, errInvalidFilter()
	}
	var values []string
	for {
		null, v, gerr := p.literal(f)
		if gerr != nil || null {
			return nil, errInvalidFilter()
		}
		values = append(values, v)
		if p.punct(')') {
			return values, nil
		}
		if !p.punct(',') {
			return nil, errInvalidFilter()
		}
	}
}

// field resolves a property name: unknown names fail like the OData layer; known but
// unfilterable ones like the directory (NOTES §1.1, error-filter-not-indexed.json).
func (s *filterSchema) field(name string, advanced bool) (filterField, *graphError) {
	f, known := s.fields[strings.ToLower(name)]
	_, property := s.users.byName[strings.ToLower(name)]
	switch {
	case !known && !property:
		return f, errBadRequest("Could not find a property named '" + name + "' on type 'microsoft.graph.user'.")
	case !known && advanced:
		return f, newError(http.StatusBadRequest, "Request_UnsupportedQuery", "The request uses a filter property that is not indexed")
	case !known:
		return f, errUnsupportedQuery()
	}
	return f, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
