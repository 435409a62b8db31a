package rules

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error lists every problem found in a policy file, each as "file:line: field: what is wrong".
type Error struct {
	Problems []string
}

func (e *Error) Error() string { return strings.Join(e.Problems, "\n") }

// Parse validates a policy document; name is the file name used in error messages.
// Unknown keys, wrong types, bad globs and bad windows are all errors: a policy that
// cannot be read exactly as written is never half-applied.
func Parse(data []byte, name string) (*Policy, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Problems: []string{syntaxProblem(name, err)}}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{Problems: []string{name + ":1: the policy file is empty; start from policy/examples/policy.yaml"}}
	}
	p := &parser{file: name}
	pol := Default()
	pol.Source = name
	p.document(doc.Content[0], pol)
	if len(p.problems) > 0 {
		return nil, &Error{Problems: p.problems}
	}
	return pol, nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// syntaxProblem turns "yaml: line 3: did not find expected key" into "policy.yaml:3: did not find expected key".
func syntaxProblem(name string, err error) string {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line := m[1]
		if line == "" {
			line = "1"
		}
		return fmt.Sprintf("%s:%s: %s", name, line, msg[len(m[0]):])
	}
	return fmt.Sprintf("%s: %s", name, msg)
}

type parser struct {
	file     string
	problems []string
}

func (p *parser) fail(n *yaml.Node, field, format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf("%s:%d: %s: %s", p.file, n.Line, field, fmt.Sprintf(format, args...)))
}

// fields walks a mapping, calling the handler of each key; unknown and repeated keys are problems.
func (p *parser) fields(n *yaml.Node, field string, handlers map[string]func(v *yaml.Node, field string)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, orTop(field), "want a mapping of %s, got %s", strings.Join(sortedKeys(handlers), ", "), describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := k.Value
		if field != "" {
			sub = field + "." + k.Value
		}
		h, ok := handlers[k.Value]
		switch {
		case !ok:
			p.fail(k, sub, "unknown key; known keys here: %s", strings.Join(sortedKeys(handlers), ", "))
		case seen[k.Value]:
			p.fail(k, sub, "repeated key")
		default:
			seen[k.Value] = true
			h(v, sub)
		}
	}
}

func (p *parser) document(n *yaml.Node, pol *Policy) {
	p.fields(n, "", map[string]func(*yaml.Node, string){
		"version": func(v *yaml.Node, f string) {
			if ver, ok := p.integer(v, f); ok && ver != 1 {
				p.fail(v, f, "unsupported version %d; this msidm reads version 1", ver)
			}
		},
		"read_only":      func(v *yaml.Node, f string) { p.boolean(v, f, &pol.ReadOnly) },
		"confirm_writes": func(v *yaml.Node, f string) { p.boolean(v, f, &pol.ConfirmWrites) },
		"confirmation": func(v *yaml.Node, f string) {
			p.fields(v, f, map[string]func(*yaml.Node, string){
				"modes": func(v *yaml.Node, f string) { pol.ConfirmationModes = p.modes(v, f) },
			})
		},
		"protected": func(v *yaml.Node, f string) {
			p.fields(v, f, map[string]func(*yaml.Node, string){
				"upn_globs":       func(v *yaml.Node, f string) { pol.Protected.UPNGlobs = p.globs(v, f, false) },
				"groups":          func(v *yaml.Node, f string) { pol.Protected.Groups = p.strings(v, f) },
				"directory_roles": func(v *yaml.Node, f string) { pol.Protected.DirectoryRoles = p.strings(v, f) },
			})
		},
		"ads": func(v *yaml.Node, f string) {
			p.fields(v, f, map[string]func(*yaml.Node, string){
				"allow_super_admin": func(v *yaml.Node, f string) { p.boolean(v, f, &pol.AllowAdsSuperAdmin) },
			})
		},
		"domains": func(v *yaml.Node, f string) {
			p.fields(v, f, map[string]func(*yaml.Node, string){
				"invitations": func(v *yaml.Node, f string) { pol.InvitationDomains = p.globs(v, f, true) },
				"new_users":   func(v *yaml.Node, f string) { pol.NewUserDomains = p.globs(v, f, true) },
			})
		},
		"max_targets_per_call": func(v *yaml.Node, f string) {
			if m, ok := p.integer(v, f); ok {
				if m < 1 || m > 1000 {
					p.fail(v, f, "must be between 1 and 1000, got %d", m)
					return
				}
				pol.MaxTargets = m
			}
		},
		"change_window": func(v *yaml.Node, f string) { pol.Window = p.window(v, f) },
	})
}

func (p *parser) boolean(n *yaml.Node, field string, dst *bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.fail(n, field, "want true or false, got %s", describe(n))
		return
	}
	*dst = n.Value == "true"
}

func (p *parser) integer(n *yaml.Node, field string) (int, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if v, err := strconv.Atoi(n.Value); err == nil {
			return v, true
		}
	}
	p.fail(n, field, "want a whole number, got %s", describe(n))
	return 0, false
}

func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.fail(n, field, "want a string, got %s", describe(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		p.fail(n, field, "must not be empty")
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

// strings reads a list of non-empty strings; each item is checked by the optional checks.
func (p *parser) strings(n *yaml.Node, field string, checks ...func(item *yaml.Node, field, s string) bool) []string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "want a list, got %s", describe(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		s, ok := p.str(item, f)
		for _, check := range checks {
			ok = ok && check(item, f, s)
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// globs reads a list of path.Match globs, lower-cased so matching ignores case.
func (p *parser) globs(n *yaml.Node, field string, domains bool) []string {
	list := p.strings(n, field, func(item *yaml.Node, f, s string) bool {
		if _, err := path.Match(s, ""); err != nil {
			p.fail(item, f, "%q is not a valid glob", s)
			return false
		}
		if domains && strings.Contains(s, "@") {
			p.fail(item, f, "%q is an address; list domains such as \"contoso.example\" or \"*.contoso.example\"", s)
			return false
		}
		return true
	})
	for i := range list {
		list[i] = strings.ToLower(list[i])
	}
	return list
}

func (p *parser) modes(n *yaml.Node, field string) []string {
	known := []string{ModeElicitation, ModeApproval, ModeCode}
	seen := map[string]bool{}
	modes := p.strings(n, field, func(item *yaml.Node, f, s string) bool {
		switch {
		case !slices.Contains(known, s):
			p.fail(item, f, "unknown confirmation mode %q; known: %s", s, strings.Join(known, ", "))
		case seen[s]:
			p.fail(item, f, "mode %q is listed twice", s)
		default:
			seen[s] = true
			return true
		}
		return false
	})
	if len(modes) == 0 && !isNull(deref(n)) && deref(n).Kind == yaml.SequenceNode && len(deref(n).Content) == 0 {
		p.fail(n, field, "must list at least one mode; use read_only: true to allow no changes")
	}
	return modes
}

func (p *parser) window(n *yaml.Node, field string) *Window {
	if isNull(deref(n)) {
		return nil
	}
	w := &Window{Start: -1, End: -1}
	var days, start, end, zone *yaml.Node
	p.fields(n, field, map[string]func(*yaml.Node, string){
		"days": func(v *yaml.Node, f string) {
			days = v
			seen := map[time.Weekday]bool{}
			p.strings(v, f, func(item *yaml.Node, f, s string) bool {
				d := slices.Index(dayNames[:], strings.ToLower(s))
				switch {
				case d < 0:
					p.fail(item, f, "%q is not a day; use mon, tue, wed, thu, fri, sat, sun", s)
				case seen[time.Weekday(d)]:
					p.fail(item, f, "day %q is listed twice", s)
				default:
					seen[time.Weekday(d)] = true
					w.Days = append(w.Days, time.Weekday(d))
				}
				return true
			})
			if len(deref(v).Content) == 0 && deref(v).Kind == yaml.SequenceNode {
				p.fail(v, f, "must list at least one day")
			}
		},
		"start": func(v *yaml.Node, f string) { start = v; w.Start = p.clock(v, f) },
		"end":   func(v *yaml.Node, f string) { end = v; w.End = p.clock(v, f) },
		"timezone": func(v *yaml.Node, f string) {
			zone = v
			if s, ok := p.str(v, f); ok {
				loc, err := time.LoadLocation(s)
				if err != nil {
					p.fail(v, f, "%q is not a known time zone (use an IANA name such as Europe/Dublin or UTC)", s)
					return
				}
				w.Location = loc
			}
		},
	})
	if deref(n).Kind != yaml.MappingNode {
		return nil
	}
	for _, req := range []struct {
		name string
		n    *yaml.Node
	}{{"days", days}, {"start", start}, {"end", end}, {"timezone", zone}} {
		if req.n == nil {
			p.fail(n, field, "missing %s (a window needs days, start, end and timezone)", req.name)
		}
	}
	if start != nil && end != nil && w.Start >= 0 && w.Start == w.End {
		p.fail(end, field+".end", "equals start; a window must have a length")
	}
	return w
}

var clockRE = regexp.MustCompile(`^([01]\d|2[0-4]):([0-5]\d)$`)

// clock reads "HH:MM" (00:00–24:00) as minutes after midnight.
func (p *parser) clock(n *yaml.Node, field string) int {
	s, ok := p.str(n, field)
	if !ok {
		return -1
	}
	m := clockRE.FindStringSubmatch(s)
	if m == nil {
		p.fail(n, field, "%q is not a time of day; use 24-hour HH:MM such as \"08:00\"", s)
		return -1
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	if h == 24 && mi != 0 {
		p.fail(n, field, "%q is past the end of the day; the latest is \"24:00\"", s)
		return -1
	}
	return h*60 + mi
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// describe names what the operator wrote, for "want X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "an unsupported YAML node"
}

func orTop(field string) string {
	if field == "" {
		return "policy"
	}
	return field
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
