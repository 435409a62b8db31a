package graph

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strings"
)

// DeltaChange is one entry of a /users/delta page: a created or updated user (a sparse
// patch: only Props present in the page were sent) or a removal.
type DeltaChange struct {
	ID string
	// Removed is "changed" (soft-deleted, restorable) or "deleted" (gone for good); empty
	// for an upsert. NOTES §2.
	Removed string
	// Props holds the raw properties sent for an upsert, so a caller can merge a sparse
	// patch without mistaking "absent" for "null".
	Props map[string]json.RawMessage
}

// DeltaOptions start a delta round.
type DeltaOptions struct {
	Select []string // tracked properties (also encoded into the tokens by Graph)
	// Latest starts from now ($deltatoken=latest): no data, just a deltaLink.
	Latest bool
}

// DeltaURL returns the URL of the first request of a full delta round.
// https://learn.microsoft.com/graph/api/user-delta
func (c *Client) DeltaURL(opts DeltaOptions) string {
	q := url.Values{}
	if len(opts.Select) > 0 {
		q.Set("$select", strings.Join(opts.Select, ","))
	}
	if opts.Latest {
		q.Set("$deltatoken", "latest")
	}
	u := c.base + "/users/delta"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// DeltaPage is one page of a delta round: its changes and either the next page's link or,
// on the last page, the deltaLink to store for the next round.
type DeltaPage struct {
	Changes   []DeltaChange
	NextLink  string
	DeltaLink string
}

// DeltaPageAt fetches one delta page from a DeltaURL, nextLink or stored deltaLink.
// DeltaTokenExpired(err) tells the caller to start a full round again.
func (c *Client) DeltaPageAt(ctx context.Context, link string) (*DeltaPage, error) {
	var raw struct {
		Value     []map[string]json.RawMessage `json:"value"`
		NextLink  string                       `json:"@odata.nextLink"`
		DeltaLink string                       `json:"@odata.deltaLink"`
	}
	if err := c.get(ctx, link, nil, &raw); err != nil {
		return nil, err
	}
	p := &DeltaPage{NextLink: raw.NextLink, DeltaLink: raw.DeltaLink, Changes: make([]DeltaChange, 0, len(raw.Value))}
	for _, v := range raw.Value {
		var ch DeltaChange
		_ = json.Unmarshal(v["id"], &ch.ID)
		if rm, ok := v["@removed"]; ok {
			var r struct {
				Reason string `json:"reason"`
			}
			_ = json.Unmarshal(rm, &r)
			ch.Removed = r.Reason
			if ch.Removed == "" {
				ch.Removed = "deleted"
			}
		} else {
			delete(v, "@odata.type")
			ch.Props = v
		}
		p.Changes = append(p.Changes, ch)
	}
	return p, nil
}

// Delta iterates one delta round from link (a DeltaURL or a stored deltaLink) page by page.
// The last page's DeltaLink is the cursor to persist; a caller that stores progress per page
// can resume from any page's NextLink.
func (c *Client) Delta(ctx context.Context, link string) iter.Seq2[*DeltaPage, error] {
	return func(yield func(*DeltaPage, error) bool) {
		for link != "" {
			p, err := c.DeltaPageAt(ctx, link)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(p, nil) {
				return
			}
			link = p.NextLink
		}
	}
}
