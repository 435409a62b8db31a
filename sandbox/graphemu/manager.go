package graphemu

import (
	"strings"
)

// The manager reference (NOTES §1.9). For synced users the manager is AD-mastered, so a cloud
// change is reverted by the simulated sync cycle (sync.go).

// errNoManager is the service's 404 for an unset manager reference.
func errNoManager() *graphError { return errNotFound("manager") }

// getManager serves GET /v1.0/users/{id|upn}/manager: the manager as a typed directoryObject.
func (s *Server) getManager(x *exchange, key string) *graphError {
	sel, gerr := s.users.parseSelect(queryValue(x.r, "$select"), false)
	if gerr != nil {
		return gerr
	}
	s.dir.mu.RLock()
	u := s.dir.lookup(key)
	var m *user
	if u != nil && u.managerID != "" {
		m = s.dir.byID[strings.ToLower(u.managerID)]
	}
	s.dir.mu.RUnlock()
	switch {
	case u == nil:
		return userNotFound(key)
	case m == nil:
		return errNoManager()
	}
	s.ok(x, entityJSON(serviceRoot(x.r)+"/$metadata#directoryObjects/$entity", "#microsoft.graph.user", m, sel.props))
	return nil
}

// putManager serves PUT /v1.0/users/{id|upn}/manager/$ref with
// {"@odata.id": "https://graph.microsoft.com/v1.0/users/{id}"}
// (samples/manager-ref-put-request.json) → 204.
func (s *Server) putManager(x *exchange, key string) *graphError {
	obj, gerr := readObject(x)
	if gerr != nil {
		return gerr
	}
	managerID, gerr := referencedID(obj)
	if gerr != nil {
		return gerr
	}
	return s.setManager(x, key, &managerID)
}

// deleteManager serves DELETE /v1.0/users/{id|upn}/manager/$ref → 204; 404 when unset.
func (s *Server) deleteManager(x *exchange, key string) *graphError {
	return s.setManager(x, key, nil)
}

// setManager stores managerID (nil: remove) on the user.
func (s *Server) setManager(x *exchange, key string, managerID *string) *graphError {
	now := s.now().UTC()
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	cur := s.dir.lookup(key)
	if cur == nil {
		return userNotFound(key)
	}
	u := *cur
	switch {
	case managerID == nil && u.managerID == "":
		return errNoManager()
	case managerID == nil:
		u.managerID = ""
	case s.dir.byID[strings.ToLower(*managerID)] == nil:
		return errNotFound(*managerID)
	case strings.EqualFold(*managerID, u.id):
		// A user cannot manage themself (the service's message is not documented).
		return errBadRequest("Invalid value specified for property 'manager' of resource 'User'.")
	default:
		u.managerID = s.dir.byID[strings.ToLower(*managerID)].id
	}
	s.scheduleRevert(&u, now)
	s.dir.insert(&u)
	s.dir.logChange(u.id, objectUser, kindUpsert, now)
	s.noContent(x)
	return nil
}
