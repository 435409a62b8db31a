package graphemu

import (
	"strings"
)

// searchFields are the user properties $search accepts, as "property:text" clauses [aq].
// displayName is tokenised (a clause matches the start of any word, as the service's
// tokenised search does); the others match from the start of the value.
var searchFields = map[string]func(*user) string{
	"displayname":       func(u *user) string { return u.displayName },
	"givenname":         func(u *user) string { return u.givenName },
	"surname":           func(u *user) string { return u.surname },
	"mail":              func(u *user) string { return u.mail },
	"mailnickname":      func(u *user) string { return u.mailNickname },
	"userprincipalname": func(u *user) string { return u.userPrincipalName },
	"jobtitle":          func(u *user) string { return u.jobTitle },
	"department":        func(u *user) string { return u.department },
	"employeeid":        func(u *user) string { return u.employeeID },
}

// parseSearch compiles $search: quoted "property:text" clauses joined by AND / OR, where AND
// binds tighter, e.g. "displayName:wa" OR "mail:adele". The caller has checked the
// ConsistencyLevel header (samples/error-search-without-consistencylevel.json).
func parseSearch(expr string) (func(*user) bool, *graphError) {
	var groups [][]func(*user) bool // OR of ANDs
	current := []func(*user) bool{}
	rest := strings.TrimSpace(expr)
	for {
		clause, tail, ok := nextSearchClause(rest)
		if !ok {
			return nil, errBadRequest("Invalid $search query: " + expr)
		}
		c, gerr := searchClause(clause)
		if gerr != nil {
			return nil, gerr
		}
		current = append(current, c)
		tail = strings.TrimSpace(tail)
		if tail == "" {
			break
		}
		op, after, _ := strings.Cut(tail, " ")
		switch op {
		case "AND":
		case "OR":
			groups, current = append(groups, current), nil
		default:
			return nil, errBadRequest("Invalid $search query: " + expr)
		}
		rest = strings.TrimSpace(after)
	}
	groups = append(groups, current)
	return func(u *user) bool {
		for _, g := range groups {
			all := true
			for _, c := range g {
				if !c(u) {
					all = false
					break
				}
			}
			if all {
				return true
			}
		}
		return false
	}, nil
}

// nextSearchClause reads one "…" clause from the front of s.
func nextSearchClause(s string) (clause, tail string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	return s[1 : end+1], s[end+2:], true
}

func searchClause(clause string) (func(*user) bool, *graphError) {
	name, text, ok := strings.Cut(clause, ":")
	get, known := searchFields[strings.ToLower(strings.TrimSpace(name))]
	if !ok || !known {
		return nil, errUnsupportedQuery()
	}
	text = strings.TrimSpace(text)
	if strings.EqualFold(strings.TrimSpace(name), "displayName") {
		return func(u *user) bool { return wordPrefix(get(u), text) }, nil
	}
	return func(u *user) bool { return hasPrefixFold(get(u), text) }, nil
}

// wordPrefix reports whether text starts s or one of its words.
func wordPrefix(s, text string) bool {
	if hasPrefixFold(s, text) {
		return true
	}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" -_.@", r) }) {
		if hasPrefixFold(w, text) {
			return true
		}
	}
	return false
}
