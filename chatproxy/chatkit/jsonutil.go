package chatkit

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/taskwire/taskwire/internal/jsonstr"
)

// emptyObject is what the protocol sends for an object that has no fields, e.g. a thread's
// private metadata on the wire or a client tool call without arguments.
var emptyObject = json.RawMessage(`{}`)

// marshalCompact encodes v as single-line JSON without HTML escaping, so non-ASCII and
// <, >, & reach the client byte for byte as the reference server sends them.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// marshalTagged encodes v (a struct) and puts the discriminator "type":typ first. Every union
// of the protocol (items, events, updates, tasks, …) is a set of Go types that each call this
// from MarshalJSON, so no caller can forget or misspell a type tag.
func marshalTagged(typ string, v any) ([]byte, error) {
	body, err := marshalCompact(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(typ)+10)
	out = append(out, `{"type":"`...)
	out = append(out, typ...)
	out = append(out, '"')
	if len(body) > 2 { // body is "{…}"; "{}" adds nothing
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// orEmptyObject returns raw, or {} when it is absent or JSON null: fields such as tool call
// arguments and tag data are objects on the wire, never null.
func orEmptyObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return emptyObject
	}
	return raw
}

// nonNil returns s, or an empty slice when s is nil: the protocol always sends lists such as
// content, attachments and annotations, empty or not.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Now is the timestamp the protocol stores and sends: UTC (so it is written with a Z) at
// microsecond precision (what PostgreSQL keeps, so a stored and a sent copy compare equal).
func Now() time.Time { return normalizeTime(time.Now()) }

func normalizeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ID prefixes, kept from the reference server for readability; ids are opaque to the client.
const (
	PrefixThread          = "thr"
	PrefixMessage         = "msg"
	PrefixToolCall        = "tc"
	PrefixWorkflow        = "wf"
	PrefixTask            = "tsk"
	PrefixWidget          = "wgt"
	PrefixImage           = "img"
	PrefixStructuredInput = "si"
	PrefixHiddenContext   = "hcx"
	PrefixSDKHidden       = "shcx"
	PrefixEndOfTurn       = "eot"
)

// NewID returns prefix + "_" + 128 random bits in hex. The reference server uses 32 bits,
// which collide at scale; ids here are also the keys users could guess at, so they are long.
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics on a broken kernel)
	return prefix + "_" + hex.EncodeToString(b[:])
}

// appendTextDelta writes an ItemUpdated carrying a TextDelta without reflection: it is sent
// once per model token.
func appendTextDelta(dst []byte, itemID string, u TextDelta) []byte {
	dst = append(dst, `{"type":"thread.item.updated","item_id":`...)
	dst = jsonstr.Append(dst, itemID, jsonstr.Plain)
	dst = append(dst, `,"update":{"type":"assistant_message.content_part.text_delta","content_index":`...)
	dst = strconv.AppendInt(dst, int64(u.ContentIndex), 10)
	dst = append(dst, `,"delta":`...)
	dst = jsonstr.Append(dst, u.Delta, jsonstr.Plain)
	return append(dst, "}}"...)
}
