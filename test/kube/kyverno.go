package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KyvernoVersion is the Kyverno the harness runs; the Makefile builds it.
const KyvernoVersion = "v1.19.1"

// KyvernoDir is where `make test-assets` puts the Kyverno binaries.
func KyvernoDir(root string) string {
	return filepath.Join(root, ".cache", "tools", "kyverno-"+KyvernoVersion)
}

func kyvernoCRDs(root string) string {
	return filepath.Join(root, ".cache", "crds", "kyverno-"+KyvernoVersion)
}

// StartWithKyverno starts the API server with Kyverno's CRDs as well, and
// the real Kyverno admission controller as a subprocess, out of cluster:
// it registers its webhooks by URL on loopback. Both stop when the test
// ends; Kyverno's log is printed when the test fails.
func StartWithKyverno(t testing.TB) *Env {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(KyvernoDir(root), "kyverno")
	for _, p := range []string{bin, kyvernoCRDs(root), kyvernoCRDs(root) + ".install.yaml"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("Kyverno is not built (missing %s): run `make test-assets` (once; cached under .cache/), or `make test`", p)
		}
	}
	env := start(t, root, []string{kyvernoCRDs(root)})
	ctx := Context(t, 2*time.Minute)
	if err := installKyvernoConfig(ctx, env.Client, kyvernoCRDs(root)+".install.yaml"); err != nil {
		t.Fatalf("installing Kyverno's configuration: %v", err)
	}

	webhookPort, metricsPort := freePort(t), freePort(t)
	logPath := filepath.Join(t.TempDir(), "kyverno.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--kubeconfig="+env.Kubeconfig,
		"--serverIP=127.0.0.1:"+strconv.Itoa(webhookPort),
		"--webhookServerPort="+strconv.Itoa(webhookPort),
		"--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca",
		"--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair",
		"--metricsHost=127.0.0.1",
		"--metricsPort="+strconv.Itoa(metricsPort),
		"--disableMetrics=true",
		"--controllerRuntimeMetricsAddress=0",
		"--webhookServerHost=127.0.0.1",
		"--admissionReports=false",
		"--enableReporting=",
		"--loggingFormat=text",
	)
	cmd.Env = append(os.Environ(),
		"KYVERNO_NAMESPACE=kyverno", "KYVERNO_POD_NAME=kyverno-test", "KYVERNO_SERVICEACCOUNT_NAME=kyverno",
		"KYVERNO_ROLE_NAME=kyverno", "KYVERNO_SVC=kyverno-svc", "KYVERNO_DEPLOYMENT=kyverno",
		"INIT_CONFIG=kyverno", "METRICS_CONFIG=kyverno-metrics", "TUF_ROOT="+t.TempDir(),
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Kyverno: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("Kyverno's log (last 8 KB):\n%s", tail(b, 8<<10))
		}
	})

	// Kyverno is ready when it has registered its resource webhook.
	deadline := time.Now().Add(90 * time.Second)
	for {
		var list admissionv1.MutatingWebhookConfigurationList
		if err := env.Client.List(ctx, &list); err == nil {
			for _, w := range list.Items {
				if strings.Contains(w.Name, "kyverno-resource-mutating-webhook-cfg") {
					return env
				}
			}
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("Kyverno exited (%v) before registering its webhooks:\n%s", err, tail(b, 8<<10))
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("Kyverno did not register its webhooks within 90 s:\n%s", tail(b, 8<<10))
		}
	}
}

// installKyvernoConfig creates the kyverno Namespace and the ConfigMaps
// Kyverno reads at start from its install manifest.
func installKyvernoConfig(ctx context.Context, c client.Client, manifest string) error {
	b, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metaName("kyverno")}); err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	found := 0
	for {
		var obj unstructured.Unstructured
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", manifest, err)
		}
		if obj.GetKind() == "ConfigMap" && obj.GetNamespace() == "kyverno" && (obj.GetName() == "kyverno" || obj.GetName() == "kyverno-metrics") {
			if err := c.Create(ctx, &obj); err != nil {
				return err
			}
			found++
		}
	}
	if found != 2 {
		return fmt.Errorf("%s: found %d of the ConfigMaps kyverno and kyverno-metrics", manifest, found)
	}
	return nil
}

// CreatePolicy creates a Kyverno policy, retrying while Kyverno's policy
// webhook is not up yet, and waits until Kyverno reports it ready.
func (e *Env) CreatePolicy(ctx context.Context, obj *unstructured.Unstructured) error {
	for {
		err := e.Client.Create(ctx, obj.DeepCopy())
		if err == nil || apierrors.IsAlreadyExists(err) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("creating policy %s: %w (last error: %v)", obj.GetName(), ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	for {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(obj.GroupVersionKind())
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); err == nil && ready(got) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for policy %s to be ready: %w", obj.GetName(), ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func ready(policy *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(policy.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" && m["status"] == "True" {
			return true
		}
	}
	return false
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// StartWithKyvernoCRDs starts an API server with Kyverno's CRDs beside
// Cluster API's, but not Kyverno: enough to dry-run a ClusterPolicy.
func StartWithKyvernoCRDs(t testing.TB) *Env {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(kyvernoCRDs(root)); err != nil {
		t.Skipf("Kyverno's CRDs are not fetched (missing %s): run `make test-assets`, or `make test`", kyvernoCRDs(root))
	}
	return start(t, root, []string{kyvernoCRDs(root)})
}
