package graphemu

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Group membership writes (NOTES §1.10): POST /groups/{id}/members/$ref and
// DELETE /groups/{id}/members/{memberId}/$ref, with the refusals of the group kinds.

// refuseMembershipChange returns the error for groups whose members cannot be changed
// through Graph: dynamic groups compute members from their rule ([grp-del]: "Cannot remove
// from dynamic groups"; the message text is not documented), groups synced from Active
// Directory are mastered there (the service's Directory Sync message, as for users), and
// role-assignable groups need RoleManagement.ReadWrite.Directory besides the group
// permission ([grp-add]).
func refuseMembershipChange(x *exchange, g *group) *graphError {
	switch {
	case g.dynamic():
		return errBadRequest("Members of a group with dynamic membership cannot be added or removed manually.")
	case g.onPremisesSyncEnabled:
		return errBadRequest("Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")
	case g.isAssignableToRole && !granted(x, []string{"RoleManagement.ReadWrite.Directory"}):
		return errAccessDenied()
	}
	return nil
}

// addMember serves POST /v1.0/groups/{id}/members/$ref with
// {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}
// (samples/group-add-member-ref-request.json) → 204.
func (s *Server) addMember(x *exchange, groupID string) *graphError {
	obj, gerr := readObject(x)
	if gerr != nil {
		return gerr
	}
	memberID, gerr := referencedID(obj)
	if gerr != nil {
		return gerr
	}
	now := s.now().UTC()
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	g := s.dir.groups[strings.ToLower(groupID)]
	if g == nil {
		return errNotFound(groupID)
	}
	if gerr := refuseMembershipChange(x, g); gerr != nil {
		return gerr
	}
	mid := strings.ToLower(memberID)
	if s.dir.byID[mid] == nil && s.dir.groups[mid] == nil {
		return errNotFound(memberID) // "404 … when the object being added doesn't exist" [grp-add]
	}
	if g.members[mid] {
		// samples/error-member-already-exists.OBSERVED.json
		return errBadRequest("One or more added object references already exist for the following modified properties: 'members'.")
	}
	g.members[mid] = true
	s.dir.logChange(g.id, objectGroup, kindUpsert, now)
	s.noContent(x)
	return nil
}

// removeMember serves DELETE /v1.0/groups/{id}/members/{memberId}/$ref → 204. Removing a
// non-member answers 404 Request_ResourceNotFound naming the member; NOTES §1.10 also records
// an observed 400 "One or more removed object references do not exist…" from older clients.
func (s *Server) removeMember(x *exchange, groupID, memberID string) *graphError {
	now := s.now().UTC()
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	g := s.dir.groups[strings.ToLower(groupID)]
	if g == nil {
		return errNotFound(groupID)
	}
	if gerr := refuseMembershipChange(x, g); gerr != nil {
		return gerr
	}
	mid := strings.ToLower(memberID)
	if !g.members[mid] {
		return errNotFound(memberID)
	}
	delete(g.members, mid)
	s.dir.logChange(g.id, objectGroup, kindUpsert, now)
	s.noContent(x)
	return nil
}

// referencedID reads the object id at the end of a reference body's @odata.id
// (…/directoryObjects/{id}, …/users/{id} or …/groups/{id}).
func referencedID(obj map[string]json.RawMessage) (string, *graphError) {
	var ref string
	if raw, ok := obj["@odata.id"]; !ok || json.Unmarshal(raw, &ref) != nil {
		return "", newError(http.StatusBadRequest, "BadRequest", "The '@odata.id' annotation is missing from the request payload.")
	}
	ref = strings.TrimRight(ref, "/")
	id := ref[strings.LastIndexByte(ref, '/')+1:]
	if !isGUID(id) {
		return "", errBadRequest("Invalid object identifier '" + id + "'.")
	}
	return id, nil
}
