package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppend holds Append to encoding/json, with and without HTML escaping.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\rcr", "\b\f\x00\x1f\x7f",
		"line\u2028para\u2029", "bad \xff utf-8 \xe2\x82", "café 東京 😀", `\u003c already escaped`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tc := range []struct {
			name string
			e    *Escaping
			html bool
		}{{"HTML", HTML, true}, {"Plain", Plain, false}} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(tc.html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			want.Truncate(want.Len() - 1) // Encode's newline
			if got := Append(nil, s, tc.e); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s: Append(%q) = %s, encoding/json: %s", tc.name, s, got, want.Bytes())
			}
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	s := `{"tasks":[{"task_id":1,"title":"Buy groceries","description":"milk, eggs","tags":["home"]}]}`
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = Append(buf[:0], s, HTML)
	}
}

func TestUnquoted(t *testing.T) {
	for _, c := range []struct {
		quoted string
		want   string
		ok     bool
	}{
		{`""`, "", true},
		{`"plain text é"`, "plain text é", true},
		{`"a\"b"`, "", false},       // an escape: must be decoded
		{`"\u00e9"`, "", false},     // likewise
		{"\"bad \xff\"", "", false}, // encoding/json would replace the byte
	} {
		s, ok := Unquoted([]byte(c.quoted))
		if ok != c.ok || (ok && string(s) != c.want) {
			t.Errorf("Unquoted(%q) = %q, %v; want %q, %v", c.quoted, s, ok, c.want, c.ok)
		}
		if ok {
			var dec string
			if err := json.Unmarshal([]byte(c.quoted), &dec); err != nil || dec != string(s) {
				t.Errorf("Unquoted(%q) = %q, but encoding/json decodes %q (%v)", c.quoted, s, dec, err)
			}
		}
	}
}
