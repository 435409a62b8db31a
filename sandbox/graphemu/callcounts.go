package graphemu

// CallCounts is a snapshot of every endpoint's request counter (see Calls), keyed by
// "METHOD pattern" exactly as the route table writes them, e.g. "PATCH /users/{id}".
// Endpoints that were never called are left out.
func (s *Server) CallCounts() map[string]int {
	out := make(map[string]int, len(s.calls))
	for k, c := range s.calls {
		if n := int(c.Load()); n != 0 {
			out[k] = n
		}
	}
	return out
}
