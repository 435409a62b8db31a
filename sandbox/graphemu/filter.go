package graphemu

import (
	"net/http"
	"strings"
)

// filterSchema implements the subset of $filter on /users the emulator supports so far:
// clauses `property eq 'text'` or `property eq true|false`, joined by `and`. String matches are
// case-insensitive, as in the directory. Support per property follows NOTES §1.1 [aq-filter]:
// "default" properties work on any request, "advanced" ones only with ConsistencyLevel:
// eventual and $count=true. Other operators arrive with the advanced-query issue.
type filterSchema struct {
	fields map[string]filterField // key: lower-cased property name
	users  *userSchema            // to tell "not filterable" from "no such property"
}

type filterField struct {
	name     string
	boolean  bool
	advanced bool
	get      func(*user) string
}

func newFilterSchema(users *userSchema) *filterSchema {
	boolStr := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	fields := []filterField{
		{name: "id", get: func(u *user) string { return u.id }},
		{name: "userPrincipalName", get: func(u *user) string { return u.userPrincipalName }},
		{name: "displayName", get: func(u *user) string { return u.displayName }},
		{name: "mail", get: func(u *user) string { return u.mail }},
		{name: "mailNickname", get: func(u *user) string { return u.mailNickname }},
		{name: "givenName", get: func(u *user) string { return u.givenName }},
		{name: "surname", get: func(u *user) string { return u.surname }},
		{name: "jobTitle", get: func(u *user) string { return u.jobTitle }},
		{name: "department", get: func(u *user) string { return u.department }},
		{name: "city", get: func(u *user) string { return u.city }},
		{name: "country", get: func(u *user) string { return u.country }},
		{name: "usageLocation", get: func(u *user) string { return u.usageLocation }},
		{name: "userType", get: func(u *user) string { return u.userType }},
		{name: "employeeId", get: func(u *user) string { return u.employeeID }},
		{name: "onPremisesImmutableId", get: func(u *user) string { return u.onPremisesImmutableID }},
		{name: "accountEnabled", boolean: true, get: func(u *user) string { return boolStr(u.accountEnabled) }},
		{name: "onPremisesSyncEnabled", boolean: true, get: func(u *user) string { return boolStr(u.onPremisesSyncEnabled) }},
		{name: "mobilePhone", advanced: true, get: func(u *user) string { return u.mobilePhone }},
		{name: "officeLocation", advanced: true, get: func(u *user) string { return u.officeLocation }},
		{name: "preferredLanguage", advanced: true, get: func(u *user) string { return u.preferredLanguage }},
	}
	s := &filterSchema{fields: make(map[string]filterField, len(fields)), users: users}
	for _, f := range fields {
		s.fields[strings.ToLower(f.name)] = f
	}
	return s
}

type clause struct {
	field filterField
	value string
}

// parse compiles a $filter expression into a predicate.
func (s *filterSchema) parse(expr string, advanced bool) (func(*user) bool, *graphError) {
	var clauses []clause
	rest := strings.TrimSpace(expr)
	for {
		c, tail, gerr := s.parseClause(rest, advanced)
		if gerr != nil {
			return nil, gerr
		}
		clauses = append(clauses, c)
		tail = strings.TrimSpace(tail)
		if tail == "" {
			break
		}
		kw, after, _ := strings.Cut(tail, " ")
		if !strings.EqualFold(kw, "and") {
			return nil, errUnsupportedQuery() // or, not, functions: the advanced-query issue
		}
		rest = strings.TrimSpace(after)
	}
	return func(u *user) bool {
		for _, c := range clauses {
			if !strings.EqualFold(c.field.get(u), c.value) {
				return false
			}
		}
		return true
	}, nil
}

// parseClause reads `name eq literal` from the front of expr.
func (s *filterSchema) parseClause(expr string, advanced bool) (clause, string, *graphError) {
	name, rest, ok := strings.Cut(expr, " ")
	if !ok || strings.ContainsAny(name, "()'") {
		return clause{}, "", s.syntaxOrUnsupported(expr)
	}
	op, rest, _ := strings.Cut(strings.TrimSpace(rest), " ")
	if !strings.EqualFold(op, "eq") {
		return clause{}, "", errUnsupportedQuery()
	}
	f, known := s.fields[strings.ToLower(name)]
	_, property := s.users.byName[strings.ToLower(name)]
	switch {
	case !known && !property:
		return clause{}, "", errBadRequest("Could not find a property named '" + name + "' on type 'microsoft.graph.user'.")
	case !known && advanced:
		return clause{}, "", newError(http.StatusBadRequest, "Request_UnsupportedQuery", "The request uses a filter property that is not indexed")
	case !known || (f.advanced && !advanced):
		return clause{}, "", errUnsupportedQuery()
	}
	value, tail, gerr := literal(strings.TrimSpace(rest), f.boolean)
	return clause{field: f, value: value}, tail, gerr
}

func (s *filterSchema) syntaxOrUnsupported(expr string) *graphError {
	if strings.Contains(expr, "(") {
		return errUnsupportedQuery() // startsWith(...), any(...): the advanced-query issue
	}
	return errBadRequest("Invalid filter clause")
}

// literal reads 'text' (with ” for ') or, for boolean fields, true/false.
func literal(s string, boolean bool) (value, tail string, gerr *graphError) {
	if boolean {
		word, tail, _ := strings.Cut(s, " ")
		if w := strings.ToLower(word); w == "true" || w == "false" {
			return w, tail, nil
		}
		return "", "", errBadRequest("Invalid filter clause")
	}
	if !strings.HasPrefix(s, "'") {
		return "", "", errBadRequest("Invalid filter clause")
	}
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
		return b.String(), s[i+1:], nil
	}
	return "", "", errBadRequest("Invalid filter clause")
}
