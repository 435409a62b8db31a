package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestGateCheck(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		effect   Effect
		wantDeny string
		visible  bool
	}{
		{"read allowed", Config{}, Read, "", true},
		{"write allowed", Config{}, Write, "", true},
		{"destructive allowed by gate", Config{}, Destructive, "", true},
		{"read-only keeps reads", Config{ReadOnly: true}, Read, "", true},
		{"read-only refuses writes", Config{ReadOnly: true}, Write, "read-only mode", false},
		{"read-only refuses destructive", Config{ReadOnly: true}, Destructive, "read-only mode", false},
		{"undeclared effect refused", Config{}, Effect(0), "declares no effect", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate(tt.cfg)
			err := g.Check(context.Background(), Call{Tool: "x", Effect: tt.effect})
			if tt.wantDeny == "" {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
			} else {
				var d *Denied
				if !errors.As(err, &d) || !strings.Contains(err.Error(), tt.wantDeny) {
					t.Fatalf("want denial containing %q, got %v", tt.wantDeny, err)
				}
			}
			if tt.effect != 0 && g.Visible(tt.effect) != tt.visible {
				t.Errorf("Visible(%v) = %v, want %v", tt.effect, !tt.visible, tt.visible)
			}
		})
	}
}

func TestEffectString(t *testing.T) {
	for e, want := range map[Effect]string{Read: "read", Write: "write", Destructive: "destructive", 9: "Effect(9)"} {
		if e.String() != want {
			t.Errorf("%d: got %q want %q", int(e), e.String(), want)
		}
	}
}

func TestConfirmFailsClosedWithoutAMechanism(t *testing.T) {
	plan := Plan{Tool: "disable_entra_user", Effect: Destructive, Summary: "Disable sign-in for a@contoso.example",
		Target: "a@contoso.example", Steps: []Step{{System: "entra", Action: "block sign-in", Target: "a@contoso.example", Reversible: true, Undo: "enable_entra_user"}}}
	tests := []struct {
		name    string
		cfg     Config
		plan    Plan
		proceed bool
		want    string
	}{
		{"destructive without confirmer", Config{}, plan, false, "needs a human's confirmation"},
		{"dry run never proceeds", Config{}, func() Plan { p := plan; p.DryRun = true; return p }(), false, ""},
		{"write proceeds by default", Config{}, func() Plan { p := plan; p.Effect = Write; return p }(), true, ""},
		{"write with ConfirmWrites fails closed", Config{ConfirmWrites: true}, func() Plan { p := plan; p.Effect = Write; return p }(), false, "confirmation"},
		{"read-only refuses", Config{ReadOnly: true}, plan, false, "read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewGate(tt.cfg).Confirm(context.Background(), nil, tt.plan)
			if err != nil || c.Proceed != tt.proceed {
				t.Fatalf("proceed %v err %v", c.Proceed, err)
			}
			if tt.want != "" {
				if c.Result == nil || !c.Result.IsError || !strings.Contains(fmt.Sprint(c.Result.Content), tt.want) {
					t.Fatalf("result %+v lacks %q", c.Result, tt.want)
				}
			}
		})
	}
}
