package wsdlcheck

import (
	"fmt"
	"testing"

	"github.com/beevik/etree"
)

// recorder captures failures so the test can prove the check fails on invalid XML.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

func TestElementAcceptsValidAndRejectsInvalid(t *testing.T) {
	tests := []struct {
		name  string
		xml   string
		valid bool
	}{
		{"valid request", `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>1</CustomerId><StatusFilter>Active</StatusFilter></GetUsersInfoRequest>`, true},
		{"wrong order", `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><StatusFilter>Active</StatusFilter><CustomerId>1</CustomerId></GetUsersInfoRequest>`, false},
		{"bad enum", `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>1</CustomerId><StatusFilter>Gone</StatusFilter></GetUsersInfoRequest>`, false},
		{"unknown operation", `<GetUserInvitationsRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := etree.NewDocument()
			if err := doc.ReadFromString(tt.xml); err != nil {
				t.Fatal(err)
			}
			r := &recorder{TB: t}
			Element(r, doc.Root())
			if got := len(r.failed) == 0; got != tt.valid {
				t.Errorf("valid = %v, want %v (%v)", got, tt.valid, r.failed)
			}
		})
	}
}
