package demo

import (
	"reflect"
	"slices"
	"testing"
)

// TestDirectoryData: the demo and large tenants carry three SKUs and a group of every kind,
// deterministically, and licences never exceed the prepaid units.
func TestDirectoryData(t *testing.T) {
	tests := []struct {
		name   string
		tenant func() *Tenant
	}{
		{"demo", Demo},
		{"large", func() *Tenant { return Large(2000, 10, 7) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.tenant(), tc.tenant()
			if !reflect.DeepEqual(a.SKUs, b.SKUs) || !reflect.DeepEqual(a.Groups, b.Groups) || !reflect.DeepEqual(a.People, b.People) {
				t.Fatal("not deterministic")
			}
			if len(a.SKUs) != 3 {
				t.Fatalf("%d SKUs", len(a.SKUs))
			}
			used := map[string]int{}
			for _, p := range a.People {
				for _, s := range p.Licenses {
					if !p.SoftDeleted {
						used[s]++
					}
				}
			}
			for _, s := range a.SKUs {
				if used[s.ID] == 0 || used[s.ID] > s.PrepaidUnits {
					t.Errorf("%s: %d used of %d", s.PartNumber, used[s.ID], s.PrepaidUnits)
				}
			}
			kinds := map[string]bool{}
			ids := map[string]bool{}
			for _, p := range a.People {
				ids[p.ID] = true
			}
			for _, g := range a.Groups {
				ids[g.ID] = true
			}
			for _, g := range a.Groups {
				switch {
				case slices.Contains(g.GroupTypes, "DynamicMembership"):
					kinds["dynamic"] = g.MembershipRule != "" && len(g.MemberIDs) == 0
				case slices.Contains(g.GroupTypes, "Unified"):
					kinds["m365"] = g.MailEnabled
				case g.IsAssignableToRole:
					kinds["role"] = true
				case g.OnPremisesSyncEnabled:
					kinds["synced"] = true
				default:
					kinds["security"] = g.SecurityEnabled
				}
				for _, m := range g.MemberIDs {
					if !ids[m] {
						t.Errorf("%s: unknown member %s", g.DisplayName, m)
					}
					if a.groupByID(m) != nil {
						kinds["nested"] = true
					}
				}
			}
			for _, k := range []string{"dynamic", "m365", "role", "synced", "security", "nested"} {
				if !kinds[k] {
					t.Errorf("no %s group", k)
				}
			}
		})
	}
	// Adding directory data must not move the ids of people seeded before it.
	if Demo().People[0].ID != "24479a32-8765-4d82-9d7d-7a98c893b1cf" {
		t.Error("demo person ids changed")
	}
}

func (t *Tenant) groupByID(id string) *Group {
	for i := range t.Groups {
		if t.Groups[i].ID == id {
			return &t.Groups[i]
		}
	}
	return nil
}
