package adsemu

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/msidm/msidm/sandbox/demo"
)

// The request envelopes of examples/ replayed verbatim (placeholders and ids swapped for
// the demo tenant's), with the response compared in shape to the matching example.
func TestExamplesReplay(t *testing.T) {
	h := newHarness(t)
	adele := h.adsUser(t, "adele.vance@contoso.example")
	cases := []struct {
		request, response string
		ids               map[string]string // example id -> demo id
	}{
		{"GetUser.request.xml", "GetUser.response.xml", map[string]string{"123456": strconv.FormatInt(adele.ID, 10)}},
		{"GetUser.request.self.xml", "GetUser.response.xml", nil},
		{"GetUsersInfo.request.xml", "GetUsersInfo.response.xml", map[string]string{"789456": strconv.FormatInt(demo.AdsCustomerID, 10)}},
		{"GetCurrentUser.request.xml", "GetCurrentUser.response.xml", nil},
		{"SendUserInvitation.request.xml", "SendUserInvitation.response.xml", map[string]string{"789456": cust, "180535609": acct1}},
		{"SearchUserInvitations.request.xml", "SearchUserInvitations.response.xml", map[string]string{"789456": cust}},
		{"UpdateUser.request.xml", "UpdateUser.response.xml", map[string]string{"123456": "1600002", "AAAAAKUiw9s=": h.withTimeStamps(t, "TS(1600002)")}},
		{"UpdateUserRoles.request.xml", "UpdateUserRoles.response.xml", map[string]string{"789456": cust, "123457": "1600004",
			"123": "180500002", "789": acct3, "456": acct1}},
		{"DeleteUser.request.xml", "DeleteUser.response.xml", map[string]string{"123457": "1600003", "AAAAAKUiw9s=": h.withTimeStamps(t, "TS(1600003)")}},
		{"GetCustomerPilotFeatures.request.xml", "GetCustomerPilotFeatures.response.xml", map[string]string{"789456": cust}},
		{"GetUserMFAStatus.request.xml", "GetUserMFAStatus.response.xml", nil},
		{"GetAccountsInfo.request.xml", "GetAccountsInfo.response.xml", map[string]string{"789456": cust}},
		{"GetCustomersInfo.request.xml", "GetCustomersInfo.response.xml", nil},
	}
	for _, tc := range cases {
		t.Run(tc.request, func(t *testing.T) {
			req := readRef(t, "examples/"+tc.request)
			req = strings.ReplaceAll(req, "OAUTH_ACCESS_TOKEN", h.tok)
			req = strings.ReplaceAll(req, "DEVELOPER_TOKEN", dev)
			for from, to := range tc.ids {
				if !strings.Contains(req, ">"+from+"<") {
					t.Fatalf("example no longer holds id %s", from)
				}
				req = strings.ReplaceAll(req, ">"+from+"<", ">"+to+"<")
			}
			op, _, _ := strings.Cut(tc.request, ".")
			r := h.post(t, `"`+op+`"`, req)
			if r.status != 200 {
				t.Fatalf("HTTP %d: %s", r.status, r.body)
			}
			compareShape(t, r.doc.Root(), refDoc(t, "examples/"+tc.response).Root())
		})
	}
}

// The faults match examples/Fault.*.xml in shape and, but for the tracking id, in text.
func TestExampleFaults(t *testing.T) {
	h := newHarness(t)
	expired := env(creds(h.mint(demo.AdsSignedInUPN, -time.Minute), dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`)
	r := h.post(t, "GetUser", expired)
	want := refDoc(t, "examples/Fault.AdApiFaultDetail.AuthenticationTokenExpired.xml")
	compareShape(t, r.doc.Root(), want.Root())
	wantText := strings.ReplaceAll(string(mustWrite(t, want)), "0b0f43fa-1b5f-4a14-9946-960d29c40966", r.header.Get("TrackingId"))
	if got := string(mustWrite(t, r.doc)); got != wantText {
		t.Errorf("109 fault differs from the example:\n got %s\nwant %s", got, wantText)
	}

	r = h.post(t, "GetUser", env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>42</UserId></GetUserRequest>`))
	compareShape(t, r.doc.Root(), refDoc(t, "examples/Fault.ApiFault.TimestampNotMatch.xml").Root())
}

// mustWrite re-serialises doc without insignificant white space, for text comparison.
func mustWrite(t *testing.T, doc *etree.Document) []byte {
	t.Helper()
	d := doc.Copy()
	d.Unindent()
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readRef(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(requireRef(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func refDoc(t testing.TB, rel string) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(readRef(t, rel)); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return doc
}

// compareShape checks that got has want's shape: at every element the same namespace,
// local name and prefix, the same namespace declarations and i:nil, and the same child
// sequence, where a run of repeated siblings (array items) counts once and every item is
// compared with the example's first. Text is a value and is not compared; nor is the content
// of an element that is i:nil on either side (a null member is a value too, e.g. the
// example's nil ContactInfo in GetCurrentUser).
func compareShape(t *testing.T, got, want *etree.Element) {
	t.Helper()
	var walk func(p string, g, w *etree.Element)
	walk = func(p string, g, w *etree.Element) {
		if g.Tag != w.Tag || g.NamespaceURI() != w.NamespaceURI() || g.Space != w.Space {
			t.Errorf("%s: got <%s> {%s}, want <%s> {%s}", p, g.FullTag(), g.NamespaceURI(), w.FullTag(), w.NamespaceURI())
			return
		}
		p += "/" + g.FullTag()
		if isNil(g) || isNil(w) {
			return
		}
		if gd, wd := nsDecls(g), nsDecls(w); !slices.Equal(gd, wd) {
			t.Errorf("%s: namespace declarations %v, want %v", p, gd, wd)
		}
		gr, wr := runs(g), runs(w)
		if len(gr) != len(wr) {
			t.Errorf("%s: children %v, want %v", p, runNames(gr), runNames(wr))
			return
		}
		for i := range gr {
			for _, item := range gr[i] {
				walk(p, item, wr[i][0])
			}
		}
	}
	walk("", got, want)
}

// nsDecls lists the xmlns attributes of el, sorted.
func nsDecls(el *etree.Element) []string {
	var out []string
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			out = append(out, a.FullKey()+"="+a.Value)
		}
	}
	slices.Sort(out)
	return out
}

// runs groups the child elements of el into runs of equal names.
func runs(el *etree.Element) [][]*etree.Element {
	var out [][]*etree.Element
	for _, c := range el.ChildElements() {
		if n := len(out); n > 0 && out[n-1][0].FullTag() == c.FullTag() {
			out[n-1] = append(out[n-1], c)
			continue
		}
		out = append(out, []*etree.Element{c})
	}
	return out
}

func runNames(rs [][]*etree.Element) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r[0].FullTag())
	}
	return out
}
