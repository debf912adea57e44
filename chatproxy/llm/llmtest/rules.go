package llmtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Rule maps a user message to a tool call: when Pattern matches the last user message, the
// fake calls Tool with the arguments Args builds from the submatches.
type Rule struct {
	Pattern *regexp.Regexp
	Tool    string
	Args    func(match []string) map[string]any
}

// DefaultRules cover the design's example requests against mcpserver's tools: "Add a task to
// buy groceries", "Show me all my tasks", "Mark task #1 as complete", "Delete task 2".
func DefaultRules() []Rule {
	taskID := func(m []string) map[string]any {
		n, _ := strconv.Atoi(m[1])
		return map[string]any{"task_id": n}
	}
	return []Rule{
		{regexp.MustCompile(`(?i)\badd (?:a )?(?:new )?task(?: to| called| named|:)?\s+(.+?)[.!]*$`), "add_task",
			func(m []string) map[string]any { return map[string]any{"title": m[1]} }},
		{regexp.MustCompile(`(?i)\b(?:complete|finish|mark|done with)\b\D*#?(\d+)`), "complete_task", taskID},
		{regexp.MustCompile(`(?i)\b(?:delete|remove)\b\D*#?(\d+)`), "delete_task", taskID},
		{regexp.MustCompile(`(?i)\b(?:show|list|what are|what's on)\b.*\btasks?\b`), "list_tasks",
			func([]string) map[string]any { return map[string]any{} }},
	}
}

// RuleResponder answers like a small, obedient model: after tool results it summarises them;
// otherwise it calls the tool of the first rule matching the last user message (when the
// request offers that tool), or says what it can do.
func RuleResponder(rules ...Rule) Responder {
	if len(rules) == 0 {
		rules = DefaultRules()
	}
	return func(req Request) Response {
		if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == "tool" {
			return Text(summarise(req.Messages))
		}
		msg := strings.TrimSpace(req.LastUser())
		for _, r := range rules {
			m := r.Pattern.FindStringSubmatch(msg)
			if m == nil || !req.HasTool(r.Tool) {
				continue
			}
			args, err := json.Marshal(r.Args(m))
			if err != nil {
				continue
			}
			return ToolCalls(Call{Name: r.Tool, Arguments: string(args)})
		}
		return Text("I can add, list, complete and delete tasks. Try “Add a task to buy milk”.")
	}
}

// summarise describes the trailing tool results of a conversation in one sentence each.
func summarise(msgs []Message) string {
	names := map[string]string{}
	for _, m := range msgs {
		for _, c := range m.ToolCalls {
			names[c.ID] = c.Function.Name
		}
	}
	start := len(msgs)
	for start > 0 && msgs[start-1].Role == "tool" {
		start--
	}
	var out []string
	for _, m := range msgs[start:] {
		name := m.Name
		if name == "" {
			name = names[m.ToolCallID]
		}
		out = append(out, summariseResult(name, m.Content))
	}
	return strings.Join(out, " ")
}

var verbs = map[string]string{"add_task": "Added", "complete_task": "Completed", "delete_task": "Deleted", "update_task": "Updated"}

func summariseResult(tool, content string) string {
	var task struct {
		TaskID    int    `json:"task_id"`
		Title     string `json:"title"`
		Completed *bool  `json:"completed"`
	}
	var list struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	switch {
	case json.Unmarshal([]byte(content), &list) == nil && list.Tasks != nil:
		if len(list.Tasks) == 0 {
			return "You have no tasks."
		}
		var titles []string
		for _, raw := range list.Tasks {
			if json.Unmarshal(raw, &task) == nil {
				titles = append(titles, fmt.Sprintf("#%d %s", task.TaskID, task.Title))
			}
		}
		return fmt.Sprintf("You have %d task(s): %s.", len(list.Tasks), strings.Join(titles, "; "))
	case json.Unmarshal([]byte(content), &task) == nil && task.Title != "" && verbs[tool] != "":
		return fmt.Sprintf("%s “%s” (task %d).", verbs[tool], task.Title, task.TaskID)
	}
	if len(content) > 200 {
		content = strings.ToValidUTF8(content[:200], "") + "…"
	}
	return fmt.Sprintf("%s answered: %s", or(tool, "The tool"), content)
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
