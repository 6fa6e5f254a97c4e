package git

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestLastChange(t *testing.T) {
	requireGit(t)
	r := newRepo(t, map[string]string{"clusters/a/cluster.yaml": "a: 1\n", "clusters/b/cluster.yaml": "b: 1\n", "clusters/ab.yaml": "x\n"})
	first, ok, err := r.LastChange("clusters/a")
	if err != nil || !ok {
		t.Fatalf("LastChange(clusters/a) = %v, %v, %v", first, ok, err)
	}
	if err := os.WriteFile(filepath.Join(r.Root(), "clusters", "b", "cluster.yaml"), []byte("b: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, r.Root(), "add", "-A")
	cmd := exec.Command("git", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "b")
	cmd.Dir = r.Root()
	cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=2030-01-02T03:04:05Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	a, _, _ := r.LastChange("clusters/a")
	b, okB, _ := r.LastChange("clusters/b/")
	if !a.Equal(first) {
		t.Errorf("clusters/a changed time to %v though only b was committed", a)
	}
	if want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC); !okB || !b.Equal(want) {
		t.Errorf("clusters/b: %v, %v; want %v", b, okB, want)
	}
	if _, ok, err := r.LastChange("clusters/c"); ok || err != nil {
		t.Errorf("a path no commit touched: %v, %v", ok, err)
	}
	// "clusters/a" must not match "clusters/ab.yaml".
	if _, ok, _ := r.LastChange("clusters/ab"); ok {
		t.Error("clusters/ab matched clusters/ab.yaml")
	}
}
