package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// query is one sqlc-generated statement, read from the generated Go code so that the
// ceiling runs exactly the text mcpserver sends.
type query struct {
	name   string   // the Go method, e.g. InsertTask
	sql    string   // the statement text, byte for byte as sqlc wrote it
	params []string // the parameter for $1, $2, …: the Params field name
	// nullable holds the parameters whose Go type is a pointer: "not given" is nil, which
	// reaches PostgreSQL as NULL.
	nullable map[string]bool
}

// loadQuery finds method in the sqlc output under dir (db/*.sql.go): the const it passes to
// q.db.Query/QueryRow/Exec, and the arg.Field expressions that follow it, in order, which
// are $1, $2, … of the statement.
func loadQuery(dir, method string) (query, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sql.go"))
	if err != nil || len(files) == 0 {
		return query{}, fmt.Errorf("no sqlc output (*.sql.go) in %s", dir)
	}
	var known []string
	for _, path := range files {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return query{}, fmt.Errorf("parse %s: %w", path, err)
		}
		consts := stringConsts(f)
		structs := structTypes(f)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Body == nil {
				continue
			}
			known = append(known, fn.Name.Name)
			if fn.Name.Name != method {
				continue
			}
			q, err := queryOf(fn, consts, structs)
			if err != nil {
				return query{}, fmt.Errorf("%s in %s: %w", method, path, err)
			}
			return q, nil
		}
	}
	slices.Sort(known)
	return query{}, fmt.Errorf("no query method %s in %s (found: %s)", method, dir, strings.Join(known, ", "))
}

func queryOf(fn *ast.FuncDecl, consts map[string]string, structs map[string]*ast.StructType) (query, error) {
	var q query
	var found bool
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || found || len(call.Args) < 2 {
			return !found
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !slices.Contains([]string{"Query", "QueryRow", "Exec"}, sel.Sel.Name) {
			return true
		}
		id, ok := call.Args[1].(*ast.Ident)
		if !ok {
			return true
		}
		sql, ok := consts[id.Name]
		if !ok {
			return true
		}
		found = true
		q.sql = sql
		for _, a := range call.Args[2:] {
			switch a := a.(type) {
			case *ast.SelectorExpr: // arg.Field
				q.params = append(q.params, a.Sel.Name)
			case *ast.Ident: // a lone argument passed by its own name
				q.params = append(q.params, a.Name)
			default:
				q.params = append(q.params, "?")
			}
		}
		return false
	})
	if !found {
		return query{}, fmt.Errorf("no q.db.Query/QueryRow/Exec call with a SQL constant")
	}
	if slices.Contains(q.params, "?") {
		return query{}, fmt.Errorf("arguments are not all arg.Field or plain names: %v", q.params)
	}
	q.name = fn.Name.Name
	q.nullable = map[string]bool{}
	// func (q *Queries) X(ctx context.Context, arg XParams): the field types say which
	// arguments may be nil.
	if fn.Type.Params.NumFields() == 2 {
		if id, ok := fn.Type.Params.List[len(fn.Type.Params.List)-1].Type.(*ast.Ident); ok {
			if st, ok := structs[id.Name]; ok {
				for _, field := range st.Fields.List {
					_, ptr := field.Type.(*ast.StarExpr)
					for _, name := range field.Names {
						q.nullable[name.Name] = ptr
					}
				}
			}
		}
	}
	if n := maxPlaceholder(q.sql); n != len(q.params) {
		return query{}, fmt.Errorf("the statement uses $1…$%d but the call passes %d arguments", n, len(q.params))
	}
	return q, nil
}

var placeholder = regexp.MustCompile(`\$([0-9]+)`)

func maxPlaceholder(sql string) int {
	n := 0
	for _, m := range placeholder.FindAllStringSubmatch(sql, -1) {
		i, _ := strconv.Atoi(m[1])
		n = max(n, i)
	}
	return n
}

// stringConsts are a file's string constants, unquoted.
func stringConsts(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						out[name.Name] = s
					}
				}
			}
		}
	}
	return out
}

func structTypes(f *ast.File) map[string]*ast.StructType {
	out := map[string]*ast.StructType{}
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			if st, ok := ts.Type.(*ast.StructType); ok {
				out[ts.Name.Name] = st
			}
		}
		return true
	})
	return out
}

// execute is the statement that runs q as prepared statement stmt with values: a SQL
// expression (pgbench variables allowed) for each parameter by field name. Parameters
// missing from values must be nullable, and are passed as NULL, which is what the store
// sends for an option that is not given. A value for a parameter the query does not have
// is an error, so a changed query is noticed rather than measured wrongly.
func (q query) execute(stmt string, values map[string]string) (string, error) {
	args := make([]string, len(q.params))
	for i, p := range q.params {
		v, ok := values[p]
		switch {
		case ok:
			args[i] = v
		case q.nullable[p]:
			args[i] = "NULL"
		default:
			return "", fmt.Errorf("%s: no value for its parameter %s ($%d)", q.name, p, i+1)
		}
	}
	for name := range values {
		if !slices.Contains(q.params, name) {
			return "", fmt.Errorf("%s has no parameter %s (it has %s): update the benchmark's arguments", q.name, name, strings.Join(q.params, ", "))
		}
	}
	return fmt.Sprintf("EXECUTE %s(%s);", stmt, strings.Join(args, ", ")), nil
}

// prepare is the PREPARE of q's exact text as stmt; PostgreSQL infers the parameter types
// from the text, as it does for the unnamed Parse that pgx sends.
func (q query) prepare(stmt string) string {
	return fmt.Sprintf("PREPARE %s AS %s;", stmt, strings.TrimRight(strings.TrimSpace(q.sql), ";"))
}
