package adsemu

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/msidm/msidm/sandbox/demo"
)

// Every response body element, the TrackingId header and every fault detail validate
// against the WSDL's schemas (xsd/all.xsd, README.md "reference/ads").
func TestResponsesValidateAgainstWSDL(t *testing.T) {
	xsd := requireXSD(t)
	h := newHarness(t)
	diego := h.adsUser(t, "diego.siciliani@contoso.example")
	requests := map[string]string{
		"GetUser self": env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`),
		"GetUser account-level role": env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>`+
			strconv.FormatInt(diego.ID, 10)+`</UserId></GetUserRequest>`),
		"GetCurrentUser": env(creds(h.tok, dev), `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`),
		"GetUsersInfo": env(creds(h.tok, dev), `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>`+
			strconv.FormatInt(demo.AdsCustomerID, 10)+`</CustomerId></GetUsersInfoRequest>`),
		"GetUsersInfo empty": env(creds(h.tok, dev), `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>`+
			strconv.FormatInt(demo.AdsCustomerID, 10)+`</CustomerId><StatusFilter>Deleted</StatusFilter></GetUsersInfoRequest>`),
		"fault 116":  env(``, `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`),
		"fault 105":  env(creds("x", dev), `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`),
		"fault 109":  env(creds(h.mint(demo.AdsSignedInUPN, -time.Minute), dev), `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`),
		"fault 210":  env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>7</UserId></GetUserRequest>`),
		"fault 201":  env(creds(h.tok, dev), `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`),
		"fault 1001": env(creds(h.tok, dev), `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>1</CustomerId></GetUsersInfoRequest>`),
	}
	for name, req := range requests {
		t.Run(name, func(t *testing.T) {
			r := h.post(t, "-", req)
			var elems []*etree.Element
			if tid := path(r.doc.Root(), "Header", "TrackingId"); tid != nil {
				elems = append(elems, tid)
			}
			b := r.bodyChild(t)
			if b.Tag == "Fault" {
				elems = append(elems, path(b, "detail").ChildElements()...)
			} else {
				elems = append(elems, b)
			}
			if len(elems) < 2 && b.Tag != "Fault" {
				t.Fatal("response without TrackingId header")
			}
			for _, el := range elems {
				validateXSD(t, xsd, el)
			}
		})
	}
}

// requireXSD returns the schema wrapper, skipping when xmllint or the schemas are missing
// (failing under CI). Install xmllint with `apt-get install libxml2-utils`.
func requireXSD(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint not on PATH under CI (Debian package libxml2-utils)")
		}
		t.Skip("xmllint not on PATH (Debian package libxml2-utils)")
	}
	return requireRef(t, "xsd/all.xsd")
}

// validateXSD writes el as a document of its own, with every namespace declaration in
// scope copied onto it, and validates it with xmllint.
func validateXSD(t *testing.T, xsd string, el *etree.Element) {
	t.Helper()
	root := el.Copy()
	declared := map[string]bool{}
	for _, a := range root.Attr {
		declared[a.FullKey()] = true
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if k := a.FullKey(); (a.Space == "xmlns" || k == "xmlns") && !declared[k] {
				declared[k] = true
				root.CreateAttr(k, a.Value)
			}
		}
	}
	data, err := etree.NewDocumentWithRoot(root).WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), el.Tag+".xml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xmllint", "--noout", "--schema", xsd, file).CombinedOutput(); err != nil {
		t.Errorf("%s does not validate: %v\n%s\n%s", el.Tag, err, out, data)
	}
}

// Every operation's SOAP response, and every fault the operations and WriteFault produce,
// validates against the WSDL's schemas.
func TestAllOperationsValidateAgainstWSDL(t *testing.T) {
	xsd := requireXSD(t)
	h := newHarness(t)
	tok := h.mint(megan, time.Hour)
	std := h.mint(adele, time.Hour)
	cases := []struct{ name, as, op, xml string }{
		{"GetUser", "", "GetUser", `<UserId>1600003</UserId>`},
		{"GetCurrentUser", "", "GetCurrentUser", ``},
		{"GetUsersInfo", "", "GetUsersInfo", `<CustomerId>` + cust + `</CustomerId><StatusFilter>Active</StatusFilter>`},
		{"SendUserInvitation", "", "SendUserInvitation", inviteXML("a@contoso.example", "16", acct1)},
		{"SearchUserInvitations", "", "SearchUserInvitations", searchXML("CustomerId", "Equals", cust)},
		{"UpdateUser", "", "UpdateUser", updateXML("1600002", "A", "Lead", adele, "TS(1600002)")},
		{"GetUser after UpdateUser (address, booleans, enums)", "", "GetUser", `<UserId>1600002</UserId>`},
		{"UpdateUserRoles", "", "UpdateUserRoles", rolesXML("1600004", "16", acct3, "16", acct1)},
		{"DeleteUser", "", "DeleteUser", `<UserId>1600003</UserId><TimeStamp>TS(1600003)</TimeStamp>`},
		{"GetCustomerPilotFeatures", "", "GetCustomerPilotFeatures", `<CustomerId>` + cust + `</CustomerId>`},
		{"GetUserMFAStatus", "", "GetUserMFAStatus", ``},
		{"GetAccountsInfo", "", "GetAccountsInfo", `<CustomerId>` + cust + `</CustomerId><OnlyParentAccounts>true</OnlyParentAccounts>`},
		{"GetCustomersInfo", "", "GetCustomersInfo", `<CustomerNameFilter/><TopN>1</TopN>`},
		{"fault 209", "", "DeleteUser", `<UserId>1600005</UserId><TimeStamp>AAAAAKUiw9s=</TimeStamp>`},
		{"fault 3086", "", "SendUserInvitation", ``},
		{"fault 474", "", "SearchUserInvitations", `<Predicates/>`},
		{"fault 3030", "", "SearchUserInvitations", searchXML("Email", "Equals", "abcd")},
		{"fault 2108", "", "UpdateUserRoles", rolesXML("1600004", "16", "1", "", "")},
		{"fault 1001", "std", "DeleteUser", `<UserId>1600005</UserId><TimeStamp>TS(1600005)</TimeStamp>`},
		{"fault 201 with Details", "", "UpdateUser", updateXML("1600005", "P", "", "p@else.example", "TS(1600005)")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			caller := tok
			if tc.as == "std" {
				caller = std
			}
			body := `<` + tc.op + `Request xmlns="https://bingads.microsoft.com/Customer/v13" xmlns:a="https://bingads.microsoft.com/Customer/v13/Entities" xmlns:b="http://schemas.microsoft.com/2003/10/Serialization/Arrays">` +
				h.withTimeStamps(t, tc.xml) + `</` + tc.op + `Request>`
			r := h.post(t, tc.op, env(creds(caller, dev), body))
			validateReply(t, xsd, r, strings.HasPrefix(tc.name, "fault"))
		})
	}
	// Faults the fault layer injects through WriteFault.
	for _, code := range []int{117, 109, 105, 106, 116, 0, 209, 210, 1001, 4242} {
		t.Run("WriteFault "+strconv.Itoa(code), func(t *testing.T) {
			w := httptest.NewRecorder()
			h.srv.WriteFault(w, httptest.NewRequest(http.MethodPost, ServicePath, nil), code)
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(w.Body.Bytes()); err != nil {
				t.Fatal(err)
			}
			validateReply(t, xsd, reply{status: w.Code, header: w.Header(), body: w.Body.Bytes(), doc: doc}, true)
		})
	}
}

// validateReply validates the TrackingId header and the body element, or the fault detail.
func validateReply(t *testing.T, xsd string, r reply, wantFault bool) {
	t.Helper()
	b := r.bodyChild(t)
	if (b.Tag == "Fault") != wantFault {
		t.Fatalf("fault = %v, want %v: %s", b.Tag == "Fault", wantFault, r.body)
	}
	if wantFault {
		for _, el := range path(b, "detail").ChildElements() {
			validateXSD(t, xsd, el)
		}
		return
	}
	tid := path(r.doc.Root(), "Header", "TrackingId")
	if tid == nil {
		t.Fatal("response without TrackingId header")
	}
	validateXSD(t, xsd, tid)
	validateXSD(t, xsd, b)
}
