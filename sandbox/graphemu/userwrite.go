package graphemu

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
)

// maxBody bounds request bodies; Graph's own limit for a JSON request is 4 MB.
const maxBody = 4 << 20

// readObject reads the request body as one JSON object, keyed by property name. A gzipped
// body is accepted: the Graph Go SDK compresses request bodies by default (NOTES, top).
func readObject(x *exchange) (map[string]json.RawMessage, *graphError) {
	var r io.Reader = http.MaxBytesReader(x.w, x.r.Body, maxBody)
	if strings.EqualFold(x.r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, errBadJSON()
		}
		r = zr
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, errBadJSON()
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errBadJSON()
	}
	return obj, nil
}

// sortedKeys makes the order in which properties are checked, and so the error reported
// for a body with several problems, deterministic.
func sortedKeys(obj map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// setter writes one property of a user from its JSON value.
type setter func(s *Server, u *user, v json.RawMessage) *graphError

// writable lists the user properties POST and PATCH accept (NOTES §1.3, §1.4), keyed by
// lower-cased name. passwordProfile is handled apart because it is checked against the rest.
var writable = map[string]setter{
	"accountenabled":        boolProp("accountEnabled", func(u *user) *bool { return &u.accountEnabled }),
	"displayname":           strProp("displayName", func(u *user) *string { return &u.displayName }),
	"givenname":             strProp("givenName", func(u *user) *string { return &u.givenName }),
	"surname":               strProp("surname", func(u *user) *string { return &u.surname }),
	"jobtitle":              strProp("jobTitle", func(u *user) *string { return &u.jobTitle }),
	"department":            strProp("department", func(u *user) *string { return &u.department }),
	"officelocation":        strProp("officeLocation", func(u *user) *string { return &u.officeLocation }),
	"city":                  strProp("city", func(u *user) *string { return &u.city }),
	"country":               strProp("country", func(u *user) *string { return &u.country }),
	"usagelocation":         strProp("usageLocation", func(u *user) *string { return &u.usageLocation }),
	"mobilephone":           strProp("mobilePhone", func(u *user) *string { return &u.mobilePhone }),
	"preferredlanguage":     strProp("preferredLanguage", func(u *user) *string { return &u.preferredLanguage }),
	"employeeid":            strProp("employeeId", func(u *user) *string { return &u.employeeID }),
	"mail":                  strProp("mail", func(u *user) *string { return &u.mail }),
	"mailnickname":          strProp("mailNickname", func(u *user) *string { return &u.mailNickname }),
	"userprincipalname":     strProp("userPrincipalName", func(u *user) *string { return &u.userPrincipalName }),
	"usertype":              strProp("userType", func(u *user) *string { return &u.userType }),
	"onpremisesimmutableid": strProp("onPremisesImmutableId", func(u *user) *string { return &u.onPremisesImmutableID }),
	"businessphones":        strsProp("businessPhones", func(u *user) *[]string { return &u.businessPhones }),
	"othermails":            strsProp("otherMails", func(u *user) *[]string { return &u.otherMails }),
	"employeeleavedatetime": timeProp("employeeLeaveDateTime", func(u *user) *time.Time { return &u.employeeLeaveDateTime }),
}

func strProp(name string, field func(*user) *string) setter {
	return func(_ *Server, u *user, v json.RawMessage) *graphError {
		var p *string
		if json.Unmarshal(v, &p) != nil {
			return errInvalidValue(name)
		}
		*field(u) = ""
		if p != nil {
			*field(u) = *p
		}
		return nil
	}
}

func strsProp(name string, field func(*user) *[]string) setter {
	return func(_ *Server, u *user, v json.RawMessage) *graphError {
		var p []string
		if json.Unmarshal(v, &p) != nil {
			return errInvalidValue(name)
		}
		*field(u) = p
		return nil
	}
}

func boolProp(name string, field func(*user) *bool) setter {
	return func(_ *Server, u *user, v json.RawMessage) *graphError {
		var p bool
		if string(v) == "null" || json.Unmarshal(v, &p) != nil {
			return errInvalidValue(name)
		}
		*field(u) = p
		return nil
	}
}

func timeProp(name string, field func(*user) *time.Time) setter {
	return func(_ *Server, u *user, v json.RawMessage) *graphError {
		var p *string
		if json.Unmarshal(v, &p) != nil {
			return errInvalidValue(name)
		}
		if p == nil {
			*field(u) = time.Time{}
			return nil
		}
		t, err := time.Parse(time.RFC3339, *p)
		if err != nil {
			return errInvalidValue(name)
		}
		*field(u) = t.UTC()
		return nil
	}
}

// passwordProfile is the write-only complex property of NOTES §1.3.
type passwordProfile struct {
	Password                             *string `json:"password"`
	ForceChangePasswordNextSignIn        *bool   `json:"forceChangePasswordNextSignIn"`
	ForceChangePasswordNextSignInWithMfa *bool   `json:"forceChangePasswordNextSignInWithMfa"`
}

// applyBody applies every property of obj to u (a private copy). It reports the password
// when one was given, so the caller can check it against the finished user.
func (s *Server) applyBody(u *user, obj map[string]json.RawMessage) (password *string, gerr *graphError) {
	for _, k := range sortedKeys(obj) {
		lk := strings.ToLower(k)
		switch set, ok := writable[lk]; {
		case strings.HasPrefix(k, "@"):
			continue // @odata.type and other annotations
		case ok:
			if gerr := set(s, u, obj[k]); gerr != nil {
				return nil, gerr
			}
		case lk == "passwordprofile":
			if password, gerr = decodePasswordProfile(obj[k]); gerr != nil {
				return nil, gerr
			}
		case s.users.byName[lk] != nil:
			// A property the emulator shows but does not model as writable.
			return nil, errNotImplemented()
		default:
			return nil, newError(http.StatusBadRequest, "BadRequest", "The property '"+k+
				"' does not exist on type 'microsoft.graph.user'. Make sure to only use property names that are defined by the type.")
		}
	}
	return password, nil
}

func decodePasswordProfile(v json.RawMessage) (*string, *graphError) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	var pp *passwordProfile
	if err := dec.Decode(&pp); err != nil {
		return nil, errInvalidValue("passwordProfile")
	}
	if pp == nil || pp.Password == nil {
		return nil, errBadRequest("A password must be specified to create a new user.")
	}
	return pp.Password, nil
}

// validate checks the finished user: the rules of NOTES §1.3 and §1.4 that do not depend on
// other users.
func (s *Server) validate(u *user, password *string) *graphError {
	if strings.TrimSpace(u.displayName) == "" {
		return errInvalidValue("displayName") // "cannot be cleared during updates" (§1.4)
	}
	if u.mailNickname == "" || strings.ContainsAny(u.mailNickname, " @\"\\()<>,;:[]") {
		return errInvalidValue("mailNickname")
	}
	if gerr := s.checkUPN(u.userPrincipalName); gerr != nil {
		return gerr
	}
	if u.usageLocation != "" && !isCountryCode(u.usageLocation) {
		return errInvalidValue("usageLocation") // ISO 3166 two-letter code (§1.4)
	}
	if u.userType != "Member" && u.userType != "Guest" {
		return errInvalidValue("userType")
	}
	if password != nil && !complexEnough(*password, u) {
		// samples/error-password-complexity.OBSERVED.json
		return errBadRequest("The specified password does not comply with password complexity requirements. Please provide a different password.")
	}
	return nil
}

// checkUPN applies the UPN rules of NOTES §1.3: allowed characters, and a verified domain.
func (s *Server) checkUPN(upn string) *graphError {
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || local == "" || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || len(local) > 113 {
		return errInvalidValue("userPrincipalName")
	}
	for _, c := range local {
		if !(c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("'.-_!#^~", c))) {
			return errInvalidValue("userPrincipalName")
		}
	}
	if !slices.Contains(s.domains, strings.ToLower(domain)) {
		return errBadRequest("The domain portion of the userPrincipalName property is invalid. " +
			"You must use one of the verified domain names in your organization.")
	}
	return nil
}

// complexEnough applies the cloud password policy [pwpolicy]: 8–256 ASCII characters from at
// least three of upper, lower, digit and symbol, not containing the user name or the word
// "password" (a stand-in for the banned-password list).
func complexEnough(pw string, u *user) bool {
	if len(pw) < 8 || len(pw) > 256 {
		return false
	}
	var upper, lower, digit, symbol int
	for _, c := range pw {
		switch {
		case c > unicode.MaxASCII:
			return false
		case unicode.IsUpper(c):
			upper = 1
		case unicode.IsLower(c):
			lower = 1
		case unicode.IsDigit(c):
			digit = 1
		default:
			symbol = 1
		}
	}
	lp := strings.ToLower(pw)
	if nick := strings.ToLower(u.mailNickname); len(nick) >= 3 && strings.Contains(lp, nick) {
		return false
	}
	return upper+lower+digit+symbol >= 3 && !strings.Contains(lp, "password")
}

func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// required are the properties POST /users must carry (NOTES §1.3), besides passwordProfile.
var required = []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName"}

// createUser serves POST /v1.0/users → 201 with the new user (samples/user-create-*.json).
func (s *Server) createUser(x *exchange) *graphError {
	obj, gerr := readObject(x)
	if gerr != nil {
		return gerr
	}
	for _, name := range required {
		if !hasKey(obj, name) {
			return errInvalidValue(name)
		}
	}
	if !hasKey(obj, "passwordProfile") {
		return errBadRequest("A password must be specified to create a new user.")
	}
	now := s.now().UTC().Truncate(time.Second)
	u := &user{id: newObjectID(), userType: "Member", createdDateTime: now, lastPasswordChange: now, issuer: s.domains[0]}
	password, gerr := s.applyBody(u, obj)
	if gerr != nil {
		return gerr
	}
	if gerr := s.validate(u, password); gerr != nil {
		return gerr
	}
	if u.mail == "" {
		// The documented response carries mail = UPN (samples/user-create-response.json).
		u.mail = u.userPrincipalName
	}
	u.proxyAddresses = []string{"SMTP:" + u.mail}
	s.dir.mu.Lock()
	if s.dir.byUPN[strings.ToLower(u.userPrincipalName)] != nil {
		s.dir.mu.Unlock()
		return errConflict("userPrincipalName")
	}
	s.dir.insert(u)
	s.dir.logChange(u.id, objectUser, kindUpsert, now)
	s.dir.mu.Unlock()
	s.created(x, s.userEntity(x, u, s.users.defaults))
	return nil
}

func hasKey(obj map[string]json.RawMessage, name string) bool {
	for k := range obj {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// patchUser serves PATCH /v1.0/users/{id|upn} → 204 (NOTES §1.4). Synced users accept the
// edit, and a simulated sync cycle reverts AD-mastered attributes later (sync.go); their
// password is refused, as the service refuses it without password writeback.
func (s *Server) patchUser(x *exchange, key string) *graphError {
	obj, gerr := readObject(x)
	if gerr != nil {
		return gerr
	}
	now := s.now().UTC()
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	cur := s.dir.lookup(key)
	if cur == nil {
		return userNotFound(key)
	}
	u := *cur
	password, gerr := s.applyBody(&u, obj)
	if gerr != nil {
		return gerr
	}
	if password != nil && u.onPremisesSyncEnabled {
		return errBadRequest("Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")
	}
	if gerr := s.validate(&u, password); gerr != nil {
		return gerr
	}
	if other := s.dir.byUPN[strings.ToLower(u.userPrincipalName)]; other != nil && other != cur {
		return errConflict("userPrincipalName")
	}
	if password != nil {
		u.lastPasswordChange = now.Truncate(time.Second)
	}
	s.scheduleRevert(&u, now)
	s.dir.insert(&u)
	s.dir.logChange(u.id, objectUser, kindUpsert, now)
	s.noContent(x)
	return nil
}

// deleteUser serves DELETE /v1.0/users/{id|upn} → 204: the user moves to deleted items for 30
// days (NOTES §1.5). Licences are released while deleted; group memberships are kept for a
// restore.
func (s *Server) deleteUser(x *exchange, key string) *graphError {
	now := s.now().UTC()
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	cur := s.dir.lookup(key)
	if cur == nil {
		return userNotFound(key)
	}
	s.dir.remove(cur.id)
	u := *cur
	u.deleted, u.deletedDateTime, u.revertDue = true, now.Truncate(time.Second), time.Time{}
	id := strings.ToLower(u.id)
	delete(s.dir.pendingRevert, id)
	s.dir.deleted[id] = &u
	s.dir.deletedOrder = sortedInsert(s.dir.deletedOrder, id)
	s.dir.schedule(u.deletedDateTime.Add(retention))
	s.dir.logChange(u.id, objectUser, kindSoftDeleted, now)
	s.noContent(x)
	return nil
}

// userNotFound is the 404 of NOTES §1.2: by id it quotes the id, by UPN the path.
func userNotFound(key string) *graphError {
	if isGUID(key) {
		return errNotFound(key)
	}
	return errNotFound("/users/" + key)
}
