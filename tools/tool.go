// Package tools declares msidm's MCP tools: one typed tool per job. Each tool carries its
// definition (JSON Schemas generated from Go structs by invopop/jsonschema, annotations set
// explicitly), its toolset, its policy effect and its handler. Handlers read as
// parse -> call a client -> shape the result. tools/ knows nothing of HTTP or XML: it talks
// to the typed clients in clients/.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/msidm/msidm/policy"
)

// Toolset groups tools for --toolsets.
type Toolset string

// The toolsets.
const (
	ToolsetAds   Toolset = "ads"
	ToolsetEntra Toolset = "entra"
	ToolsetCross Toolset = "cross"
)

// Toolsets lists every toolset in display order.
var Toolsets = []Toolset{ToolsetAds, ToolsetEntra, ToolsetCross}

// Tool is one MCP tool as msidm registers it.
type Tool struct {
	Def     mcp.Tool
	Toolset Toolset
	Effect  policy.Effect
	Handler server.ToolHandlerFunc
}

// spec is what a tool constructor declares about itself.
type spec struct {
	Name        string
	Title       string
	Description string
	Toolset     Toolset
	Effect      policy.Effect
	// Idempotent: repeating the call with the same arguments has no further effect.
	Idempotent bool
}

// result is what every tool's output type provides: a compact text rendering for clients
// that do not read structuredContent.
type result interface {
	Text() string
}

// validator is implemented by inputs that check themselves after decoding.
type validator interface {
	validate() error
}

// Call is the per-call context a handler may need beyond its typed input.
type Call struct {
	req *mcp.CallToolRequest
}

// Progress sends notifications/progress when the client asked for it (a progressToken in
// _meta); otherwise it does nothing.
func (c *Call) Progress(ctx context.Context, done, total int, message string) {
	if c == nil || c.req == nil || c.req.Params.Meta == nil || c.req.Params.Meta.ProgressToken == nil {
		return
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return
	}
	_ = srv.SendNotificationToClient(ctx, "notifications/progress", map[string]any{
		"progressToken": c.req.Params.Meta.ProgressToken,
		"progress":      done,
		"total":         total,
		"message":       message,
	})
}

// define builds a Tool from a typed handler. The input and output JSON Schemas come from
// In and Out; annotations are derived from the declared effect, so no tool can forget them.
func define[In any, Out result](s spec, run func(ctx context.Context, call *Call, in In) (Out, error), errs *errorShaper) Tool {
	def := mcp.Tool{
		Name:            s.Name,
		Title:           s.Title,
		Description:     s.Description,
		RawInputSchema:  schemaOf[In](),
		RawOutputSchema: compactSchema(schemaOf[Out]()),
		Annotations:     annotationsFor(s),
	}
	handler := func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		in, err := decodeInput[In](req)
		if err != nil {
			return mcp.NewToolResultError(errs.text(err)), nil
		}
		out, err := run(ctx, &Call{req: &req}, in)
		var ready *readyResult
		if errors.As(err, &ready) {
			return ready.res, nil
		}
		if err != nil {
			return mcp.NewToolResultError(errs.text(err)), nil
		}
		res := mcp.NewToolResultStructured(out, errs.redact(out.Text()))
		if f, ok := any(out).(interface{ failed() bool }); ok && f.failed() {
			res.IsError = true // a failed or partial change is an error the model must act on
		}
		return res, nil
	}
	return Tool{Def: def, Toolset: s.Toolset, Effect: s.Effect, Handler: handler}
}

func annotationsFor(s spec) mcp.ToolAnnotation {
	readOnly := s.Effect == policy.Read
	destructive := s.Effect == policy.Destructive
	idempotent := readOnly || s.Idempotent
	// Closed world: the tools act only on the configured tenant and Ads customers.
	openWorld := false
	return mcp.ToolAnnotation{
		ReadOnlyHint:    &readOnly,
		DestructiveHint: &destructive,
		IdempotentHint:  &idempotent,
		OpenWorldHint:   &openWorld,
	}
}

// schemaOf reflects T into an inline JSON Schema (no $ref, no $schema), as MCP hosts expect.
func schemaOf[T any]() json.RawMessage {
	r := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true}
	s := r.Reflect(new(T))
	s.Version = ""
	s.ID = ""
	raw, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tools: schema of %T: %v", *new(T), err)) // a programming error, caught by tests
	}
	return raw
}

// compactSchema reduces an output schema to its top level: each property with its type (and
// an array's item type), without descriptions, enums, required lists or nested properties.
// The schema stays true to the output, the field names explain themselves, and the whole
// tools/list stays small (the model pays for every byte on every turn). Input schemas keep
// everything: the model needs it to call the tool right.
func compactSchema(raw json.RawMessage) json.RawMessage {
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return raw
	}
	props, _ := root["properties"].(map[string]any)
	out := map[string]any{"type": "object"}
	if len(props) > 0 {
		flat := make(map[string]any, len(props))
		for name, p := range props {
			flat[name] = shallow(p)
		}
		out["properties"] = flat
	}
	b, err := json.Marshal(out)
	if err != nil {
		return raw
	}
	return b
}

// shallow keeps a property's type, and for an array the type of its items.
func shallow(p any) any {
	m, ok := p.(map[string]any)
	if !ok {
		return p
	}
	out := map[string]any{}
	if t, ok := m["type"]; ok {
		out["type"] = t
	}
	if items, ok := m["items"].(map[string]any); ok {
		if t, ok := items["type"]; ok {
			out["items"] = map[string]any{"type": t}
		}
	}
	return out
}

// decodeInput binds the arguments strictly: an unknown argument or a wrong type is an error
// that names the field.
func decodeInput[In any](req mcp.CallToolRequest) (In, error) {
	var in In
	raw, err := json.Marshal(req.GetRawArguments())
	if err != nil {
		return in, inputError("arguments are not a JSON object")
	}
	if string(raw) == "null" {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, describeDecodeError[In](err)
	}
	if v, ok := any(&in).(validator); ok {
		if err := v.validate(); err != nil {
			return in, err
		}
	}
	return in, nil
}

func describeDecodeError[In any](err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return inputError("argument %q must be a %s, not a JSON %s", te.Field, jsonKind(te.Type), te.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return inputError("unknown argument %s; valid arguments are: %s", name, strings.Join(fieldNames[In](), ", "))
	}
	return inputError("arguments are not valid JSON for this tool: %v", err)
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

func fieldNames[T any]() []string { return jsonFields(reflect.TypeFor[T]()) }

// jsonFields lists the JSON names of a struct's fields, including promoted ones.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			names = append(names, jsonFields(f.Type)...)
			continue
		}
		if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	return names
}

// InputError is a problem with the arguments the caller can fix; its text names the field.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

func inputError(format string, args ...any) error {
	return &InputError{msg: fmt.Sprintf(format, args...)}
}

// readyResult carries a result the policy produced (a refusal, a request for input, an
// approval link) that the tool must return as is instead of its own output.
type readyResult struct{ res *mcp.CallToolResult }

func (r *readyResult) Error() string { return "policy result" }
