package tools

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/policy"
)

var toolName = regexp.MustCompile(`^[a-z][a-z0-9_]{2,63}$`)

// TestEveryToolDeclaresItsContract fails when a tool omits an annotation, declares hints
// that contradict its policy effect, or has a schema MCP hosts cannot use.
func TestEveryToolDeclaresItsContract(t *testing.T) {
	for _, tool := range All(&Deps{}) {
		t.Run(tool.Def.Name, func(t *testing.T) {
			a := tool.Def.Annotations
			if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
				t.Fatal("an annotation hint is not set explicitly")
			}
			if *a.ReadOnlyHint != (tool.Effect == policy.Read) || *a.DestructiveHint != (tool.Effect == policy.Destructive) {
				t.Errorf("hints readOnly=%v destructive=%v contradict effect %v", *a.ReadOnlyHint, *a.DestructiveHint, tool.Effect)
			}
			if tool.Effect < policy.Read || tool.Effect > policy.Destructive {
				t.Errorf("effect %v is not declared", tool.Effect)
			}
			if !toolName.MatchString(tool.Def.Name) || tool.Def.Description == "" || tool.Def.Title == "" {
				t.Errorf("name/title/description: %q %q %q", tool.Def.Name, tool.Def.Title, tool.Def.Description)
			}
			var in, out map[string]any
			if err := json.Unmarshal(tool.Def.RawInputSchema, &in); err != nil || in["type"] != "object" || in["additionalProperties"] != false {
				t.Errorf("input schema must be a closed object: %s", tool.Def.RawInputSchema)
			}
			if err := json.Unmarshal(tool.Def.RawOutputSchema, &out); err != nil || out["type"] != "object" {
				t.Errorf("output schema must be an object: %s", tool.Def.RawOutputSchema)
			}
			if _, err := json.Marshal(tool.Def); err != nil {
				t.Errorf("tool definition does not marshal (tools/list would break): %v", err)
			}
		})
	}
}

// TestToolSchemaSnapshots keeps every tool's definition in testdata/toolsnaps so that any
// change of the contract with agents is a reviewed diff. UPDATE_TOOLSNAPS=1 rewrites them.
func TestToolSchemaSnapshots(t *testing.T) {
	dir := filepath.Join("..", "testdata", "toolsnaps")
	for _, tool := range All(&Deps{}) {
		got, err := json.MarshalIndent(tool.Def, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		file := filepath.Join(dir, tool.Def.Name+".json")
		if os.Getenv("UPDATE_TOOLSNAPS") != "" {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v: run UPDATE_TOOLSNAPS=1 go test ./tools -run TestToolSchemaSnapshots", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s changed its contract; review and run UPDATE_TOOLSNAPS=1 go test ./tools -run TestToolSchemaSnapshots\n got: %s", tool.Def.Name, got)
		}
	}
}

func TestCursorRoundTripAndScope(t *testing.T) {
	c := cursor{URL: "https://graph.microsoft.com/v1.0/users?$skiptoken=x", Skip: 3, Scope: "entra-users"}
	got, err := decodeCursor(c.encode(), "entra-users")
	if err != nil || got != c {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []struct{ s, scope, want string }{
		{"%%%", "entra-users", "not a next_cursor"},
		{c.encode(), "ads-users/1/all/false", "different filters"},
		{cursor{Skip: -1, Scope: "x"}.encode(), "x", "not a next_cursor"},
	} {
		if _, err := decodeCursor(bad.s, bad.scope); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("decodeCursor(%q): %v, want %q", bad.s, err, bad.want)
		}
	}
}

func TestFitBudget(t *testing.T) {
	per := 1000
	for _, n := range []int{0, 1, 5, 16, 17, 40} {
		got := fitBudget(n, func(k int) int { return k * per })
		want := min(n, resultBudget/per)
		if n > 0 && want == 0 {
			want = 1
		}
		if got != want {
			t.Errorf("n=%d: got %d want %d", n, got, want)
		}
	}
	if got := fitBudget(3, func(k int) int { return resultBudget * 2 }); got != 1 {
		t.Errorf("an oversized single item must still be returned: got %d", got)
	}
}

// TestEntraPageStaysWithinBudget builds a page of users with long fields and checks the
// result is trimmed under the budget with a cursor that resumes exactly after it.
func TestEntraPageStaysWithinBudget(t *testing.T) {
	page := &graph.UserPage{NextLink: "https://graph.microsoft.com/v1.0/users?$skiptoken=next"}
	for i := range 200 {
		page.Users = append(page.Users, graph.User{ID: fmt.Sprintf("id-%03d", i), UserPrincipalName: fmt.Sprintf("user%03d@contoso.example", i),
			DisplayName: strings.Repeat("Long Name ", 8), JobTitle: strings.Repeat("Principal Engineer ", 4)})
	}
	const pageURL = "https://graph.microsoft.com/v1.0/users?$top=200"
	first := shapeEntraPage(page, pageURL, "entra-users", 0, 200)
	if size := jsonSize(first); size > resultBudget+512 || first.Count == 0 || first.Count == 200 {
		t.Fatalf("count %d size %d", first.Count, size)
	}
	c, err := decodeCursor(first.NextCursor, "entra-users")
	if err != nil || c.URL != pageURL || c.Skip != first.Count {
		t.Fatalf("cursor %+v %v", c, err)
	}
	seen := first.Count
	for c.URL == pageURL {
		next := shapeEntraPage(page, c.URL, "entra-users", c.Skip, 200)
		if next.Users[0].ID != fmt.Sprintf("id-%03d", seen) {
			t.Fatalf("resumed at %s, want id-%03d", next.Users[0].ID, seen)
		}
		seen += next.Count
		if c, err = decodeCursor(next.NextCursor, "entra-users"); err != nil {
			t.Fatal(err)
		}
	}
	if seen != 200 || c.URL != page.NextLink {
		t.Fatalf("seen %d, last cursor %+v", seen, c)
	}
}

// TestToolsListStaysSmall measures the whole tools/list response a host receives: the model
// pays for every byte of it on every turn.
func TestToolsListStaysSmall(t *testing.T) {
	e := newEnv(t, envOptions{})
	list, err := e.client.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "result": list})
	t.Logf("tools/list: %d tools, %d bytes", len(list.Tools), len(raw))
	if len(raw) > 40<<10 {
		t.Fatalf("tools/list is %d bytes, over the 40 KB budget: shorten descriptions or schemas", len(raw))
	}
}
