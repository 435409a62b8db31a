package graphemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// listSkus serves GET /v1.0/subscribedSkus (NOTES §1.11, samples/subscribedskus-list.json).
// consumedUnits is live: the users (not deleted) holding the SKU now. Only $select is
// supported, as on the service.
func (s *Server) listSkus(x *exchange) *graphError {
	opts, gerr := systemQueryOptions(x.r)
	if gerr != nil {
		return gerr
	}
	for k := range opts {
		if k != "$select" {
			return errBadRequest("Query option '" + k + "' is not allowed. Allowed options: '$select'.")
		}
	}
	sel, names, gerr := selectNames(opts["$select"], skuProperties, "microsoft.graph.subscribedSku")
	if gerr != nil {
		return gerr
	}
	ctx := serviceRoot(x.r) + "/$metadata#subscribedSkus"
	if names != "" {
		ctx += "(" + names + ")"
	}
	b := append([]byte(`{"@odata.context":`), appendString(nil, ctx)...)
	b = append(b, `,"value":[`...)
	s.dir.mu.RLock()
	for i, k := range s.dir.skus {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendSku(b, k, s.dir.consumed[strings.ToLower(k.id)], sel)
	}
	s.dir.mu.RUnlock()
	s.ok(x, append(b, "]}"...))
	return nil
}

// skuProperties are the subscribedSku properties in the order of the sample.
var skuProperties = []string{"accountName", "accountId", "appliesTo", "capabilityStatus", "consumedUnits", "id",
	"prepaidUnits", "servicePlans", "skuId", "skuPartNumber", "subscriptionIds"}

func (s *Server) appendSku(b []byte, k *sku, consumed int, sel []string) []byte {
	values := map[string]func([]byte) []byte{
		"accountName":      func(b []byte) []byte { return appendString(b, s.dir.tenantName) },
		"accountId":        func(b []byte) []byte { return appendString(b, s.dir.tenantID) },
		"appliesTo":        func(b []byte) []byte { return appendString(b, "User") },
		"capabilityStatus": func(b []byte) []byte { return appendString(b, "Enabled") },
		"consumedUnits":    func(b []byte) []byte { return strconv.AppendInt(b, int64(consumed), 10) },
		"id":               func(b []byte) []byte { return appendString(b, s.dir.tenantID+"_"+k.id) },
		"prepaidUnits": func(b []byte) []byte {
			b = append(b, `{"enabled":`...)
			b = strconv.AppendInt(b, int64(k.prepaid), 10)
			return append(b, `,"lockedOut":0,"suspended":0,"warning":0}`...)
		},
		"servicePlans": func(b []byte) []byte {
			b = append(b, '[')
			for i, p := range k.plans {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"servicePlanId":`...)
				b = appendString(b, p.ID)
				b = append(b, `,"servicePlanName":`...)
				b = appendString(b, p.Name)
				b = append(b, `,"provisioningStatus":"Success","appliesTo":"User"}`...)
			}
			return append(b, ']')
		},
		"skuId":           func(b []byte) []byte { return appendString(b, k.id) },
		"skuPartNumber":   func(b []byte) []byte { return appendString(b, k.partNumber) },
		"subscriptionIds": func(b []byte) []byte { return appendStrings(b, []string{derivedGUID(s.dir.tenantID + k.id)}) },
	}
	b = append(b, '{')
	for i, name := range sel {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		b = values[name](b)
	}
	return append(b, '}')
}

// selectNames resolves a $select list against known property names (case-insensitive),
// returning them in request order (all of known without $select) and the list for
// @odata.context.
func selectNames(raw string, known []string, typ string) ([]string, string, *graphError) {
	if strings.TrimSpace(raw) == "" {
		return known, "", nil
	}
	var out []string
	for _, n := range strings.Split(raw, ",") {
		n = strings.TrimSpace(n)
		i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, n) })
		if i < 0 {
			return nil, "", errBadRequest("Could not find a property named '" + n + "' on type '" + typ + "'.")
		}
		if !slices.Contains(out, known[i]) {
			out = append(out, known[i])
		}
	}
	return out, strings.Join(out, ","), nil
}

// derivedGUID makes a stable GUID-shaped id from seed (subscription ids are not in the demo
// data, but must not change between requests).
func derivedGUID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-a" + x[17:20] + "-" + x[20:32]
}

// assignLicenseBody is the action's payload (samples/assignlicense-request.json).
type assignLicenseBody struct {
	AddLicenses []struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	} `json:"addLicenses"`
	RemoveLicenses []string `json:"removeLicenses"`
}

// assignLicense serves POST /v1.0/users/{id|upn}/assignLicense → 200 with the user (NOTES
// §1.7, samples/assignlicense-response.json). Checks, in order: both parameters present, a
// usage location when adding (error-assignlicense-usagelocation.OBSERVED.json), known SKUs,
// removals of licences the user holds, and free units (prepaid enabled − consumed).
func (s *Server) assignLicense(x *exchange, key string) *graphError {
	obj, gerr := readObject(x)
	if gerr != nil {
		return gerr
	}
	var missing []string
	for _, p := range []string{"addLicenses", "removeLicenses"} {
		if _, ok := obj[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		// Observed message (msgraph-sdk-powershell issue 3229).
		return errBadRequest("One or more parameters of the operation 'assignLicense' are missing from the request payload. " +
			"The missing parameters are: " + strings.Join(missing, ", ") + ".")
	}
	raw, _ := json.Marshal(obj)
	var body assignLicenseBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return errBadJSON()
	}
	now := s.now().UTC()
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	cur := s.dir.lookup(key)
	if cur == nil {
		return userNotFound(key)
	}
	ls, gerr := s.applyLicences(cur, body, now)
	if gerr != nil {
		return gerr
	}
	u := cur.withLicenses(ls)
	s.dir.insert(u)
	s.dir.logChange(u.id, objectUser, kindUpsert, now)
	s.ok(x, s.userEntity(x, u, s.users.full))
	return nil
}

// applyLicences computes the user's new licences. The caller holds s.dir.mu for writing.
func (s *Server) applyLicences(u *user, body assignLicenseBody, now time.Time) ([]assignedLicense, *graphError) {
	if len(body.AddLicenses) > 0 && u.usageLocation == "" {
		return nil, errBadRequest("License assignment cannot be done for user with invalid usage location.")
	}
	ls := slices.Clone(u.licenses)
	for _, id := range body.RemoveLicenses {
		i := slices.IndexFunc(ls, func(l assignedLicense) bool { return strings.EqualFold(l.skuID, id) })
		if i < 0 {
			return nil, errBadRequest("User does not have a corresponding license.")
		}
		ls = slices.Delete(ls, i, i+1)
	}
	for _, add := range body.AddLicenses {
		k := s.dir.sku(add.SkuID)
		if k == nil {
			return nil, errBadRequest("License " + add.SkuID + " does not correspond to a valid company License.")
		}
		l := assignedLicense{skuID: k.id, disabledPlans: slices.Clone(add.DisabledPlans), assigned: now.Truncate(time.Second)}
		if i := slices.IndexFunc(ls, func(l assignedLicense) bool { return strings.EqualFold(l.skuID, k.id) }); i >= 0 {
			l.assigned = ls[i].assigned // re-adding only changes the disabled plans
			ls[i] = l
			continue
		}
		if !u.hasLicense(k.id) && s.dir.consumed[strings.ToLower(k.id)] >= k.prepaid {
			return nil, errBadRequest("Subscription with SKU " + k.id + " does not have any available licenses.")
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// sku finds a subscribed SKU by skuId. The caller holds d.mu.
func (d *directory) sku(id string) *sku {
	for _, k := range d.skus {
		if strings.EqualFold(k.id, id) {
			return k
		}
	}
	return nil
}
