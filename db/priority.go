package db

import "github.com/jackc/pgx/v5/pgtype"

// Priorities are the words the priority column holds (its CHECK constraint), in rising
// order; "none" is the default.
var Priorities = []string{"none", "low", "medium", "high"}

// Priority is a task's priority as stored, one of Priorities. It is a type of its own so
// that reading it costs nothing: ScanBytes hands back the same constant string for each word
// instead of a copy per row — a 50-task page read 50 small strings.
type Priority string

// ScanBytes lets pgx give the column's bytes without making a string of them first.
func (p *Priority) ScanBytes(b []byte) error {
	for _, w := range Priorities {
		if string(b) == w { // compared, not converted: no allocation
			*p = Priority(w)
			return nil
		}
	}
	*p = Priority(b) // cannot happen under the CHECK; kept readable all the same
	return nil
}

// TextValue lets pgx send a Priority as text without reflection.
func (p Priority) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(p), Valid: true}, nil
}
