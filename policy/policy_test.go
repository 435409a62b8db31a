package policy

import (
	"context"
	"errors"
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
