package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// geminiSchemaFields are the fields of Gemini's function-declaration Schema object (a subset
// of OpenAPI 3.0); Gemini answers 400 "Invalid JSON payload received. Unknown name …" for any
// other.
var geminiSchemaFields = []string{
	"type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems",
	"properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
	"pattern", "example", "anyOf", "propertyOrdering", "default", "minimum", "maximum",
}

var geminiTypes = []string{"string", "number", "integer", "boolean", "array", "object"}

// CheckGeminiSchema reports the first thing in a function's parameters that Gemini's
// OpenAI-compatible endpoint refuses: an unknown field, a type that is not one name (a type
// array such as ["string","null"]), an enum of non-strings, an OBJECT with empty properties,
// or a "required" name that is not a property. Null parameters (no arguments) pass.
func CheckGeminiSchema(params json.RawMessage) error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.UseNumber()
	var s map[string]any
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	return checkGemini("parameters", s)
}

func checkGemini(at string, s map[string]any) error {
	for k := range s {
		if !slices.Contains(geminiSchemaFields, k) {
			return fmt.Errorf("Invalid JSON payload received. Unknown name %q at '%s': Cannot find field", k, at)
		}
	}
	if t, ok := s["type"]; ok {
		name, isString := t.(string)
		if !isString || !slices.Contains(geminiTypes, name) {
			return fmt.Errorf("%s.type: %v is not one type name", at, t)
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		for _, e := range enum {
			if _, ok := e.(string); !ok {
				return fmt.Errorf("%s.enum: only strings are allowed, not %v", at, e)
			}
		}
	}
	props, hasProps := s["properties"].(map[string]any)
	if hasProps && len(props) == 0 {
		return fmt.Errorf("%s.properties: should be non-empty for OBJECT type", at)
	}
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if name, _ := r.(string); props[name] == nil {
				return fmt.Errorf("%s.required: %v is not a property", at, r)
			}
		}
	}
	for name, p := range props {
		if err := checkSub(at+".properties["+name+"]", p); err != nil {
			return err
		}
	}
	if items, ok := s["items"]; ok {
		if err := checkSub(at+".items", items); err != nil {
			return err
		}
	}
	if anyOf, ok := s["anyOf"]; ok {
		list, ok := anyOf.([]any)
		if !ok {
			return fmt.Errorf("%s.anyOf is not a list", at)
		}
		for i, a := range list {
			if err := checkSub(fmt.Sprintf("%s.anyOf[%d]", at, i), a); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkSub(at string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s is not a schema object", at)
	}
	return checkGemini(at, m)
}
