// Package envconf reads a service's configuration struct from environment variables (the env
// tags of caarlos0/env) and words every error in terms of the variable a person sets, never
// the Go field behind it.
package envconf

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/caarlos0/env/v11"
)

// Parse fills a T from environ ("KEY=value" pairs, as os.Environ returns).
func Parse[T any](environ []string) (T, error) {
	c, err := env.ParseAsWithOptions[T](env.Options{Environment: env.ToMap(environ)})
	if err == nil {
		return c, nil
	}
	var perr env.ParseError
	if errors.As(err, &perr) {
		if name, ok := variable(reflect.TypeFor[T](), perr.Name); ok {
			return c, fmt.Errorf("%s: %w", name, perr.Err)
		}
	}
	return c, err
}

// variable finds the env tag of the field called field, looking into nested structs too.
func variable(t reflect.Type, field string) (string, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == field {
			if tag, _, _ := cutComma(f.Tag.Get("env")); tag != "" {
				return tag, true
			}
		}
		if f.Type.Kind() == reflect.Struct {
			if name, ok := variable(f.Type, field); ok {
				return name, true
			}
		}
	}
	return "", false
}

func cutComma(tag string) (string, string, bool) {
	for i := range len(tag) {
		if tag[i] == ',' {
			return tag[:i], tag[i+1:], true
		}
	}
	return tag, "", false
}
