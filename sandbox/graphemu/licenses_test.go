package graphemu

import (
	"net/http"
	"testing"

	"github.com/msidm/msidm/sandbox/demo"
)

// consumed returns consumedUnits and prepaidUnits.enabled per skuPartNumber.
func consumed(f *fixture) (map[string]float64, map[string]float64) {
	r := f.send(http.MethodGet, "/v1.0/subscribedSkus", nil)
	if r.status != 200 {
		f.t.Fatalf("subscribedSkus: %d %s", r.status, r.raw)
	}
	used, prepaid := map[string]float64{}, map[string]float64{}
	for _, v := range r.body["value"].([]any) {
		s := v.(map[string]any)
		used[s["skuPartNumber"].(string)] = s["consumedUnits"].(float64)
		prepaid[s["skuPartNumber"].(string)] = s["prepaidUnits"].(map[string]any)["enabled"].(float64)
	}
	return used, prepaid
}

func TestSubscribedSkus(t *testing.T) {
	f := newWriteFixture(t)
	r := f.send(http.MethodGet, "/v1.0/subscribedSkus", nil)
	compareShape(t, "$", r.body, sample(t, "subscribedskus-list.json"))
	if len(r.body["value"].([]any)) != 3 {
		t.Fatalf("%d SKUs", len(r.body["value"].([]any)))
	}
	// consumedUnits counts the live holders of each SKU in the seed.
	want := map[string]float64{}
	for _, p := range f.tenant.People {
		for _, sku := range p.Licenses {
			if !p.SoftDeleted {
				want[sku]++
			}
		}
	}
	used, prepaid := consumed(f.fixture)
	if used["ENTERPRISEPACK"] != want[demo.SKUOffice365E3] || used["EMS"] != want[demo.SKUEMSE3] || used["POWER_BI_PRO"] != want[demo.SKUPowerBIPro] {
		t.Errorf("consumed = %v, want %v", used, want)
	}
	if used["POWER_BI_PRO"] != prepaid["POWER_BI_PRO"] {
		t.Errorf("Power BI Pro should be bought to the last seat: %v of %v", used["POWER_BI_PRO"], prepaid["POWER_BI_PRO"])
	}
	s := f.send(http.MethodGet, "/v1.0/subscribedSkus?$select=skuId,consumedUnits", nil)
	if s.body["@odata.context"] != f.base+"/v1.0/$metadata#subscribedSkus(skuId,consumedUnits)" ||
		len(s.body["value"].([]any)[0].(map[string]any)) != 2 {
		t.Errorf("$select: %s", s.raw)
	}
	checkError(t, f.send(http.MethodGet, "/v1.0/subscribedSkus?$filter=skuId%20eq%20'x'", nil), 400, "Request_BadRequest", "")
}

func TestAssignLicense(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance") // E3 only
	nora := person(t, f.tenant, "Nora Keller")  // Finance: E3 + Power BI Pro
	const plan = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
	assign := func(key string, add []map[string]any, remove []string) reply {
		if add == nil {
			add = []map[string]any{}
		}
		if remove == nil {
			remove = []string{}
		}
		return f.send(http.MethodPost, "/v1.0/users/"+key+"/assignLicense", map[string]any{"addLicenses": add, "removeLicenses": remove})
	}
	before, _ := consumed(f.fixture)
	r := assign(adele.ID, []map[string]any{{"skuId": demo.SKUEMSE3, "disabledPlans": []string{plan}}}, nil)
	if r.status != 200 {
		t.Fatalf("assign: %d %s", r.status, r.raw)
	}
	containsShape(t, "$", r.body, sample(t, "assignlicense-response.json"))
	if r.body["@odata.context"] != f.base+"/v1.0/$metadata#users/$entity" || len(r.body["assignedLicenses"].([]any)) != 2 {
		t.Errorf("answer: %v", r.body["assignedLicenses"])
	}
	for _, p := range r.body["assignedPlans"].([]any) {
		if p.(map[string]any)["servicePlanId"] == plan {
			t.Error("disabled plan listed in assignedPlans")
		}
	}
	after, _ := consumed(f.fixture)
	if after["EMS"] != before["EMS"]+1 {
		t.Errorf("EMS consumed %v → %v", before["EMS"], after["EMS"])
	}
	// Remove it again, and move Nora's Power BI seat to Adele: the full SKU frees one unit.
	if r := assign(adele.ID, nil, []string{demo.SKUEMSE3}); r.status != 200 {
		t.Fatalf("remove: %d %s", r.status, r.raw)
	}
	pbi := []map[string]any{{"skuId": demo.SKUPowerBIPro}}
	capacity := assign(adele.ID, pbi, nil)
	checkError(t, capacity, 400, "Request_BadRequest", "Subscription with SKU "+demo.SKUPowerBIPro+" does not have any available licenses.")
	if r := assign(nora.UserPrincipalName, nil, []string{demo.SKUPowerBIPro}); r.status != 200 {
		t.Fatalf("free a seat: %d %s", r.status, r.raw)
	}
	if r := assign(adele.ID, pbi, nil); r.status != 200 {
		t.Fatalf("take the seat: %d %s", r.status, r.raw)
	}
	if g := f.send(http.MethodGet, "/v1.0/users?$filter="+urlq("assignedLicenses/any(x:x/skuId eq "+demo.SKUPowerBIPro+")")+"&$select=id,displayName", nil); !contains(ids(g), adele.ID) || contains(ids(g), nora.ID) {
		t.Errorf("filter by licence: %s", g.raw)
	}
	// Deleting a user releases the licences; restoring takes them back.
	used, _ := consumed(f.fixture)
	f.send(http.MethodDelete, "/v1.0/users/"+adele.ID, nil)
	mid, _ := consumed(f.fixture)
	f.send(http.MethodPost, "/v1.0/directory/deletedItems/"+adele.ID+"/restore", nil)
	end, _ := consumed(f.fixture)
	if mid["ENTERPRISEPACK"] != used["ENTERPRISEPACK"]-1 || end["ENTERPRISEPACK"] != used["ENTERPRISEPACK"] {
		t.Errorf("E3 consumed %v → %v → %v", used["ENTERPRISEPACK"], mid["ENTERPRISEPACK"], end["ENTERPRISEPACK"])
	}

	noLocation := f.send(http.MethodPost, "/v1.0/users", newUserBody("no.location@contoso.example"))
	tests := []struct {
		name, key string
		body      any
		status    int
		msg       string
	}{
		{"no usage location", noLocation.body["id"].(string), map[string]any{"addLicenses": []any{map[string]any{"skuId": demo.SKUOffice365E3}}, "removeLicenses": []any{}},
			400, "License assignment cannot be done for user with invalid usage location."},
		{"remove a licence the user lacks", adele.ID, map[string]any{"addLicenses": []any{}, "removeLicenses": []string{demo.SKUEMSE3}},
			400, "User does not have a corresponding license."},
		{"unknown sku", adele.ID, map[string]any{"addLicenses": []any{map[string]any{"skuId": "00000000-0000-4000-8000-000000000000"}}, "removeLicenses": []any{}},
			400, "License 00000000-0000-4000-8000-000000000000 does not correspond to a valid company License."},
		{"missing addLicenses", adele.ID, map[string]any{"removeLicenses": []any{}}, 400,
			"One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: addLicenses."},
		{"unknown user", "nobody@contoso.example", map[string]any{"addLicenses": []any{}, "removeLicenses": []any{}}, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.send(http.MethodPost, "/v1.0/users/"+tc.key+"/assignLicense", tc.body)
			code := "Request_BadRequest"
			if tc.status == 404 {
				code = "Request_ResourceNotFound"
			}
			checkError(t, r, tc.status, code, tc.msg)
			if tc.name == "no usage location" {
				errorShape(t, r, "error-assignlicense-usagelocation.OBSERVED.json")
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}
