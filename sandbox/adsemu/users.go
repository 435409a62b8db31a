package adsemu

import "github.com/beevik/etree"

// User read operations (NOTES §4.1-4.3). Each handler parses its request members, acts
// on the state, and writes the response element.

// getUser implements GetUser: UserId nil or absent means the signed-in user (docs
// getuser.md, NOTES §4.1); an unknown id is ApiFault 210.
func (s *Server) getUser(c *call) (*etree.Element, error) {
	m := members(c.body, nsService, "UserId")
	id, ok, err := optionalLong(m[0], "UserId")
	if err != nil {
		return nil, err
	}
	u := c.caller
	if ok {
		if u, err = s.state.userByID(id); err != nil {
			return nil, err
		}
	}
	resp := newResponse("GetUser")
	writeUser(resp, "User", u)
	writeCustomerRoles(resp, u)
	return resp, nil
}

// getCurrentUser implements GetCurrentUser: in the WSDL but undocumented; returns the
// signed-in user without roles (NOTES §4.2).
func (s *Server) getCurrentUser(c *call) (*etree.Element, error) {
	resp := newResponse("GetCurrentUser")
	writeUser(resp, "User", c.caller)
	return resp, nil
}

// getUsersInfo implements GetUsersInfo: CustomerId (non-nillable long, required by the
// docs) and an optional StatusFilter; no paging (NOTES §4.3).
func (s *Server) getUsersInfo(c *call) (*etree.Element, error) {
	m := members(c.body, nsService, "CustomerId", "StatusFilter")
	customerID, _, err := optionalLong(m[0], "CustomerId")
	if err != nil {
		return nil, err
	}
	status, _, err := optionalEnum(m[1], "StatusFilter", "UserLifeCycleStatus", userStatuses...)
	if err != nil {
		return nil, err
	}
	infos, err := s.state.usersInfo(c.caller, customerID, status)
	if err != nil {
		return nil, err
	}
	resp := newResponse("GetUsersInfo")
	writeUsersInfo(resp, infos)
	return resp, nil
}
