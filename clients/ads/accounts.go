package ads

import (
	"context"
	"fmt"
	"strconv"

	"github.com/beevik/etree"
)

// The SOAP operations on customers and accounts that the user tools need (NOTES §4.9, §4.11).

// GetCustomerPilotFeatures calls GetCustomerPilotFeatures: CustomerId; the response is an
// ArrayOfint (<a:int> items in the Serialization/Arrays namespace).
func (c *SOAPClient) GetCustomerPilotFeatures(ctx context.Context, customerID int64) ([]int, error) {
	return soapCall(ctx, c, "GetCustomerPilotFeatures", true, func(req *etree.Element) {
		setLong(req, "CustomerId", customerID)
	}, func(resp *etree.Element) ([]int, error) {
		flags := child(resp, nsService, "FeaturePilotFlags")
		if isNil(flags) {
			return nil, nil
		}
		out := []int{}
		for _, e := range children(flags, nsArrays, "int") {
			n, err := strconv.Atoi(text(e))
			if err != nil {
				return nil, fmt.Errorf("ads: GetCustomerPilotFeatures: FeaturePilotFlags: %w", errShape)
			}
			out = append(out, n)
		}
		return out, nil
	})
}

// GetAccountsInfo calls GetAccountsInfo: CustomerId (nil when 0: the customer of the
// credentials), then OnlyParentAccounts.
func (c *SOAPClient) GetAccountsInfo(ctx context.Context, customerID int64, onlyParentAccounts bool) ([]AccountInfo, error) {
	return soapCall(ctx, c, "GetAccountsInfo", true, func(req *etree.Element) {
		if customerID == 0 {
			setNil(req, "CustomerId")
		} else {
			setLong(req, "CustomerId", customerID)
		}
		req.CreateElement("OnlyParentAccounts").SetText(strconv.FormatBool(onlyParentAccounts))
	}, func(resp *etree.Element) (_ []AccountInfo, err error) {
		var out []AccountInfo
		for _, ae := range children(child(resp, nsService, "AccountsInfo"), nsEntities, "AccountInfo") {
			e := func(name string) *etree.Element { return child(ae, nsEntities, name) }
			a := AccountInfo{Name: text(e("Name")), Number: text(e("Number")), Status: text(e("AccountLifeCycleStatus"))}
			if a.ID, err = parseLong(e("Id")); err != nil {
				return nil, fmt.Errorf("ads: GetAccountsInfo: AccountInfo/Id: %w", errShape)
			}
			if s := text(e("PauseReason")); s != "" {
				n, err := strconv.ParseUint(s, 10, 8)
				if err != nil {
					return nil, fmt.Errorf("ads: GetAccountsInfo: AccountInfo/PauseReason: %w", errShape)
				}
				p := int(n)
				a.PauseReason = &p
			}
			out = append(out, a)
		}
		return out, nil
	})
}

// GetCustomersInfo calls GetCustomersInfo: CustomerNameFilter (always sent; "" means no
// filter, as in the official example), then TopN.
func (c *SOAPClient) GetCustomersInfo(ctx context.Context, nameFilter string, topN int) ([]CustomerInfo, error) {
	if topN <= 0 {
		return nil, fmt.Errorf("ads: GetCustomersInfo: topN must be positive, got %d", topN)
	}
	return soapCall(ctx, c, "GetCustomersInfo", true, func(req *etree.Element) {
		req.CreateElement("CustomerNameFilter").SetText(nameFilter)
		setLong(req, "TopN", int64(topN))
	}, func(resp *etree.Element) ([]CustomerInfo, error) {
		var out []CustomerInfo
		for _, ce := range children(child(resp, nsService, "CustomersInfo"), nsEntities, "CustomerInfo") {
			id, err := parseLong(child(ce, nsEntities, "Id"))
			if err != nil {
				return nil, fmt.Errorf("ads: GetCustomersInfo: CustomerInfo/Id: %w", errShape)
			}
			out = append(out, CustomerInfo{ID: id, Name: text(child(ce, nsEntities, "Name"))})
		}
		return out, nil
	})
}
