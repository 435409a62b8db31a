package examples

import (
	"testing"

	"github.com/msidm/msidm/policy/rules"
)

func TestExamplePolicyIsValid(t *testing.T) {
	p, err := rules.Parse(Policy, PolicyName)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Protected.UPNGlobs) == 0 || p.AllowAdsSuperAdmin {
		t.Errorf("the example must protect break-glass accounts and refuse Super Admin grants: %+v", p)
	}
}
