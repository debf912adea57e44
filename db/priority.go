package db

import "github.com/jackc/pgx/v5/pgtype"

// Priority is a task's priority as stored: "none", "low", "medium" or "high". It is a type
// of its own so that reading it costs nothing: the column can hold only those four words
// (a CHECK constraint), and ScanBytes hands back the same constant string for each instead
// of a copy per row — a 50-task page read 50 small strings.
type Priority string

// ScanBytes lets pgx give the column's bytes without making a string of them first.
func (p *Priority) ScanBytes(b []byte) error {
	switch string(b) { // compared, not converted: no allocation
	case "none":
		*p = "none"
	case "low":
		*p = "low"
	case "medium":
		*p = "medium"
	case "high":
		*p = "high"
	default:
		*p = Priority(b) // cannot happen under the CHECK; kept readable all the same
	}
	return nil
}

// TextValue lets pgx send a Priority as text without reflection.
func (p Priority) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(p), Valid: true}, nil
}
