package graphemu

import (
	"strings"
	"time"
)

// Deleted items (the recycle bin, NOTES §1.12). Users stay restorable for 30 days after
// DELETE /users/{id} (NOTES §1.5); the retention purge runs in directory.maintain.

// listDeleted serves GET /v1.0/directory/deletedItems/microsoft.graph.user (the cast is
// required, §1.12): the users list's query options, paging and shape (samples
// deleteditems-list-*.json, with the users entity set).
func (s *Server) listDeleted(x *exchange) *graphError {
	q, gerr := s.parseListQuery(x.r)
	if gerr != nil {
		return gerr
	}
	page, more := s.dir.deletedPage(q.after, q.top, q.match)
	count := -1
	if q.count {
		count = s.dir.deletedCount(q.match)
	}
	s.ok(x, s.encodeUserPage(x.r, "users", q, page, more, count))
	return nil
}

// getDeleted serves GET /v1.0/directory/deletedItems/{id}: a directoryObject with its type.
func (s *Server) getDeleted(x *exchange, id string) *graphError {
	sel, gerr := s.users.parseSelect(queryValue(x.r, "$select"), false)
	if gerr != nil {
		return gerr
	}
	s.dir.mu.RLock()
	u := s.dir.deleted[strings.ToLower(id)]
	s.dir.mu.RUnlock()
	if u == nil {
		return errNotFound(id)
	}
	s.ok(x, entityJSON(serviceRoot(x.r)+"/$metadata#directoryObjects/$entity", "#microsoft.graph.user", u, sel.props))
	return nil
}

// restoreDeleted serves POST /v1.0/directory/deletedItems/{id}/restore → 200 with the
// restored object and its @odata.type (samples/deleteditems-restore-response.json). A
// restore fails when the UPN was reused meanwhile (§1.12).
func (s *Server) restoreDeleted(x *exchange, id string) *graphError {
	now := s.now().UTC()
	s.dir.mu.Lock()
	lid := strings.ToLower(id)
	cur := s.dir.deleted[lid]
	if cur == nil {
		s.dir.mu.Unlock()
		return errNotFound(id)
	}
	if s.dir.byUPN[strings.ToLower(cur.userPrincipalName)] != nil {
		s.dir.mu.Unlock()
		return errConflict("userPrincipalName")
	}
	u := *cur
	u.deleted, u.deletedDateTime = false, time.Time{}
	delete(s.dir.deleted, lid)
	s.dir.deletedOrder = sortedDelete(s.dir.deletedOrder, lid)
	s.dir.insert(&u)
	s.dir.logChange(u.id, objectUser, kindUpsert, now)
	s.dir.mu.Unlock()
	s.ok(x, entityJSON(serviceRoot(x.r)+"/$metadata#directoryObjects/$entity", "#microsoft.graph.user", &u, s.users.defaults))
	return nil
}

// purgeDeleted serves DELETE /v1.0/directory/deletedItems/{id} → 204: permanent deletion.
// A live user's id is not in the container and gives 404.
func (s *Server) purgeDeleted(x *exchange, id string) *graphError {
	now := s.now().UTC()
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.deleted[strings.ToLower(id)]
	if u == nil {
		return errNotFound(id)
	}
	s.dir.purge(u, now)
	s.noContent(x)
	return nil
}
