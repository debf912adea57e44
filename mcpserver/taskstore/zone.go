package taskstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zone rules inside the binary: a slim container may have no /usr/share/zoneinfo

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/taskwire/taskwire/db"
)

// MaxTimezone bounds a zone name; the longest IANA name is about 30 characters.
const MaxTimezone = 64

// zones caches loaded time zones by name. It only ever holds names the IANA database knows,
// so it is bounded by that database.
type zones struct{ m sync.Map }

func badZone(field, name string) error {
	return invalidf("%s must be an IANA time zone name such as Europe/Berlin, America/New_York or UTC, got %q", field, name)
}

// load validates an IANA zone name and returns the zone; field names the argument in the
// error. "Local" (the server's zone) is refused: it would mean a different day per server.
func (z *zones) load(field, name string) (*time.Location, error) {
	if loc, ok := z.m.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "" || name == "Local" || len(name) > MaxTimezone || strings.TrimSpace(name) != name {
		return nil, badZone(field, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, badZone(field, name)
	}
	z.m.Store(name, loc)
	return loc, nil
}

// zoneFor returns the user's time zone. A name given by the caller (the timezone argument) is
// validated and remembered for the user first; without one, the stored zone is read only if
// need says the operation judges dates (nil otherwise), and a user who never gave one is in UTC.
func (s *Store) zoneFor(ctx context.Context, user, name string, need bool) (*time.Location, error) {
	if name != "" {
		loc, err := s.zones.load("timezone", name)
		if err != nil {
			return nil, err
		}
		_, err = s.q.SetUserTimezone(ctx, db.SetUserTimezoneParams{UserID: user, Timezone: name})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "22023" {
			return nil, badZone("timezone", name) // invalid_parameter_value: a zone PostgreSQL's rules lack
		}
		if err != nil {
			return nil, fmt.Errorf("save time zone of %s: %w", user, err)
		}
		return loc, nil
	}
	if !need {
		return nil, nil
	}
	stored, err := s.q.GetUserTimezone(ctx, user)
	if db.IsNotFound(err) {
		return time.UTC, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read time zone of %s: %w", user, err)
	}
	loc, err := s.zones.load("timezone", stored)
	if err != nil {
		// Only a zone this package accepted is ever stored; a tz database without it is ours to fix.
		return nil, fmt.Errorf("stored time zone of %s: %w", user, err)
	}
	return loc, nil
}

// dayStart is the first instant of the calendar day of date (read as a date: its UTC year,
// month and day) in loc. On a day that starts with a daylight-saving gap, that is the first
// instant that exists.
func dayStart(date time.Time, loc *time.Location) time.Time {
	y, m, d := date.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// localDate is the date, in loc, of instant t, as midnight UTC (the form a date-only Due holds).
func localDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
