// Package helm tests the chart in deploy/helm/upgrade-bot with the pinned
// Helm CLI (built by `make test-assets`) and the real API server: every
// object of every tested values file is applied with server-side dry-run,
// and the dry-run guard is applied for real and proven.
package helm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// HelmVersion is the Helm CLI `make test-assets` builds (tools/helm).
const HelmVersion = "v4.3.2"

// namespace is where the tests install the chart.
const namespace = "upgrade-bot"

// matrix is the values the chart is tested with, beside its defaults.
var matrix = map[string]string{
	"defaults": "",
	"github-app": `
github: {appID: 123456, installationID: 42, existingSecret: upgrade-bot-github-app}
repos: [acme/gitops]
`,
	"gitlab-with-git-releases": `
github: {enabled: false}
gitlab: {enabled: true, url: https://gitlab.example.com, existingSecret: upgrade-bot-gitlab}
managementCluster: {enabled: false}
releases: {url: https://github.com/giantswarm/releases.git, existingSecret: releases-token}
repos: [platform/clusters/gitops]
`,
	"everything": `
gitlab: {enabled: true, existingSecret: upgrade-bot-gitlab}
ingress: {enabled: true, className: nginx, host: bot.example.com, tlsSecretName: bot-tls}
kyverno: {enabled: true}
replicaCount: 3
config: {reconcile-interval: 5m, allow: [alice]}
`,
	"one-replica-no-guard": `
replicaCount: 1
leaderElection: {enabled: false}
dryRunGuard: {enabled: false}
rbac: {create: true}
`,
}

func helmBin(t *testing.T) (string, string) {
	t.Helper()
	root, err := kube.Root()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".cache", "tools", "helm-"+HelmVersion, "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("the Helm CLI is not built (missing %s): run `make test-assets`, or `make test`", bin)
	}
	return bin, filepath.Join(root, "deploy", "helm", "upgrade-bot")
}

// helm runs the Helm CLI with values and returns its output.
func helm(t *testing.T, values string, args ...string) (string, error) {
	t.Helper()
	bin, chart := helmBin(t)
	file := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(file, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), bin, append(args, chart, "--values", file)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

func render(t *testing.T, values string, extra ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, values, append([]string{"template", "r", "--namespace", namespace}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("the rendered chart is not YAML: %v", err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	return objs
}

func TestLint(t *testing.T) {
	t.Parallel()
	for name, values := range matrix {
		if out, err := helm(t, values, "lint", "--strict"); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("%s: helm lint says:\n%s", name, out)
		}
	}
}

// TestValuesAreChecked: values the chart cannot mean are refused with a
// message naming them.
func TestValuesAreChecked(t *testing.T) {
	t.Parallel()
	for values, want := range map[string]string{
		"replicaCount: 0\n":                                     "replicaCount",
		"github: {enabled: false}\n":                            "enable github or gitlab",
		"leaderElection: {enabled: false}\n":                    "replicaCount > 1 needs leaderElection.enabled",
		"releases: {url: git@github.com:giantswarm/releases}\n": "/releases/url",
		"github: {existingSecret: \"\"}\n":                      "github.existingSecret",
		"managementCluster: {enabled: false}\n":                 "set releases.url or managementCluster.enabled",
		"serviceMonitor: {interval: soon}\n":                    "/serviceMonitor/interval",
		"github: {token: ghp_inline}\n":                         "token",
	} {
		if _, err := helm(t, values, "template", "r"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("values %q: %v, want an error naming %q", values, err, want)
		}
	}
}

// TestRenderedObjects checks what the chart promises of its objects.
func TestRenderedObjects(t *testing.T) {
	t.Parallel()
	kinds := map[string]*unstructured.Unstructured{}
	for _, o := range render(t, matrix["everything"], "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor") {
		kinds[o.GetKind()] = o
	}
	for _, k := range []string{"Deployment", "Service", "Ingress", "ServiceAccount", "ConfigMap", "PodDisruptionBudget", "ServiceMonitor",
		"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ClusterPolicy"} {
		if kinds[k] == nil {
			t.Errorf("no %s rendered", k)
		}
	}
	if _, ok := kinds["Secret"]; ok {
		t.Error("the chart renders a Secret: secrets are referenced, never written")
	}
	if d := kinds["Deployment"]; d != nil {
		c, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		sc := c[0].(map[string]any)["securityContext"].(map[string]any)
		if sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false {
			t.Errorf("the container's securityContext: %v", sc)
		}
		if nonRoot, _, _ := unstructured.NestedBool(d.Object, "spec", "template", "spec", "securityContext", "runAsNonRoot"); !nonRoot {
			t.Error("the pod may run as root")
		}
	}
	if cr := kinds["ClusterRole"]; cr != nil {
		rules, _, _ := unstructured.NestedSlice(cr.Object, "rules")
		for _, r := range rules {
			for _, res := range r.(map[string]any)["resources"].([]any) {
				if res == "secrets" {
					t.Error("the ClusterRole reaches Secrets")
				}
			}
		}
	}
	// The chart's copy of the Kyverno policy is the project's.
	root, _ := kube.Root()
	want, err := os.ReadFile(filepath.Join(root, "deploy", "kyverno", "clusterpolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "deploy", "helm", "upgrade-bot", "files", "clusterpolicy.yaml"))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("deploy/helm/upgrade-bot/files/clusterpolicy.yaml differs from deploy/kyverno/clusterpolicy.yaml: copy it again")
	}
}

// TestDryRunAndGuard applies every object of every values file with
// server-side dry-run to the real API server, then installs the default
// chart for real and proves the guard: as the bot's ServiceAccount a patch
// of a Cluster is denied, the same patch as a dry-run is allowed, and
// Secrets are out of reach.
func TestDryRunAndGuard(t *testing.T) {
	t.Parallel()
	env := kube.StartWithKyvernoCRDs(t)
	ctx := kube.Context(t, 3*time.Minute)
	for _, ns := range []string{namespace, "giantswarm", "org-acme"} {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind("Namespace")
		o.SetName(ns)
		if err := env.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	// Strict field validation makes the server check every object against
	// its schema (the built-in types' and the installed CRDs'), as
	// kubeconform -strict would, and refuse unknown or duplicate fields.
	apply := func(o *unstructured.Unstructured, opts ...client.PatchOption) error {
		return env.Client.Patch(ctx, o, client.Apply, append(opts, client.FieldOwner("chart-test"), client.ForceOwnership, client.FieldValidation("Strict"))...)
	}
	for name, values := range matrix {
		for _, o := range render(t, values) {
			if err := apply(o.DeepCopy(), client.DryRunAll); err != nil {
				t.Errorf("%s: dry-run of %s %s: %v", name, o.GetKind(), o.GetName(), err)
			}
		}
	}
	// The check has teeth: a mistyped field in the Deployment is refused.
	for _, o := range render(t, "") {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		containers[0].(map[string]any)["imagePullPolcy"] = "Always"
		if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
			t.Fatal(err)
		}
		if err := apply(o, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "imagePullPolcy") {
			t.Errorf("a Deployment with the unknown field imagePullPolcy: %v, want it refused", err)
		}
	}

	// The default chart, for real.
	for _, o := range render(t, "") {
		if err := apply(o); err != nil {
			t.Fatalf("installing %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	cluster := kube.ReadObject(t, filepath.Join("..", "..", "examples", "gitops", "management-clusters", "mc-demo", "organizations", "org-acme", "workload-clusters", "peu01", "cluster.yaml"))
	cluster.SetNamespace("org-acme")
	if err := env.Client.Create(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	bot := rest.CopyConfig(env.Config)
	bot.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + namespace + ":r-upgrade-bot"}
	botClient, err := client.New(bot, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"release.giantswarm.io/version":"31.0.0"}}}`))
	target := &unstructured.Unstructured{}
	target.SetGroupVersionKind(cluster.GroupVersionKind())
	target.SetNamespace("org-acme")
	target.SetName(cluster.GetName())

	// The policy takes a moment to be enforced after it is created.
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := botClient.Patch(ctx, target.DeepCopy(), patch)
		if err != nil && strings.Contains(err.Error(), "upgrade-bot may only dry-run changes") {
			break
		}
		if err == nil {
			// Allowed before the policy was in force: undo, try again.
			if err := env.Client.Patch(ctx, target.DeepCopy(), client.RawPatch(types.MergePatchType,
				[]byte(`{"metadata":{"labels":{"release.giantswarm.io/version":"`+cluster.GetLabels()["release.giantswarm.io/version"]+`"}}}`))); err != nil {
				t.Fatal(err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("a patch by the bot's ServiceAccount without dry-run was not denied by the guard: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := botClient.Patch(ctx, target.DeepCopy(), patch, client.DryRunAll); err != nil {
		t.Errorf("the dry-run patch as the bot: %v, want it allowed", err)
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(cluster.GroupVersionKind())
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(target), got); err != nil {
		t.Fatal(err)
	}
	if v := got.GetLabels()["release.giantswarm.io/version"]; v != cluster.GetLabels()["release.giantswarm.io/version"] {
		t.Errorf("the Cluster's version is %s after the bot's patches, want it unchanged", v)
	}
	// The bot records Events on Clusters for real.
	ev := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata":       map[string]any{"name": "peu01.opened", "namespace": "org-acme"},
		"involvedObject": map[string]any{"apiVersion": cluster.GetAPIVersion(), "kind": "Cluster", "namespace": "org-acme", "name": cluster.GetName()},
		"reason":         "UpgradePullRequestOpened", "message": "upgrade proposed", "type": "Normal",
	}}
	if err := botClient.Create(ctx, ev); err != nil {
		t.Errorf("the bot cannot record an Event: %v", err)
	}
	// Reads work; Secrets are not the bot's.
	if err := botClient.Get(ctx, client.ObjectKeyFromObject(target), got); err != nil {
		t.Errorf("the bot cannot read a Cluster: %v", err)
	}
	secrets := &unstructured.UnstructuredList{}
	secrets.SetAPIVersion("v1")
	secrets.SetKind("SecretList")
	if err := botClient.List(ctx, secrets, client.InNamespace("org-acme")); !apierrors.IsForbidden(err) {
		t.Errorf("listing Secrets as the bot: %v, want Forbidden", err)
	}
}
