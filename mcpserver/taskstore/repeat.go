package taskstore

import (
	"slices"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// MaxRepeat bounds a recurrence rule's length (the column's CHECK says the same).
const MaxRepeat = 200

// repeatParts are the RRULE parts a repeat may use: enough for "every other Tuesday", "on the
// last day of each month" or "10 times", and none that could make a rule match no day at all
// (such as BYMONTH=2;BYMONTHDAY=30), which would keep the generator searching for ever.
var repeatParts = []string{"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL"}

// repeatFreqs are the frequencies a task may repeat at: a to-do list's unit is a day.
var repeatFreqs = []string{"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}

func badRepeat(s, why string) error {
	return invalidf("repeat must be an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=MO or FREQ=MONTHLY;BYMONTHDAY=-1 "+
		"(FREQ DAILY, WEEKLY, MONTHLY or YEARLY; optional INTERVAL, BYDAY, BYMONTHDAY, COUNT, UNTIL): %s, got %q", why, s)
}

// cleanRepeat checks a recurrence rule and returns the form that is stored: upper case,
// without spaces or an "RRULE:" prefix.
func cleanRepeat(s string) (string, error) {
	r := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	r = strings.TrimPrefix(r, "RRULE:")
	if len(r) > MaxRepeat {
		return "", badRepeat(s, "too long")
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(r, ";") {
		name, value, ok := strings.Cut(part, "=")
		switch {
		case !ok || value == "":
			return "", badRepeat(s, "each part is NAME=VALUE, separated by ;")
		case !slices.Contains(repeatParts, name):
			return "", badRepeat(s, name+" is not supported")
		case seen[name]:
			return "", badRepeat(s, name+" is given twice")
		case name == "FREQ" && !slices.Contains(repeatFreqs, value):
			return "", badRepeat(s, "FREQ="+value+" is not supported")
		}
		seen[name] = true
	}
	if !seen["FREQ"] {
		return "", badRepeat(s, "FREQ is required")
	}
	if seen["COUNT"] && seen["UNTIL"] {
		return "", badRepeat(s, "COUNT and UNTIL cannot both be given")
	}
	opt, err := rrule.StrToROption(r)
	if err != nil {
		return "", badRepeat(s, err.Error())
	}
	if seen["INTERVAL"] && opt.Interval < 1 || seen["COUNT"] && opt.Count < 1 {
		return "", badRepeat(s, "INTERVAL and COUNT must be at least 1")
	}
	opt.Dtstart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := rrule.NewRRule(*opt); err != nil { // range checks: BYMONTHDAY within ±31, …
		return "", badRepeat(s, err.Error())
	}
	return r, nil
}

// advance is the result of completing one occurrence of a repeating task.
type advance struct {
	next     Due // the new due date or time
	consumed int // occurrences used up: the one completed and any passed over on the way to today
}

// nextOccurrence works out where a repeating task due at due goes when its occurrence is
// completed at now, for a user in loc, with done occurrences already used up. The next
// occurrence after due is taken, and if that is still before today in loc, the first one on or
// after today; the occurrences passed over count as used. ok is false when the rule has no
// such occurrence left (COUNT used up, UNTIL passed): the task is then simply completed.
//
// A date-only due repeats on calendar dates (computed on dates, so a daylight-saving change
// never moves it); a due with a time repeats at the same wall-clock time in loc, so a 09:00
// task stays at 09:00 across a change.
func nextOccurrence(rule string, due Due, done int, now time.Time, loc *time.Location) (advance, bool, error) {
	ruleLoc, start, today := time.UTC, due.At.UTC(), localDate(now, loc)
	if due.HasTime {
		ruleLoc, start, today = loc, due.At.In(loc), dayStart(localDate(now, loc), loc)
	}
	opt, err := rrule.StrToROptionInLocation(rule, ruleLoc)
	if err != nil {
		return advance{}, false, badRepeat(rule, err.Error())
	}
	if due.HasTime && untilIsDate(rule) {
		// UNTIL=YYYYMMDD includes that whole day.
		opt.Until = opt.Until.AddDate(0, 0, 1).Add(-time.Second)
	}
	limit := opt.Count // counted here, over the whole series rather than from this due on
	opt.Count = 0
	opt.Dtstart = start.Truncate(time.Second)
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return advance{}, false, badRepeat(rule, err.Error())
	}
	used := 1 // the occurrence being completed
	next := r.Iterator()
	for {
		t, ok := next()
		if !ok {
			return advance{}, false, nil
		}
		if !t.After(start) {
			continue
		}
		if limit > 0 && done+used >= limit { // t would be occurrence done+used+1 of the series
			return advance{}, false, nil
		}
		if t.Before(today) {
			used++ // in the past already: passed over
			continue
		}
		if due.HasTime {
			return advance{next: Due{At: t.UTC(), HasTime: true}, consumed: used}, true, nil
		}
		return advance{next: Due{At: t}, consumed: used}, true, nil
	}
}

// untilIsDate reports whether the rule's UNTIL is a date without a time.
func untilIsDate(rule string) bool {
	for _, part := range strings.Split(rule, ";") {
		if v, ok := strings.CutPrefix(part, "UNTIL="); ok {
			return len(v) == len("20060102")
		}
	}
	return false
}
