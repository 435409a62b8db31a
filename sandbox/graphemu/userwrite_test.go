package graphemu

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newUserBody(upn string) map[string]any {
	return map[string]any{
		"accountEnabled":    true,
		"displayName":       "Rene Magritte",
		"mailNickname":      "rene.magritte",
		"userPrincipalName": upn,
		"passwordProfile":   map[string]any{"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"},
	}
}

func TestCreateUser(t *testing.T) {
	f := newWriteFixture(t)
	r := f.send(http.MethodPost, "/v1.0/users", newUserBody("rene.magritte@contoso.example"))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	t.Run("contract", func(t *testing.T) {
		want := sample(t, "user-create-response.json")
		compareShape(t, "$", r.body, want)
		if r.body["@odata.context"] != f.base+"/v1.0/$metadata#users/$entity" || r.body["mail"] != "rene.magritte@contoso.example" {
			t.Errorf("body = %v", r.body)
		}
	})
	id := r.body["id"].(string)
	got := f.send(http.MethodGet, "/v1.0/users/"+id+"?$select=accountEnabled,createdDateTime,usageLocation,userType", nil)
	if got.body["createdDateTime"] != "2026-11-23T12:00:00Z" || got.body["userType"] != "Member" || got.body["usageLocation"] != nil {
		t.Errorf("stored user = %v", got.body)
	}
	if r := f.send(http.MethodPost, "/v1.0/users", newUserBody("rene.magritte@contoso.onmicrosoft.example")); r.status != 201 {
		t.Errorf("second verified domain: %d %s", r.status, r.raw)
	}

	with := func(k string, v any) map[string]any {
		b := newUserBody("new.person@contoso.example")
		b[k] = v
		return b
	}
	without := func(k string) map[string]any { b := newUserBody("new.person@contoso.example"); delete(b, k); return b }
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    string
	}{
		{"duplicate upn", newUserBody("RENE.MAGRITTE@contoso.example"), 400, "Request_BadRequest",
			"Another object with the same value for property userPrincipalName already exists."},
		{"weak password", with("passwordProfile", map[string]any{"password": "abcdefgh"}), 400, "Request_BadRequest",
			"The specified password does not comply with password complexity requirements. Please provide a different password."},
		{"short password", with("passwordProfile", map[string]any{"password": "Ab1!"}), 400, "Request_BadRequest", ""},
		{"password with user name", with("passwordProfile", map[string]any{"password": "Rene.Magritte!9"}), 400, "Request_BadRequest", ""},
		{"no password", with("passwordProfile", map[string]any{}), 400, "Request_BadRequest", "A password must be specified to create a new user."},
		{"no passwordProfile", without("passwordProfile"), 400, "Request_BadRequest", "A password must be specified to create a new user."},
		{"no displayName", without("displayName"), 400, "Request_BadRequest", "Invalid value specified for property 'displayName' of resource 'User'."},
		{"no mailNickname", without("mailNickname"), 400, "Request_BadRequest", ""},
		{"no accountEnabled", without("accountEnabled"), 400, "Request_BadRequest", ""},
		{"no upn", without("userPrincipalName"), 400, "Request_BadRequest", ""},
		{"unverified domain", newUserBody("x@fabrikam.example"), 400, "Request_BadRequest",
			"The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization."},
		{"bad upn characters", newUserBody("new person@contoso.example"), 400, "Request_BadRequest",
			"Invalid value specified for property 'userPrincipalName' of resource 'User'."},
		{"bad usageLocation", with("usageLocation", "USA"), 400, "Request_BadRequest", ""},
		{"wrong type", with("accountEnabled", "yes"), 400, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'."},
		{"unknown property", with("shoeSize", 42), 400, "BadRequest",
			"The property 'shoeSize' does not exist on type 'microsoft.graph.user'. Make sure to only use property names that are defined by the type."},
		{"not JSON", "{", 400, "BadRequest", ""},
		{"JSON array", "[]", 400, "BadRequest", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, f.send(http.MethodPost, "/v1.0/users", tc.body), tc.status, tc.code, tc.msg)
		})
	}
	t.Run("conflict contract", func(t *testing.T) {
		r := f.send(http.MethodPost, "/v1.0/users", newUserBody("rene.magritte@contoso.example"))
		want := sample(t, "error-objectconflict.OBSERVED.json")
		compareShape(t, "$", r.body, want)
		d := r.body["error"].(map[string]any)["details"].([]any)[0].(map[string]any)
		if d["code"] != "ObjectConflict" || d["target"] != "userPrincipalName" {
			t.Errorf("details = %v", d)
		}
	})
	t.Run("password contract", func(t *testing.T) {
		errorShape(t, f.send(http.MethodPost, "/v1.0/users", with("passwordProfile", map[string]any{"password": "aaaaaaaa"})),
			"error-password-complexity.OBSERVED.json")
	})
}

func TestCreateUserGzip(t *testing.T) {
	// The Graph Go SDK compresses request bodies by default (NOTES, top).
	f := newWriteFixture(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"accountEnabled":true,"displayName":"Zed","mailNickname":"zed","userPrincipalName":"zed@contoso.example",` +
		`"passwordProfile":{"password":"Correct-Horse-9"}}`))
	_ = zw.Close()
	r := f.send(http.MethodPost, "/v1.0/users", buf.String(), "Content-Encoding", "gzip")
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

func TestPatchUser(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance")
	patch := func(body any) reply { return f.send(http.MethodPatch, "/v1.0/users/"+adele.ID, body) }
	r := patch(map[string]any{
		"accountEnabled": false, "employeeLeaveDateTime": "2026-12-31T17:00:00Z", "usageLocation": "FR",
		"department": "Brand", "jobTitle": "Lead", "givenName": "Adèle", "surname": "V", "mobilePhone": nil,
		"businessPhones": []string{"+33 1 00 00 00 00"}, "otherMails": []string{"adele@perso.example"}, "@odata.type": "#microsoft.graph.user",
	})
	if r.status != http.StatusNoContent || len(r.raw) != 0 || r.header.Get("request-id") == "" {
		t.Fatalf("patch: %d %q", r.status, r.raw)
	}
	g := f.send(http.MethodGet, "/v1.0/users/"+adele.UserPrincipalName+
		"?$select=accountEnabled,employeeLeaveDateTime,usageLocation,department,jobTitle,givenName,mobilePhone,businessPhones,otherMails", nil)
	want := map[string]any{"accountEnabled": false, "employeeLeaveDateTime": "2026-12-31T17:00:00Z", "usageLocation": "FR",
		"department": "Brand", "jobTitle": "Lead", "givenName": "Adèle", "mobilePhone": nil}
	for k, v := range want {
		if g.body[k] != v {
			t.Errorf("%s = %v, want %v", k, g.body[k], v)
		}
	}
	if g.body["otherMails"].([]any)[0] != "adele@perso.example" || g.body["businessPhones"].([]any)[0] != "+33 1 00 00 00 00" {
		t.Errorf("collections = %v %v", g.body["otherMails"], g.body["businessPhones"])
	}
	// Rename the UPN, then address the user by the new one.
	if r := patch(map[string]any{"userPrincipalName": "adele.v@contoso.example"}); r.status != 204 {
		t.Fatalf("rename: %d %s", r.status, r.raw)
	}
	if r := f.send(http.MethodGet, "/v1.0/users/adele.v@contoso.example", nil); r.status != 200 {
		t.Errorf("new UPN: %d", r.status)
	}
	megan := person(t, f.tenant, "Megan Bowen")
	tests := []struct {
		name, path string
		body       any
		status     int
		code, msg  string
	}{
		{"clear displayName", adele.ID, map[string]any{"displayName": ""}, 400, "Request_BadRequest",
			"Invalid value specified for property 'displayName' of resource 'User'."},
		{"null displayName", adele.ID, map[string]any{"displayName": nil}, 400, "Request_BadRequest", ""},
		{"usageLocation not ISO", adele.ID, map[string]any{"usageLocation": "fr"}, 400, "Request_BadRequest", ""},
		{"bad date", adele.ID, map[string]any{"employeeLeaveDateTime": "tomorrow"}, 400, "Request_BadRequest", ""},
		{"read-only", adele.ID, map[string]any{"createdDateTime": "2020-01-01T00:00:00Z"}, 501, "NotImplemented", ""},
		{"upn taken", adele.ID, map[string]any{"userPrincipalName": megan.UserPrincipalName}, 400, "Request_BadRequest",
			"Another object with the same value for property userPrincipalName already exists."},
		{"weak password", adele.ID, map[string]any{"passwordProfile": map[string]any{"password": "weak"}}, 400, "Request_BadRequest", ""},
		{"unknown user", "73f6134c-e647-4ab1-8ccb-287be982da02", map[string]any{"jobTitle": "x"}, 404, "Request_ResourceNotFound", ""},
		{"unknown upn", "nobody@contoso.example", map[string]any{"jobTitle": "x"}, 404, "Request_ResourceNotFound",
			"Resource '/users/nobody@contoso.example' does not exist or one of its queried reference-property objects are not present."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, f.send(http.MethodPatch, "/v1.0/users/"+tc.path, tc.body), tc.status, tc.code, tc.msg)
		})
	}
	if r := patch(map[string]any{"passwordProfile": map[string]any{"password": "N3w-Secret!x"}}); r.status != 204 {
		t.Errorf("password reset: %d %s", r.status, r.raw)
	}
}

// TestSyncRevert: a cloud edit of a synced user's AD-mastered attributes is reverted by the
// simulated sync cycle after the delay; cloud-mastered attributes stay.
func TestSyncRevert(t *testing.T) {
	f := newWriteFixture(t)
	lidia := person(t, f.tenant, "Lidia Holloway") // synced
	sel := "/v1.0/users/" + lidia.ID + "?$select=accountEnabled,jobTitle,usageLocation,employeeLeaveDateTime"
	r := f.send(http.MethodPatch, "/v1.0/users/"+lidia.ID, map[string]any{
		"accountEnabled": false, "jobTitle": "Gone", "usageLocation": "IE", "employeeLeaveDateTime": "2026-12-01T00:00:00Z"})
	if r.status != 204 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if g := f.send(http.MethodGet, sel, nil); g.body["accountEnabled"] != false || g.body["jobTitle"] != "Gone" {
		t.Fatalf("before the cycle: %v", g.body)
	}
	f.clock.advance(defaultSyncDelay - time.Millisecond)
	if g := f.send(http.MethodGet, sel, nil); g.body["accountEnabled"] != false {
		t.Fatalf("reverted too early: %v", g.body)
	}
	before := len(f.srv.changeLog())
	f.clock.advance(time.Millisecond)
	g := f.send(http.MethodGet, sel, nil)
	if g.body["accountEnabled"] != true || g.body["jobTitle"] != lidia.JobTitle {
		t.Errorf("AD-mastered attributes not reverted: %v", g.body)
	}
	if g.body["usageLocation"] != "IE" || g.body["employeeLeaveDateTime"] != "2026-12-01T00:00:00Z" {
		t.Errorf("cloud-mastered attributes lost: %v", g.body)
	}
	if log := f.srv.changeLog(); len(log) != before+1 || log[len(log)-1].objectID != lidia.ID {
		t.Errorf("revert not logged once: %v", log[before:])
	}
	// Passwords of synced users are refused (no password writeback).
	checkError(t, f.send(http.MethodPatch, "/v1.0/users/"+lidia.ID, map[string]any{"passwordProfile": map[string]any{"password": "N3w-Secret!x"}}),
		400, "Request_BadRequest", "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")

	t.Run("delay 0 reverts on next request", func(t *testing.T) {
		f.srv.SetSyncDelay(0)
		f.send(http.MethodPatch, "/v1.0/users/"+lidia.ID, map[string]any{"department": "Elsewhere"})
		if g := f.send(http.MethodGet, "/v1.0/users/"+lidia.ID+"?$select=department", nil); g.body["department"] != lidia.Department {
			t.Errorf("department = %v", g.body["department"])
		}
	})
	t.Run("cloud-only users keep edits", func(t *testing.T) {
		adele := person(t, f.tenant, "Adele Vance")
		f.send(http.MethodPatch, "/v1.0/users/"+adele.ID, map[string]any{"department": "Elsewhere"})
		f.clock.advance(time.Hour)
		if g := f.send(http.MethodGet, "/v1.0/users/"+adele.ID+"?$select=department", nil); g.body["department"] != "Elsewhere" {
			t.Errorf("department = %v", g.body["department"])
		}
	})
}

func TestDeleteRestorePurge(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance")
	greta := person(t, f.tenant, "Greta Holm") // seeded 3 days deleted
	wendy := person(t, f.tenant, "Wendy Cho")  // seeded 27 days deleted
	list := func() reply {
		return f.send(http.MethodGet, "/v1.0/directory/deletedItems/microsoft.graph.user?$select=id,displayName,deletedDateTime", nil)
	}
	r := list()
	if got := displayNames(r); strings.Join(got, ",") != "Greta Holm,Wendy Cho" {
		t.Fatalf("seeded deleted items = %v", got)
	}
	want := sample(t, "deleteditems-list-count.json")
	delete(want, "@odata.count")
	compareShape(t, "$", r.body, want)

	if r := f.send(http.MethodDelete, "/v1.0/users/"+adele.UserPrincipalName, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	checkError(t, f.send(http.MethodGet, "/v1.0/users/"+adele.ID, nil), 404, "Request_ResourceNotFound", "")
	checkError(t, f.send(http.MethodDelete, "/v1.0/users/"+adele.ID, nil), 404, "Request_ResourceNotFound", "")
	r = f.send(http.MethodGet, "/v1.0/directory/deleteditems/microsoft.graph.user?$count=true", nil, "ConsistencyLevel", "eventual")
	if r.body["@odata.count"] != 3.0 || r.body["@odata.context"] != f.base+"/v1.0/$metadata#users" {
		t.Errorf("after delete: %v", r.body)
	}
	g := f.send(http.MethodGet, "/v1.0/directory/deletedItems/"+adele.ID+"?$select=id,deletedDateTime", nil)
	if g.body["@odata.type"] != "#microsoft.graph.user" || g.body["deletedDateTime"] != "2026-11-23T12:00:00Z" {
		t.Errorf("deleted item = %v", g.body)
	}

	// Restore answers the object with its type (samples/deleteditems-restore-response.json).
	r = f.send(http.MethodPost, "/v1.0/directory/deletedItems/"+adele.ID+"/restore", nil)
	if r.status != 200 || r.body["@odata.type"] != "#microsoft.graph.user" ||
		r.body["@odata.context"] != f.base+"/v1.0/$metadata#directoryObjects/$entity" || r.body["id"] != adele.ID {
		t.Fatalf("restore: %d %s", r.status, r.raw)
	}
	if r := f.send(http.MethodGet, "/v1.0/users/"+adele.ID+"?$select=deletedDateTime", nil); r.status != 200 || r.body["deletedDateTime"] != nil {
		t.Errorf("restored user: %d %v", r.status, r.body)
	}
	checkError(t, f.send(http.MethodPost, "/v1.0/directory/deletedItems/"+adele.ID+"/restore", nil), 404, "Request_ResourceNotFound", "")

	// A restore fails when the UPN was reused meanwhile.
	body := newUserBody(greta.UserPrincipalName)
	if r := f.send(http.MethodPost, "/v1.0/users", body); r.status != 201 {
		t.Fatalf("reuse UPN: %d %s", r.status, r.raw)
	}
	checkError(t, f.send(http.MethodPost, "/v1.0/directory/deletedItems/"+greta.ID+"/restore", nil), 400, "Request_BadRequest", "")

	// Permanent delete.
	if r := f.send(http.MethodDelete, "/v1.0/directory/deletedItems/"+greta.ID, nil); r.status != 204 {
		t.Fatalf("permanent delete: %d %s", r.status, r.raw)
	}
	checkError(t, f.send(http.MethodDelete, "/v1.0/directory/deletedItems/"+greta.ID, nil), 404, "Request_ResourceNotFound", "")
	checkError(t, f.send(http.MethodDelete, "/v1.0/directory/deletedItems/"+adele.ID, nil), 404, "Request_ResourceNotFound", "")

	// Retention: Wendy was deleted 27 days ago; after 3 more days she is gone for good.
	f.clock.advance(3*24*time.Hour - time.Second)
	if got := displayNames(list()); strings.Join(got, ",") != "Wendy Cho" {
		t.Fatalf("before expiry: %v", got)
	}
	f.clock.advance(time.Second)
	if got := displayNames(list()); len(got) != 0 {
		t.Errorf("after expiry: %v", got)
	}
	checkError(t, f.send(http.MethodPost, "/v1.0/directory/deletedItems/"+wendy.ID+"/restore", nil), 404, "Request_ResourceNotFound", "")
	// The purge logs the user as deleted, then the group that lost her as changed.
	log := f.srv.changeLog()
	tail := log[len(log)-2:]
	marketing := groupNamed(t, f.tenant, "Marketing Department")
	if tail[0].objectID != wendy.ID || tail[0].kind != kindDeleted || !tail[0].at.Equal(f.clock.now()) ||
		tail[1].objectID != marketing.ID || tail[1].kind != kindUpsert {
		t.Errorf("purge entries = %+v", tail)
	}
}

func TestRevokeSignInSessions(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance")
	if at, ok := f.srv.SignInSessionsValidFrom(adele.ID); !ok || !at.IsZero() {
		t.Fatalf("before: %v %v", at, ok)
	}
	r := f.send(http.MethodPost, "/v1.0/users/"+adele.UserPrincipalName+"/revokeSignInSessions", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	compareShape(t, "$", r.body, sample(t, "revoke-signin-sessions-response.json"))
	if r.body["value"] != true {
		t.Errorf("value = %v", r.body["value"])
	}
	if at, _ := f.srv.SignInSessionsValidFrom(adele.ID); !at.Equal(f.clock.now()) {
		t.Errorf("validFrom = %v, want %v", at, f.clock.now())
	}
	g := f.send(http.MethodGet, "/v1.0/users/"+adele.ID+"?$select=signInSessionsValidFromDateTime", nil)
	if g.body["signInSessionsValidFromDateTime"] != "2026-11-23T12:00:00Z" {
		t.Errorf("property = %v", g.body)
	}
	checkError(t, f.send(http.MethodPost, "/v1.0/users/nobody@contoso.example/revokeSignInSessions", nil), 404, "Request_ResourceNotFound", "")
	// A token with only the narrow permission may revoke but not edit.
	f.token = f.mint("User.RevokeSessions.All")
	if r := f.send(http.MethodPost, "/v1.0/users/"+adele.ID+"/revokeSignInSessions", nil); r.status != 200 {
		t.Errorf("narrow permission: %d", r.status)
	}
	checkError(t, f.send(http.MethodPatch, "/v1.0/users/"+adele.ID, map[string]any{"jobTitle": "x"}), 403, "Authorization_RequestDenied", "")
}

// TestWritePermissions: every write needs a write permission (error-403-authorization-requestdenied.json).
func TestWritePermissions(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance")
	greta := person(t, f.tenant, "Greta Holm")
	marketing := groupNamed(t, f.tenant, "Marketing Department")
	ref := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + adele.ID}
	writes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1.0/users", newUserBody("a.b@contoso.example")},
		{"PATCH", "/v1.0/users/" + adele.ID, map[string]any{"jobTitle": "x"}},
		{"DELETE", "/v1.0/users/" + adele.ID, nil},
		{"POST", "/v1.0/users/" + adele.ID + "/revokeSignInSessions", nil},
		{"POST", "/v1.0/users/" + adele.ID + "/assignLicense", map[string]any{"addLicenses": []any{}, "removeLicenses": []any{}}},
		{"PUT", "/v1.0/users/" + adele.ID + "/manager/$ref", ref},
		{"DELETE", "/v1.0/users/" + adele.ID + "/manager/$ref", nil},
		{"POST", "/v1.0/groups/" + marketing.ID + "/members/$ref", ref},
		{"DELETE", "/v1.0/groups/" + marketing.ID + "/members/" + adele.ID + "/$ref", nil},
		{"POST", "/v1.0/directory/deletedItems/" + greta.ID + "/restore", nil},
		{"DELETE", "/v1.0/directory/deletedItems/" + greta.ID, nil},
	}
	f.token = f.mint("User.Read.All", "Group.Read.All")
	for _, w := range writes {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			r := f.send(w.method, w.path, w.body)
			checkError(t, r, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			compareShape(t, "$", r.body, sample(t, "error-403-authorization-requestdenied.json"))
		})
	}
	// Group.ReadWrite.All alone may change memberships but not users.
	f.token = f.mint("Group.ReadWrite.All")
	checkError(t, f.send("PATCH", "/v1.0/users/"+adele.ID, map[string]any{"jobTitle": "x"}), 403, "Authorization_RequestDenied", "")
	if r := f.send("DELETE", "/v1.0/groups/"+marketing.ID+"/members/"+adele.ID+"/$ref", nil); r.status != 204 {
		t.Errorf("group write with Group.ReadWrite.All: %d %s", r.status, r.raw)
	}
	// Delegated scopes count too.
	f.token = f.signer.Mint(tokenClaimsScope(f.tenant.ID, "User.ReadWrite.All openid"), time.Hour)
	if r := f.send("PATCH", "/v1.0/users/"+adele.ID, map[string]any{"jobTitle": "x"}); r.status != 204 {
		t.Errorf("delegated scope: %d %s", r.status, r.raw)
	}
}
