package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// Tool parameter schemas come from MCP servers as JSON Schema (draft 2020-12). OpenAI and the
// generic OpenAI-compatible servers take them as they are. Gemini does not: its function
// declarations take a subset of the OpenAPI 3.0 schema object and answer HTTP 400 ("Invalid
// JSON payload received. Unknown name …") for any other keyword, for a type array such as
// ["string","null"], and for an OBJECT without properties. docs/llm.md lists what was checked.

// geminiKeywords are the schema fields Gemini's function declarations accept.
var geminiKeywords = map[string]bool{
	"type": true, "format": true, "title": true, "description": true, "nullable": true,
	"enum": true, "items": true, "minItems": true, "maxItems": true, "properties": true,
	"required": true, "minProperties": true, "maxProperties": true, "minLength": true,
	"maxLength": true, "pattern": true, "example": true, "anyOf": true, "propertyOrdering": true,
	"default": true, "minimum": true, "maximum": true,
}

// geminiFormats are the formats Gemini accepts per type; others are refused, so they are
// dropped (a format only hints, it never changes what the tool accepts).
var geminiFormats = map[string][]string{
	"string":  {"enum", "date-time"},
	"integer": {"int32", "int64"},
	"number":  {"float", "double"},
}

// maxSchemaDepth bounds the walk (and $ref expansion, which could otherwise recurse forever).
const maxSchemaDepth = 10

// toolsFor returns the tools as this backend's provider accepts them. The input is never
// modified: the same definitions are shared by every turn.
func (b *backend) toolsFor(tools []openai.Tool) []openai.Tool {
	if !b.isGemini() || len(tools) == 0 {
		return tools
	}
	out := make([]openai.Tool, len(tools))
	for i, t := range tools {
		out[i] = t
		if t.Function == nil {
			continue
		}
		f := *t.Function
		params, err := GeminiParameters(f.Parameters)
		if err != nil {
			// Sent unchanged: the provider's 400 then names the problem, which beats guessing.
			continue
		}
		f.Parameters = params
		out[i].Function = &f
	}
	return out
}

// GeminiParameters rewrites a function's JSON Schema parameters into the subset Gemini takes:
//   - a type array becomes one type plus "nullable": true, or an anyOf of the types;
//   - "oneOf" becomes "anyOf", a one-element "allOf" is merged in, local "$ref"s are inlined;
//   - "const" becomes a one-value "enum"; an enum of non-strings moves into the description;
//   - "exclusiveMinimum"/"exclusiveMaximum" become "minimum"/"maximum";
//   - unknown keywords ("$schema", "additionalProperties", "examples", …) and unsupported
//     formats are dropped; "required" keeps only listed properties;
//   - an object without properties loses its "properties" member, and parameters that take
//     no arguments at all are sent as null (Gemini refuses an empty OBJECT).
func GeminiParameters(params any) (any, error) {
	if params == nil {
		return nil, nil
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("parameters are not a JSON object: %w", err)
	}
	if root == nil {
		return nil, nil
	}
	w := geminiWalker{root: root}
	s := w.schema(root, 0)
	if props, _ := s["properties"].(map[string]any); len(props) == 0 && s["type"] == "object" {
		return nil, nil
	}
	return s, nil
}

type geminiWalker struct{ root map[string]any }

func (w geminiWalker) schema(in map[string]any, depth int) map[string]any {
	if depth > maxSchemaDepth {
		return map[string]any{"type": "string", "description": "JSON text (nested too deeply to describe)"}
	}
	in = w.flatten(in, depth)
	out := map[string]any{}
	for k, v := range in {
		if geminiKeywords[k] {
			out[k] = v
		}
	}
	w.types(in, out, depth)
	if c, ok := in["const"]; ok {
		out["enum"] = []any{c}
	}
	if v, ok := in["exclusiveMinimum"]; ok && isNumber(v) {
		out["minimum"] = v
	}
	if v, ok := in["exclusiveMaximum"]; ok && isNumber(v) {
		out["maximum"] = v
	}
	stringEnum(out)
	if f, ok := out["format"].(string); ok {
		t, _ := out["type"].(string)
		if !slices.Contains(geminiFormats[t], f) {
			delete(out, "format")
		}
	}
	if items, ok := out["items"]; ok {
		if tuple, ok := items.([]any); ok && len(tuple) > 0 { // a tuple: its first element
			items = tuple[0]
		}
		if m, ok := items.(map[string]any); ok {
			out["items"] = w.schema(m, depth+1)
		} else {
			delete(out, "items")
		}
	}
	if anyOf, ok := out["anyOf"].([]any); ok {
		out["anyOf"] = w.list(anyOf, depth)
	}
	w.properties(out, depth)
	return out
}

// flatten resolves a local $ref and merges a one-element allOf, and renames oneOf to anyOf.
// A $ref that does not resolve is dropped along with the other unknown keywords.
func (w geminiWalker) flatten(in map[string]any, depth int) map[string]any {
	ref, hasRef := in["$ref"].(string)
	all, _ := in["allOf"].([]any)
	_, hasOneOf := in["oneOf"]
	if !hasRef && len(all) != 1 && !hasOneOf {
		return in
	}
	out := map[string]any{}
	if hasRef {
		if target, ok := w.resolve(ref); ok && depth < maxSchemaDepth {
			maps.Copy(out, w.flatten(target, depth+1))
		}
	}
	if len(all) == 1 {
		if m, ok := all[0].(map[string]any); ok {
			maps.Copy(out, w.flatten(m, depth+1))
		}
	}
	for k, v := range in {
		switch k {
		case "$ref", "allOf":
		case "oneOf":
			if _, ok := in["anyOf"]; !ok {
				out["anyOf"] = v
			}
		default:
			out[k] = v
		}
	}
	return out
}

// resolve follows "#/$defs/Name" or "#/definitions/Name" from the root schema.
func (w geminiWalker) resolve(ref string) (map[string]any, bool) {
	for _, prefix := range []string{"#/$defs/", "#/definitions/"} {
		if name, ok := strings.CutPrefix(ref, prefix); ok {
			defs, _ := w.root[strings.TrimSuffix(strings.TrimPrefix(prefix, "#/"), "/")].(map[string]any)
			target, ok := defs[name].(map[string]any)
			return target, ok
		}
	}
	return nil, false
}

// types turns a type array, or an anyOf with a {"type":"null"} member, into one type plus
// "nullable": true, or into an anyOf of the remaining types.
func (w geminiWalker) types(in, out map[string]any, depth int) {
	if list, ok := in["type"].([]any); ok {
		var kinds []any
		for _, t := range list {
			if t == "null" {
				out["nullable"] = true
			} else {
				kinds = append(kinds, t)
			}
		}
		switch len(kinds) {
		case 0:
			delete(out, "type")
		case 1:
			out["type"] = kinds[0]
		default:
			delete(out, "type")
			var alts []any
			for _, k := range kinds {
				alts = append(alts, map[string]any{"type": k})
			}
			out["anyOf"] = alts
		}
	}
	anyOf, ok := out["anyOf"].([]any)
	if !ok {
		return
	}
	kept := anyOf[:0:0]
	for _, a := range anyOf {
		if m, ok := a.(map[string]any); ok && m["type"] == "null" && len(m) == 1 {
			out["nullable"] = true
			continue
		}
		kept = append(kept, a)
	}
	switch m, ok := first(kept); {
	case len(kept) == 0:
		delete(out, "anyOf")
		return
	case len(kept) == 1 && ok:
		delete(out, "anyOf")
		for k, v := range w.schema(m, depth+1) {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
		return
	}
	out["anyOf"] = kept
}

func first(list []any) (map[string]any, bool) {
	if len(list) == 0 {
		return nil, false
	}
	m, ok := list[0].(map[string]any)
	return m, ok
}

func (w geminiWalker) list(schemas []any, depth int) []any {
	out := make([]any, 0, len(schemas))
	for _, s := range schemas {
		if m, ok := s.(map[string]any); ok {
			out = append(out, w.schema(m, depth+1))
		}
	}
	return out
}

// properties walks the properties, keeps "required" to the ones present, and drops an empty
// "properties" member (Gemini: "properties: should be non-empty for OBJECT type").
func (w geminiWalker) properties(out map[string]any, depth int) {
	props, _ := out["properties"].(map[string]any)
	if len(props) == 0 {
		delete(out, "properties")
		delete(out, "required")
		return
	}
	walked := make(map[string]any, len(props))
	for name, p := range props {
		if m, ok := p.(map[string]any); ok {
			walked[name] = w.schema(m, depth+1)
		}
	}
	out["properties"] = walked
	if req, ok := out["required"].([]any); ok {
		kept := []any{}
		for _, r := range req {
			if name, ok := r.(string); ok && walked[name] != nil {
				kept = append(kept, r)
			}
		}
		out["required"] = kept
	}
}

// stringEnum keeps an enum of strings (all Gemini takes) and moves any other enum into the
// description, so the model still learns the allowed values.
func stringEnum(out map[string]any) {
	enum, ok := out["enum"].([]any)
	if !ok {
		return
	}
	words := make([]string, 0, len(enum))
	allStrings := true
	for _, e := range enum {
		s, isString := e.(string)
		if !isString {
			allStrings = false
			b, _ := json.Marshal(e)
			s = string(b)
		}
		words = append(words, s)
	}
	if allStrings {
		return
	}
	delete(out, "enum")
	note := "One of: " + strings.Join(words, ", ") + "."
	if d, _ := out["description"].(string); d != "" {
		note = d + " " + note
	}
	out["description"] = note
}

func isNumber(v any) bool {
	_, ok := v.(json.Number)
	return ok
}
