package tools

import (
	"fmt"
	"strings"
	"unicode"
)

// entraUserFilter is the typed filter of list_entra_users. The model never writes OData:
// each field becomes one clause with its literal escaped, so input cannot change the query's
// structure. Clauses are ANDed.
type entraUserFilter struct {
	Department            string `json:"department,omitempty" jsonschema_description:"Exact department, e.g. Marketing."`
	JobTitle              string `json:"job_title,omitempty" jsonschema_description:"Exact job title."`
	UserType              string `json:"user_type,omitempty" jsonschema:"enum=Member,enum=Guest" jsonschema_description:"Member or Guest."`
	Enabled               *bool  `json:"enabled,omitempty" jsonschema_description:"true: sign-in allowed; false: sign-in blocked."`
	Synced                *bool  `json:"on_prem_synced,omitempty" jsonschema_description:"true: synced from on-premises AD; false: cloud-only."`
	UPNStartsWith         string `json:"upn_starts_with,omitempty" jsonschema_description:"Prefix of the userPrincipalName."`
	DisplayNameStartsWith string `json:"display_name_starts_with,omitempty" jsonschema_description:"Prefix of the display name."`
	Search                string `json:"search,omitempty" jsonschema_description:"Words to find in display name, UPN or mail (tokenized search, at least 2 characters)."`
}

// odata returns the $filter, the $search expression, and whether the query needs Graph's
// advanced query mode (ConsistencyLevel: eventual and $count=true; NOTES §1.1).
func (f entraUserFilter) odata() (filter, search string, advanced bool, err error) {
	var clauses []string
	eq := func(prop, v string) {
		if v != "" {
			clauses = append(clauses, fmt.Sprintf("%s eq '%s'", prop, quote(v)))
		}
	}
	eq("department", f.Department)
	eq("jobTitle", f.JobTitle)
	eq("userType", f.UserType)
	if f.Enabled != nil {
		clauses = append(clauses, fmt.Sprintf("accountEnabled eq %t", *f.Enabled))
	}
	if f.Synced != nil {
		if *f.Synced {
			clauses = append(clauses, "onPremisesSyncEnabled eq true")
		} else {
			// "not synced" includes null, which only ne matches, an advanced operator.
			clauses = append(clauses, "onPremisesSyncEnabled ne true")
			advanced = true
		}
	}
	if f.UPNStartsWith != "" {
		clauses = append(clauses, fmt.Sprintf("startswith(userPrincipalName,'%s')", quote(f.UPNStartsWith)))
	}
	if f.DisplayNameStartsWith != "" {
		clauses = append(clauses, fmt.Sprintf("startswith(displayName,'%s')", quote(f.DisplayNameStartsWith)))
	}
	if f.Search != "" {
		term := strings.TrimSpace(f.Search)
		if len(term) < 2 || strings.ContainsAny(term, `"\:`) {
			return "", "", false, inputError(`search must be at least 2 characters without quotes, backslashes or colons`)
		}
		search = fmt.Sprintf(`displayName:%s" OR "userPrincipalName:%s" OR "mail:%s`, term, term, term)
		advanced = true
	}
	if f.UserType != "" && f.UserType != "Member" && f.UserType != "Guest" {
		return "", "", false, inputError("user_type must be Member or Guest")
	}
	return strings.Join(clauses, " and "), search, advanced, nil
}

// quote escapes an OData string literal (” for ') and drops control characters.
func quote(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.ReplaceAll(s, "'", "''")
}
