package envconf

import (
	"strings"
	"testing"
	"time"
)

type inner struct {
	Delay time.Duration `env:"INNER_DELAY" envDefault:"1s"`
}

type config struct {
	Port  int    `env:"PORT" envDefault:"8000"`
	URL   string `env:"DATABASE_URL,required"`
	Inner inner
}

func TestParse(t *testing.T) {
	tests := []struct {
		environ []string
		wantErr string // empty: success
	}{
		{[]string{"DATABASE_URL=x"}, ""},
		{[]string{"DATABASE_URL=x", "PORT=eighty"}, "PORT: "},
		{[]string{"DATABASE_URL=x", "INNER_DELAY=soon"}, "INNER_DELAY: "},
		{nil, "DATABASE_URL"},
	}
	for _, tt := range tests {
		c, err := Parse[config](tt.environ)
		if tt.wantErr == "" {
			if err != nil || c.Port != 8000 || c.URL != "x" || c.Inner.Delay != time.Second {
				t.Errorf("Parse(%v) = %+v, %v", tt.environ, c, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "field \"") {
			t.Errorf("Parse(%v) error = %v, want one naming %s", tt.environ, err, tt.wantErr)
		}
	}
}
