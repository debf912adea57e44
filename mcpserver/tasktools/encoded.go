package tasktools

// EncodedJSON is JSON exactly as json.Marshal writes it — compact, HTML characters escaped —
// for a tool result's structured content. encoding/json passes it through (after the checks it
// applies to every json.Marshaler); the fast tools/call path writes it as it is.
type EncodedJSON []byte

// MarshalJSON returns the JSON itself.
func (e EncodedJSON) MarshalJSON() ([]byte, error) { return e, nil }
