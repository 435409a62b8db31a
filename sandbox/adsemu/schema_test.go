package adsemu

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
