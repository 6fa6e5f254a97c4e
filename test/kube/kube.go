// Package kube starts a real management cluster API for tests: kube-apiserver
// and etcd on loopback through controller-runtime's envtest, with the
// Cluster API and Cluster API Provider AWS CRDs installed.
//
// The binaries and CRDs are prepared by `make test-assets` under .cache/ in
// the repository (built from the Go module proxy, see tools/); a test that
// needs them and does not find them is skipped with a message saying so.
package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"
)

// The versions of the test assets; the Makefile uses the same.
const (
	KubeVersion = "v1.36.3"
	EtcdVersion = "v3.6.16"
	CAPIVersion = "v1.14.2"
	CAPAVersion = "v2.13.0"
)

// Env is a running API server.
type Env struct {
	// Config reaches the API server as an administrator (system:masters).
	Config *rest.Config
	// Client is a controller-runtime client on Config, for unstructured
	// objects and typed core kinds.
	Client client.Client
	// Kubeconfig is the path of a kubeconfig file for Config.
	Kubeconfig string
	// AssetsDir is where kube-apiserver and etcd are.
	AssetsDir string
}

// Root returns the repository root: the first directory above the working
// directory holding this module's go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/upgrade-bot/upgrade-bot\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the upgrade-bot repository")
		}
		dir = parent
	}
}

// AssetsDir is where `make test-assets` puts kube-apiserver and etcd, or
// KUBEBUILDER_ASSETS when set.
func AssetsDir(root string) string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(root, ".cache", "tools", fmt.Sprintf("kube-%s-etcd-%s", KubeVersion, EtcdVersion))
}

// CRDDirs are where `make test-assets` puts the Cluster API and CAPA CRDs,
// and test/kube/crds, which holds a Release CRD of our own.
func CRDDirs(root string) []string {
	return []string{
		filepath.Join(root, ".cache", "crds", "cluster-api-"+CAPIVersion),
		filepath.Join(root, ".cache", "crds", "cluster-api-provider-aws-"+CAPAVersion),
		filepath.Join(root, "test", "kube", "crds"),
	}
}

// missing lists the assets that are not there.
func missing(root string) []string {
	var out []string
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		p := filepath.Join(AssetsDir(root), bin)
		if _, err := os.Stat(p); err != nil {
			out = append(out, p)
		}
	}
	for _, dir := range CRDDirs(root) {
		if _, err := os.Stat(dir); err != nil {
			out = append(out, dir)
		}
	}
	return out
}

// Start starts an API server with the CRDs installed, or skips the test
// when the assets are not built. The server stops when the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return start(t, root, nil)
}

func start(t testing.TB, root string, extraCRDs []string) *Env {
	t.Helper()
	if m := missing(root); len(m) > 0 {
		t.Skipf("the real API server is not built (missing %s): run `make test-assets` (once, ≈ 10 minutes; cached under .cache/), or `make test`", strings.Join(m, ", "))
	}
	// controller-runtime prints a stack trace when nothing takes its logs.
	crlog.SetLogger(logr.Discard())
	env := &envtest.Environment{
		BinaryAssetsDirectory:    AssetsDir(root),
		CRDDirectoryPaths:        append(CRDDirs(root), extraCRDs...),
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if _, err := env.Start(); err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("adding an admin user: %v", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatalf("writing the admin kubeconfig: %v", err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := admin.Config()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("creating a client: %v", err)
	}
	return &Env{Config: cfg, Client: c, Kubeconfig: path, AssetsDir: AssetsDir(root)}
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
