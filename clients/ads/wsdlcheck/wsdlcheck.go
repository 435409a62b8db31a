// Package wsdlcheck validates Customer Management XML against the official WSDL's schemas
// (../shared/reference/ads/xsd/all.xsd) with xmllint, for tests of both the client and the
// emulator. Without xmllint the check is skipped locally and fails in CI (CI installs it).
package wsdlcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/beevik/etree"
)

// SchemaPath returns the path of all.xsd in ../shared beside the repository root.
func SchemaPath(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..") // clients/ads/wsdlcheck -> repo root
	p := filepath.Join(root, "..", "shared", "reference", "ads", "xsd", "all.xsd")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the WSDL schemas are not at %s: clone the repository beside ../shared", p)
	}
	return p
}

// Element validates one element (a SOAP body child, header element or fault detail) as a
// standalone document. Elements of the SOAP envelope namespace itself are not in the WSDL
// schemas and must not be passed.
func Element(t testing.TB, el *etree.Element) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint is required in CI (Debian package libxml2-utils)")
		}
		t.Skip("xmllint not installed (apt-get install libxml2-utils); schema check skipped")
	}
	doc := etree.NewDocument()
	doc.SetRoot(copyWithNamespaces(el))
	raw, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "element.xml")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", SchemaPath(t), f).CombinedOutput()
	if err != nil {
		t.Errorf("%s does not validate against the WSDL schema: %v\n%s\n%s", el.Tag, err, out, raw)
	}
}

// copyWithNamespaces copies el and declares on the copy every namespace prefix that el
// inherits from its ancestors, so it stands alone as a document.
func copyWithNamespaces(el *etree.Element) *etree.Element {
	c := el.Copy()
	declared := map[string]bool{}
	for _, a := range c.Attr {
		if a.Space == "xmlns" {
			declared[a.Key] = true
		} else if a.Space == "" && a.Key == "xmlns" {
			declared[""] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			switch {
			case a.Space == "xmlns" && !declared[a.Key]:
				c.CreateAttr("xmlns:"+a.Key, a.Value)
				declared[a.Key] = true
			case a.Space == "" && a.Key == "xmlns" && !declared[""]:
				c.CreateAttr("xmlns", a.Value)
				declared[""] = true
			}
		}
	}
	return c
}
