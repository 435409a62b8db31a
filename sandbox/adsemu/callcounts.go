package adsemu

// CallCounts is a snapshot of every operation's request counter (see Calls), keyed by
// operation name, e.g. "DeleteUser". Operations that were never called are left out.
func (s *Server) CallCounts() map[string]int {
	out := make(map[string]int, len(s.ops))
	for name, o := range s.ops {
		if n := int(o.calls.Load()); n != 0 {
			out[name] = n
		}
	}
	return out
}
