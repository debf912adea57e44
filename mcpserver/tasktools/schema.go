package tasktools

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/taskwire/taskwire/mcpserver/taskstore"
)

// The tool schemas are written out as JSON Schema values instead of being derived from Go
// structs: mcp-go's struct-tag parsing silently registers an empty schema on a tag it does
// not understand, and the limits below (lengths, enums, nullability) cannot be said in tags.
// The golden file in testdata/ pins what clients see.

type schema = map[string]any

// object is a closed object schema: arguments or fields not listed are refused.
func object(required []string, props schema) schema {
	s := schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func str(description string) schema {
	return schema{"type": "string", "description": description}
}

func with(s schema, extra schema) schema {
	out := maps.Clone(s)
	maps.Copy(out, extra)
	return out
}

// nullable lets a property also be null, which update_task reads as "clear this field".
func nullable(s schema) schema {
	return with(s, schema{"type": []string{s["type"].(string), "null"}})
}

// propertyNames lists an object schema's properties, sorted: the arguments a tool takes.
func propertyNames(s schema) []string {
	return slices.Sorted(maps.Keys(s["properties"].(schema)))
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("tasktools: schema does not marshal: " + err.Error())
	}
	return b
}

const dueFormat = "a date YYYY-MM-DD or an RFC 3339 date-time such as 2026-12-01T15:00:00Z"

var (
	taskIDArg = schema{"type": "integer", "minimum": 1,
		"description": "The task's number, as shown by list_tasks and add_task (people say \"task 3\")."}
	titleArg  = with(str("What needs doing."), schema{"minLength": 1, "maxLength": taskstore.MaxTitle})
	descArg   = with(str("Longer notes about the task."), schema{"maxLength": taskstore.MaxDescription})
	dueArg    = str("When the task is due: " + dueFormat + ".")
	prioArg   = schema{"type": "string", "enum": taskstore.Priorities, "description": "How important the task is."}
	repeatArg = with(str("Makes the task recur: an RFC 5545 RRULE with FREQ=DAILY, WEEKLY, MONTHLY or YEARLY and optionally "+
		"INTERVAL, BYDAY, BYMONTHDAY (-1 is the last day), COUNT or UNTIL, e.g. FREQ=WEEKLY;BYDAY=MO for every Monday, "+
		"FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR for weekdays, FREQ=MONTHLY;BYMONTHDAY=-1 for the last day of each month. Needs a due: the first occurrence."),
		schema{"maxLength": taskstore.MaxRepeat})
	timezoneArg = with(str("The user's time zone, an IANA name such as Europe/Berlin or America/New_York. Remembered for the user: "+
		"a due date YYYY-MM-DD is a whole day there, and today and overdue are judged there. Give it when you know it; the default is UTC."),
		schema{"maxLength": taskstore.MaxTimezone})
	tagsArg = schema{
		"type":        "array",
		"items":       schema{"type": "string", "minLength": 1, "maxLength": taskstore.MaxTag},
		"maxItems":    taskstore.MaxTags,
		"description": "Labels such as \"work\" or \"errands\", stored in lower case.",
	}
)

// taskSchema describes a task as every tool returns it.
var taskSchema = object(
	[]string{"task_id", "title", "description", "completed", "completed_at", "due", "priority", "tags", "created_at", "updated_at", "repeat", "deleted_at"},
	schema{
		"task_id":      schema{"type": "integer", "description": "The task's number for this user; never reused."},
		"title":        schema{"type": "string"},
		"description":  schema{"type": "string"},
		"completed":    schema{"type": "boolean"},
		"completed_at": schema{"type": []string{"string", "null"}, "format": "date-time", "description": "When the task was completed; on a repeating task that is still pending, when its last occurrence was."},
		"due":          schema{"type": []string{"string", "null"}, "description": "YYYY-MM-DD for a whole day in the user's time zone, otherwise an RFC 3339 time in UTC."},
		"priority":     schema{"type": "string", "enum": taskstore.Priorities},
		"tags":         schema{"type": "array", "items": schema{"type": "string"}},
		"created_at":   schema{"type": "string", "format": "date-time"},
		"updated_at":   schema{"type": "string", "format": "date-time"},
		"repeat":       schema{"type": []string{"string", "null"}, "description": "The RRULE the task recurs by, or null."},
		"deleted_at":   schema{"type": []string{"string", "null"}, "format": "date-time", "description": "When the task went to the trash (only in the trash list), else null."},
	},
)
