package helm

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// TestImage checks the Dockerfile against what it must fit, since no
// Docker engine runs here: its Go is go.mod's, its user is the one the
// chart runs as, and its build command, run as written, makes a static
// binary that starts.
func TestImage(t *testing.T) {
	t.Parallel()
	root, err := kube.Root()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := strings.ReplaceAll(string(data), "\\\n", " ")
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}

	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	from := regexp.MustCompile(`(?m)^FROM golang:(\S+) AS build$`).FindStringSubmatch(dockerfile)
	if goVersion == nil || from == nil || from[1] != string(goVersion[1]) {
		t.Errorf("the Dockerfile builds with golang:%v, go.mod wants go %s", from, goVersion)
	}

	user := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindStringSubmatch(dockerfile)
	var deployment *unstructured.Unstructured
	for _, o := range render(t, "") {
		if o.GetKind() == "Deployment" {
			deployment = o
		}
	}
	if deployment == nil {
		t.Fatal("the chart renders no Deployment")
	}
	uid, _, _ := unstructured.NestedFieldNoCopy(deployment.Object, "spec", "template", "spec", "securityContext", "runAsUser")
	gid, _, _ := unstructured.NestedFieldNoCopy(deployment.Object, "spec", "template", "spec", "securityContext", "runAsGroup")
	if user == nil || user[1] != fmt.Sprint(uid) || user[2] != fmt.Sprint(gid) {
		t.Errorf("the image runs as %v, the chart as %v:%v", user, uid, gid)
	}

	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*)$`).FindStringSubmatch(dockerfile)
	if build == nil {
		t.Fatal("no static go build in the Dockerfile")
	}
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "sh", "-c", strings.ReplaceAll(build[1], "/out/", out+"/"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VERSION=image-test")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's build: %v\n%s", err, b)
	}
	bin := filepath.Join(out, "upgrade-bot")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader; the distroless static base has none")
		}
	}
	v, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(v), "image-test") {
		t.Errorf("upgrade-bot version: %v\n%s", err, v)
	}
}
