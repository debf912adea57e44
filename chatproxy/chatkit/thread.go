package chatkit

import (
	"encoding/json"
	"time"
)

// Thread is a conversation's metadata as the server keeps it (the reference's
// ThreadMetadata). Its items live apart, in the Store.
type Thread struct {
	ID        string       `json:"id"`
	CreatedAt time.Time    `json:"created_at"`
	Title     *string      `json:"title,omitempty"` // nil: untitled ("New thread" in the UI)
	Status    ThreadStatus `json:"status"`
	// AllowedImageDomains lets the client load images from these hosts (ChatKit 1.6.3+).
	AllowedImageDomains []string `json:"allowed_image_domains,omitempty"`
	// Metadata is server-private (e.g. a responder's bookkeeping); it is stored but the wire
	// always carries {} instead.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// ThreadStatus is {"type":"active"} (default), "locked" (composer disabled, reason shown as
// its placeholder) or "closed" (composer replaced by a banner). It only changes the UI.
type ThreadStatus struct {
	Type   string  `json:"type"`
	Reason *string `json:"reason,omitempty"`
}

// Thread statuses.
const (
	StatusActive = "active"
	StatusLocked = "locked"
	StatusClosed = "closed"
)

// Clone returns a copy that shares nothing mutable with t, so a responder can change its turn's
// thread without touching what the server compares against.
func (t *Thread) Clone() *Thread {
	c := *t
	if t.Title != nil {
		title := *t.Title
		c.Title = &title
	}
	if t.Status.Reason != nil {
		r := *t.Status.Reason
		c.Status.Reason = &r
	}
	c.AllowedImageDomains = append([]string(nil), t.AllowedImageDomains...)
	if t.Metadata != nil {
		// Metadata values are JSON values; a round trip is the simplest deep copy.
		b, _ := json.Marshal(t.Metadata)
		c.Metadata = nil
		_ = json.Unmarshal(b, &c.Metadata)
	}
	return &c
}

// wireThread is a Thread as the protocol sends it: private metadata replaced by {} and the
// given page of (visible) items.
type wireThread struct {
	ID                  string          `json:"id"`
	Title               *string         `json:"title,omitempty"`
	CreatedAt           time.Time       `json:"created_at"`
	Status              ThreadStatus    `json:"status"`
	AllowedImageDomains []string        `json:"allowed_image_domains,omitempty"`
	Metadata            json.RawMessage `json:"metadata"`
	Items               Page[Item]      `json:"items"`
}

func (t *Thread) wire(items Page[Item]) wireThread {
	items.Data = nonNil(items.Data)
	return wireThread{
		ID:                  t.ID,
		Title:               t.Title,
		CreatedAt:           t.CreatedAt,
		Status:              t.Status,
		AllowedImageDomains: t.AllowedImageDomains,
		Metadata:            emptyObject,
		Items:               items,
	}
}

// Page is one page of a keyset-paginated list. After is set only when HasMore is, and is the
// cursor to pass back for the next page.
type Page[T any] struct {
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	After   string `json:"after,omitempty"`
}

// Order of a page: by creation, oldest first (asc) or newest first (desc).
type Order string

// Orders.
const (
	Asc  Order = "asc"
	Desc Order = "desc"
)

// PageQuery asks a Store for one page. After is the id of the last element of the previous
// page in the same order; an unknown After is ErrNotFound, never a silent restart.
type PageQuery struct {
	Limit int
	Order Order
	After string
}
