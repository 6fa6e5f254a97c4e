package githubfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// SpecPath is where `make test-assets` installs GitHub's official OpenAPI
// description (npm @octokit/openapi), relative to the module root.
const SpecPath = ".cache/npm/openapi-23.0.2-webhooks-7.6.1/node_modules/@octokit/openapi/generated/api.github.com.json"

// Spec is GitHub's REST API description, cut down to the operations the
// fake serves. Every request to a Server and every answer it gives is
// checked against it, so that the fake cannot drift from GitHub.
//
// Loading takes about half a second (most of it reading the 13 MB file):
// load one Spec per test and hand it to every Server the test starts. A
// Spec is only read after loading, so servers running in parallel may
// share it.
type Spec struct {
	router routers.Router
}

// endpoints are the operations the fake serves, by the method and path
// template of GitHub's API description. The Server dispatches on these same
// strings, so it can serve nothing the description does not have.
func endpoints() []string {
	return []string{
		"GET /user",
		"GET /app",
		"POST /app/installations/{installation_id}/access_tokens",
		"GET /repos/{owner}/{repo}",
		"GET /repos/{owner}/{repo}/installation",
		"GET /repos/{owner}/{repo}/pulls",
		"POST /repos/{owner}/{repo}/pulls",
		"GET /repos/{owner}/{repo}/pulls/{pull_number}",
		"PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
		"GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
		"PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge",
		"GET /repos/{owner}/{repo}/commits/{ref}/status",
		"GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
		"GET /repos/{owner}/{repo}/issues",
		"POST /repos/{owner}/{repo}/issues",
		"PATCH /repos/{owner}/{repo}/issues/{issue_number}",
		"GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
		"POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
		"GET /repos/{owner}/{repo}/issues/comments",
		"GET /repos/{owner}/{repo}/issues/comments/{comment_id}",
		"PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
		"GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
		"POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
		"GET /repos/{owner}/{repo}/collaborators/{username}/permission",
	}
}

// LoadSpec loads the API description from the module's .cache directory.
// It skips the test when the file is absent: `make test-assets` installs
// it.
func LoadSpec(t testing.TB) *Spec {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("finding the module root: %v", err)
	}
	file := filepath.Join(root, filepath.FromSlash(SpecPath))
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("GitHub's OpenAPI description %s is not installed: `make test-assets` provides it", SpecPath)
	}
	if err != nil {
		t.Fatalf("reading GitHub's OpenAPI description: %v", err)
	}
	spec, err := ParseSpec(data)
	if err != nil {
		t.Fatalf("loading GitHub's OpenAPI description %s: %v", SpecPath, err)
	}
	return spec
}

// ParseSpec reads GitHub's API description and keeps only the operations
// the fake serves and the components they refer to, directly or not.
//
// Cutting the document down before kin-openapi resolves it is what makes
// loading fast: the whole description takes about 3 seconds and 55 MB to
// load, the cut-down one a quarter of a second. The document is not
// validated as a whole (GitHub's description does not pass kin-openapi's
// checks: some examples do not match their schemas, some paths overlap),
// and examples are not checked.
func ParseSpec(data []byte) (*Spec, error) {
	trimmed, err := trimSpec(data, endpoints())
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(trimmed)
	if err != nil {
		return nil, fmt.Errorf("resolving the description: %w", err)
	}
	// No servers: routes are matched on the path alone, whatever host and
	// prefix the fake is served under.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("routing the description: %w", err)
	}
	return &Spec{router: router}, nil
}

// find returns the operation a request (its path without the API prefix)
// is for, and its path parameters.
func (s *Spec) find(r *http.Request) (*routers.Route, map[string]string, error) {
	return s.router.FindRoute(r)
}

// trimSpec keeps the given operations ("METHOD /path") of the description
// and the components they need.
func trimSpec(data []byte, keep []string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("decoding the description: %w", err)
	}
	var paths map[string]map[string]json.RawMessage
	if err := json.Unmarshal(top["paths"], &paths); err != nil {
		return nil, fmt.Errorf("decoding the description's paths: %w", err)
	}
	var components map[string]map[string]json.RawMessage
	if err := json.Unmarshal(top["components"], &components); err != nil {
		return nil, fmt.Errorf("decoding the description's components: %w", err)
	}

	keptPaths := map[string]map[string]json.RawMessage{}
	var queue []json.RawMessage
	for _, op := range keep {
		method, path, _ := strings.Cut(op, " ")
		item, ok := paths[path]
		if !ok {
			return nil, fmt.Errorf("the description has no path %s", path)
		}
		m := strings.ToLower(method)
		if _, ok := item[m]; !ok {
			return nil, fmt.Errorf("the description has no operation %s", op)
		}
		if keptPaths[path] == nil {
			keptPaths[path] = map[string]json.RawMessage{}
			if p, ok := item["parameters"]; ok {
				keptPaths[path]["parameters"] = p
				queue = append(queue, p)
			}
		}
		keptPaths[path][m] = item[m]
		queue = append(queue, item[m])
	}

	ref := regexp.MustCompile(`"\$ref"\s*:\s*"#/components/([^/"]+)/([^"]+)"`)
	kept := map[string]map[string]json.RawMessage{}
	for len(queue) > 0 {
		raw := queue[0]
		queue = queue[1:]
		for _, m := range ref.FindAllSubmatch(raw, -1) {
			kind := string(m[1])
			name := strings.NewReplacer("~1", "/", "~0", "~").Replace(string(m[2]))
			if _, ok := kept[kind][name]; ok {
				continue
			}
			c, ok := components[kind][name]
			if !ok {
				return nil, fmt.Errorf("the description refers to a missing component %s/%s", kind, name)
			}
			if kept[kind] == nil {
				kept[kind] = map[string]json.RawMessage{}
			}
			kept[kind][name] = c
			queue = append(queue, c)
		}
	}

	out := map[string]any{
		"openapi":    top["openapi"],
		"info":       top["info"],
		"paths":      keptPaths,
		"components": kept,
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encoding the cut-down description: %w", err)
	}
	return b, nil
}

// describe shortens a validation error: kin-openapi's messages carry the
// whole schema and value after the reason, thousands of lines for a pull
// request.
func describe(err error) string {
	msg := err.Error()
	for _, cut := range []string{"\nSchema:", "\nValue:"} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i]
		}
	}
	return msg
}

// moduleRoot is the nearest directory at or above the working directory
// holding a go.mod file.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// operation names a route as endpoints() does.
func operation(route *routers.Route) string {
	return strings.ToUpper(route.Method) + " " + route.Path
}

// isEndpoint reports whether op is one the fake serves.
func isEndpoint(op string) bool { return slices.Contains(endpoints(), op) }
