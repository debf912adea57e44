// Command k8sschema writes JSON Schemas for the Kubernetes kinds that deploy/k8s uses, built
// from the Go types of k8s.io/api (the types the API server decodes into), in the file layout
// kubeconform reads with -schema-location DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json.
//
// kubeconform normally downloads its schemas from GitHub, which CI cannot reach; the Go module
// proxy can serve k8s.io/api, so the schemas are derived from it instead. Every object forbids
// unknown fields (what kubeconform -strict checks), every field has its Go type's JSON type,
// and the special encodings (quantities, int-or-string, times) are spelled out. Required
// fields are not known from the Go types and are not checked.
//
//	go run ./k8sschema OUTDIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// kinds are the objects the manifests may contain; a kind not listed has no schema, which
// kubeconform reports as an error.
var kinds = []struct {
	apiVersion, kind string
	obj              any
}{
	{"v1", "ConfigMap", corev1.ConfigMap{}},
	{"v1", "Secret", corev1.Secret{}},
	{"v1", "Service", corev1.Service{}},
	{"v1", "ServiceAccount", corev1.ServiceAccount{}},
	{"apps/v1", "Deployment", appsv1.Deployment{}},
	{"autoscaling/v2", "HorizontalPodAutoscaler", autoscalingv2.HorizontalPodAutoscaler{}},
	{"policy/v1", "PodDisruptionBudget", policyv1.PodDisruptionBudget{}},
	{"networking.k8s.io/v1", "NetworkPolicy", networkingv1.NetworkPolicy{}},
}

// special are types whose JSON form is not their Go structure.
var special = map[reflect.Type]map[string]any{
	reflect.TypeFor[resource.Quantity]():   {"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}},
	reflect.TypeFor[intstr.IntOrString]():  {"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}},
	reflect.TypeFor[metav1.Time]():         {"type": []any{"string", "null"}, "format": "date-time"},
	reflect.TypeFor[metav1.MicroTime]():    {"type": []any{"string", "null"}, "format": "date-time"},
	reflect.TypeFor[metav1.Duration]():     {"type": "string"},
	reflect.TypeFor[metav1.FieldsV1]():     {},
	reflect.TypeFor[corev1.ResourceList](): {"type": []any{"object", "null"}, "additionalProperties": map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: k8sschema OUTDIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "k8sschema:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, k := range kinds {
		g := generator{defs: map[string]any{}}
		root := g.object(reflect.TypeOf(k.obj))
		props := root["properties"].(map[string]any)
		props["apiVersion"] = map[string]any{"type": "string", "enum": []any{k.apiVersion}}
		props["kind"] = map[string]any{"type": "string", "enum": []any{k.kind}}
		root["required"] = []any{"apiVersion", "kind"}
		root["$schema"] = "http://json-schema.org/draft-07/schema#"
		root["definitions"] = g.defs
		b, err := json.MarshalIndent(root, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fileName(k.apiVersion, k.kind)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fileName is kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json: the lower-case kind,
// then "-" and the first label of the group (if any), then "-" and the version.
func fileName(apiVersion, kind string) string {
	suffix := ""
	if group, version, ok := strings.Cut(apiVersion, "/"); ok {
		suffix = "-" + strings.Split(group, ".")[0] + "-" + version
	} else {
		suffix = "-" + apiVersion
	}
	return strings.ToLower(kind) + suffix + ".json"
}

type generator struct{ defs map[string]any }

// schema is the schema of a value of type t; structs go into definitions, referenced by name
// (so that recursive types terminate).
func (g generator) schema(t reflect.Type) map[string]any {
	if s, ok := special[t]; ok {
		return s
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		if _, isRef := s["$ref"]; isRef {
			return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
		}
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // []byte is base64 text
			return map[string]any{"type": []any{"string", "null"}}
		}
		return map[string]any{"type": []any{"array", "null"}, "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := strings.ReplaceAll(t.PkgPath(), "/", ".") + "." + t.Name()
		if _, done := g.defs[name]; !done {
			g.defs[name] = true // placeholder while its fields are walked
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/definitions/" + name}
	}
	return map[string]any{} // interfaces: anything
}

// object is a struct's schema: its JSON fields (embedded "inline" structs merged in), nothing
// else allowed.
func (g generator) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	g.fields(t, props)
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

func (g generator) fields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-" || (!f.IsExported() && !f.Anonymous):
			continue
		case f.Anonymous && (name == "" || strings.Contains(opts, "inline")):
			g.fields(f.Type, props)
			continue
		case name == "":
			name = f.Name
		}
		props[name] = g.schema(f.Type)
	}
}
