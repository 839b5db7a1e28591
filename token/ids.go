package token

import "sort"

// KeyIDs returns the kid of every key the set verifies with, sorted: for
// `gatehouse keys list`, which in HS256 mode has no stored key to show.
func (ks *KeySet) KeyIDs() []string {
	st := ks.state.Load()
	ids := make([]string, 0, len(st.byID))
	for id := range st.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
