package agent

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/llm"
)

// TimezoneHeader is the request header a page sets to the user's IANA time zone (in a
// browser: Intl.DateTimeFormat().resolvedOptions().timeZone), so that "today" and "tomorrow"
// mean the user's days. Without it, or with a name that is not a known zone, UTC is used.
const TimezoneHeader = "X-Timezone"

// clientZone is the caller's time zone from TimezoneHeader, else UTC.
func clientZone(c chatkit.Caller) *time.Location {
	name := headerZone(c)
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// headerZone is the valid IANA zone name the caller sent, or "".
func headerZone(c chatkit.Caller) string {
	name := strings.TrimSpace(c.Header.Get(TimezoneHeader))
	if name == "" || len(name) > 64 || name == "Local" {
		return ""
	}
	if _, err := time.LoadLocation(name); err != nil {
		return ""
	}
	return name
}

// systemPrompt instructs the model. It gives today's date in the user's zone, because due
// dates are the one thing a task assistant cannot get right without it.
func systemPrompt(now time.Time, loc *time.Location, locale string) string {
	now = now.In(loc)
	var b strings.Builder
	b.WriteString("You are Taskwire, an assistant that manages the user's to-do list with the tools you are given.\n\n")
	fmt.Fprintf(&b, "Today is %s, %s; the time is %s (time zone %s). Resolve relative dates such as \"tomorrow\" or \"next Friday\" from this and pass dates to tools as YYYY-MM-DD (or RFC 3339 with the offset when a time of day is given).\n\n",
		now.Format("Monday"), now.Format("2006-01-02"), now.Format("15:04"), loc.String())
	b.WriteString(`Rules:
- Tasks are identified by their number (task_id). Refer to tasks by number and title, e.g. "task 3 (Buy milk)". When the user names a task by its title or description, use list_tasks to find its number first.
- If a request is ambiguous — several tasks could match, a needed detail is missing, or you are unsure what the user wants changed — ask a short question instead of guessing. Never delete or change a task you are not sure about.
- Only say you did something after the tool call for it succeeded. If a tool returns an error, say what failed, plainly; never claim an action you did not perform.
- Keep answers short and friendly. Use Markdown lists for several tasks.
- You can only manage tasks. For anything else, say briefly that you help with the to-do list.`)
	if locale != "" && len(locale) <= 64 {
		fmt.Fprintf(&b, "\n- The user's language preference is %q: answer in the language the user writes in.", locale)
	}
	return b.String()
}

// Title limits: the model is asked for 2–6 words; anything beyond maxTitleWords words or
// maxTitleLen bytes is not a title but chatter, and the fallback is used.
const (
	maxTitleWords = 8
	maxTitleLen   = 80
	titleTimeout  = 15 * time.Second
	titlePrompt   = "Write a title of 2 to 6 words for a to-do list conversation that starts with the user's message below. " +
		"Answer with the title only: no quotes, no final punctuation."
)

// nameThread gives a new thread a short title from the model, or the first words of the
// user's message when that fails, and sends thread.updated. Failures are only logged: the
// answer has already been given.
func (a *Agent) nameThread(ctx context.Context, s *chatkit.Stream, userText, reply string) {
	title := fallbackTitle(userText)
	tctx, cancel := context.WithTimeout(ctx, titleTimeout)
	defer cancel()
	prompt := "User: " + truncate(userText, 2000)
	if reply != "" {
		prompt += "\n\nAssistant: " + truncate(reply, 1000)
	}
	start := time.Now()
	t, err := a.cfg.LLM.Complete(tctx, llm.Request{
		Messages:  []llm.Message{{Role: llm.RoleSystem, Content: titlePrompt}, {Role: llm.RoleUser, Content: prompt}},
		MaxTokens: 40,
	})
	a.observeLLM(t, err, time.Since(start))
	if err != nil {
		a.log.InfoContext(ctx, "agent: model title failed, using the message's first words", "error", err)
	} else if m := cleanTitle(t.Text); m != "" {
		title = m
	}
	if ctx.Err() != nil || title == "" {
		return
	}
	if err := s.SetTitle(title); err != nil {
		a.log.WarnContext(ctx, "agent: setting the thread title failed", "error", err)
	}
}

// cleanTitle turns the model's answer into a title, or "" if it is not one.
func cleanTitle(s string) string {
	s = strings.TrimSpace(strings.SplitN(strings.TrimSpace(s), "\n", 2)[0])
	s = strings.TrimPrefix(s, "Title:")
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`"'“”‘’*#.!:`, r)
	})
	words := strings.Fields(s)
	if len(words) == 0 || len(words) > maxTitleWords || len(s) > maxTitleLen {
		return ""
	}
	return strings.Join(words, " ")
}

// fallbackTitle is the first six words of the message.
func fallbackTitle(text string) string {
	words := strings.Fields(text)
	if len(words) > 6 {
		words = words[:6]
	}
	return truncate(strings.Join(words, " "), maxTitleLen)
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
