package render

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/test/fixtures"
)

// TestFixtureGitopsTemplate discovers giantswarm/gitops-template: its
// workload clusters are Apps of the cluster-aws chart, each built by the
// Flux Kustomization of workload-clusters/<WC>.yaml with its post-build
// substitution applied; the kustomization listing the cluster the fixture
// leaves out fails, as does the management cluster's Kustomization that
// includes it; the test assertions under tests/ats declare the same
// clusters again and are ignored; SOPS files are never read.
func TestFixtureGitopsTemplate(t *testing.T) {
	t.Parallel()
	dir := fixtures.Shared(t, "gitops-template")
	repo, err := Discover(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const wcs = "management-clusters/MC_NAME/organizations/ORG_NAME/workload-clusters/"
	type found struct{ ID, Chart, Root, Infra string }
	var got []found
	for _, c := range repo.Clusters {
		got = append(got, found{clusterID(c.Namespace, c.Name), c.Chart, c.Root, c.InfrastructureKind})
		for _, r := range c.Resources {
			if strings.Contains(r.Object.GetName(), "${") || strings.Contains(r.Object.GetNamespace(), "${") {
				t.Errorf("cluster %s: %s %s/%s is not substituted", c.Name, r.Object.GetKind(), r.Object.GetNamespace(), r.Object.GetName())
			}
		}
	}
	want := []found{
		{"org-org-name/capi-wc-name", "cluster-aws", wcs + "WC_NAME/mapi", "AWSCluster"},
		{"org-org-name/hello-app-dev-1", "cluster-aws", wcs + "HELLO_APP_DEV_CLUSTER_1/mapi", "AWSCluster"},
		{"org-org-name/hello-app-prod-eu-central", "cluster-aws", wcs + "HELLO_APP_PROD_CLUSTER_EU_CENTRAL/mapi", "AWSCluster"},
		{"org-org-name/hello-app-staging-1", "cluster-aws", wcs + "HELLO_APP_STAGING_CLUSTER_1/mapi", "AWSCluster"},
		{"org-org-name/mapi-out-of-band-flux-app", "cluster-aws", wcs + "WC_NAME_OUT_OF_BAND_FLUX_APP/mapi", "AWSCluster"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
	var paths []string
	for _, p := range repo.Problems {
		paths = append(paths, p.Path)
	}
	wantProblems := []string{
		"management-clusters/MC_NAME/MC_NAME.yaml",
		wcs + "kustomization.yaml",
		"tests/ats/assertions/exists/organizations/workload-clusters/capi-wc-name/app_capi-wc-name.yaml",
		"tests/ats/assertions/exists/organizations/workload-clusters/hello-app-dev-1/apps.yaml",
		"tests/ats/assertions/exists/organizations/workload-clusters/hello-app-prod-eu-central/apps.yaml",
		"tests/ats/assertions/exists/organizations/workload-clusters/hello-app-staging-1/apps.yaml",
	}
	if diff := cmp.Diff(wantProblems, paths); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, repo.Problems)
	}
	for _, p := range repo.Problems[:min(2, len(repo.Problems))] {
		if !strings.Contains(p.Message, "HELLO_APP_PROD_CLUSTER_US_WEST.yaml") {
			t.Errorf("problem %s does not name the missing cluster file", p)
		}
	}
	for _, p := range repo.Problems[min(2, len(repo.Problems)):] {
		if !strings.Contains(p.Message, "is also declared in "+wcs) || !strings.Contains(p.Message, "this one is ignored") {
			t.Errorf("problem %s does not say the cluster is declared in workload-clusters", p)
		}
	}
	if repo.roots["bases/clusters/capa/template"] != nil {
		t.Error("bases/clusters/capa/template is a base of other kustomizations and must not be built alone")
	}
	checkNoSOPS(t, repo)
}

// checkNoSOPS checks that no SOPS-encrypted content was kept.
func checkNoSOPS(t *testing.T, repo *Repository) {
	t.Helper()
	roots := slices.Collect(maps.Values(repo.roots))
	for _, k := range slices.Concat(roots, repo.fluxRoots) {
		for p, data := range k.reads {
			if isSOPSName(p) || bytes.Contains(data, []byte("ENC[AES256_GCM")) || sopsKeyRE.Match(data) {
				t.Errorf("build of %s read the SOPS file %s", k.dir, p)
			}
		}
	}
	for p, f := range repo.files {
		if isSOPSName(p) || bytes.Contains(f.data, []byte("ENC[AES256_GCM")) {
			t.Errorf("SOPS file %s was read", p)
		}
	}
	for _, c := range repo.Clusters {
		for _, r := range c.Resources {
			if r.Object.GetKind() == "Secret" {
				t.Errorf("cluster %s holds a Secret", c.Name)
			}
		}
	}
}

// TestFixtureCAPITemplates discovers each Cluster API AWS template on its
// own, then all of them together (the same cluster declared four times).
func TestFixtureCAPITemplates(t *testing.T) {
	t.Parallel()
	src := fixtures.Shared(t, filepath.Join("capi-manifests", "cluster-api-provider-aws", "templates"))
	tests := []struct {
		file string
		want summary
	}{
		{"cluster-template.yaml", summary{ID: "${CLUSTER_NAME}", Infrastructure: "AWSCluster", Root: "cluster-template.yaml", Resources: []string{
			"Cluster ${CLUSTER_NAME} cluster-template.yaml:1",
			"AWSCluster ${CLUSTER_NAME} cluster-template.yaml:22",
			"AWSMachineTemplate ${CLUSTER_NAME}-control-plane cluster-template.yaml:61",
			"AWSMachineTemplate ${CLUSTER_NAME}-md-0 cluster-template.yaml:95",
			"KubeadmConfigTemplate ${CLUSTER_NAME}-md-0 cluster-template.yaml:106",
			"KubeadmControlPlane ${CLUSTER_NAME}-control-plane cluster-template.yaml:33",
			"MachineDeployment ${CLUSTER_NAME}-md-0 cluster-template.yaml:72",
		}}},
		{"cluster-template-machinepool.yaml", summary{ID: "${CLUSTER_NAME}", Infrastructure: "AWSCluster", Root: "cluster-template-machinepool.yaml", Resources: []string{
			"Cluster ${CLUSTER_NAME} cluster-template-machinepool.yaml:1",
			"AWSCluster ${CLUSTER_NAME} cluster-template-machinepool.yaml:22",
			"AWSMachinePool ${CLUSTER_NAME}-mp-0 cluster-template-machinepool.yaml:93",
			"AWSMachineTemplate ${CLUSTER_NAME}-control-plane cluster-template-machinepool.yaml:61",
			"KubeadmConfig ${CLUSTER_NAME}-mp-0 cluster-template-machinepool.yaml:107",
			"KubeadmControlPlane ${CLUSTER_NAME}-control-plane cluster-template-machinepool.yaml:33",
			"MachineHealthCheck ${CLUSTER_NAME}-kcp-unhealthy cluster-template-machinepool.yaml:118",
			"MachinePool ${CLUSTER_NAME}-mp-0 cluster-template-machinepool.yaml:72",
		}}},
		{"cluster-template-eks-managedmachinepool.yaml", summary{ID: "${CLUSTER_NAME}", Infrastructure: "AWSManagedCluster", Root: "cluster-template-eks-managedmachinepool.yaml", Resources: []string{
			"Cluster ${CLUSTER_NAME} cluster-template-eks-managedmachinepool.yaml:2",
			"AWSManagedCluster ${CLUSTER_NAME} cluster-template-eks-managedmachinepool.yaml:19",
			"AWSManagedControlPlane ${CLUSTER_NAME}-control-plane cluster-template-eks-managedmachinepool.yaml:25",
			"AWSManagedMachinePool ${CLUSTER_NAME}-pool-0 cluster-template-eks-managedmachinepool.yaml:54",
			"MachinePool ${CLUSTER_NAME}-pool-0 cluster-template-eks-managedmachinepool.yaml:34",
			"NodeadmConfig ${CLUSTER_NAME}-pool-0 cluster-template-eks-managedmachinepool.yaml:61",
		}}},
		// A topology cluster: its infrastructure kind comes from the
		// ClusterClass (AWSClusterTemplate); the class and its templates
		// belong to no cluster.
		{"cluster-template-simple-clusterclass.yaml", summary{ID: "${CLUSTER_NAME}", Infrastructure: "AWSCluster", Root: "cluster-template-simple-clusterclass.yaml", Resources: []string{
			"Cluster ${CLUSTER_NAME} cluster-template-simple-clusterclass.yaml:1",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(src, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			repo, err := Discover(t.Context(), writeFiles(t, map[string]string{tt.file: string(data)}), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(repo.Problems) > 0 {
				t.Errorf("problems: %v", repo.Problems)
			}
			if diff := cmp.Diff([]summary{tt.want}, summarize(repo)); diff != "" {
				t.Errorf("clusters (-want +got):\n%s", diff)
			}
			// The templates carry no release label.
			c := repo.Clusters[0]
			locs, err := Label{}.Locate(t.Context(), repo, c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Version(c, locs); !errors.Is(err, ErrNoVersion) {
				t.Errorf("Version: %v, want ErrNoVersion", err)
			}
		})
	}

	t.Run("all together", func(t *testing.T) {
		t.Parallel()
		repo, err := Discover(t.Context(), fixtures.Shared(t, "capi-manifests"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(repo.Clusters) != 1 {
			t.Fatalf("found %d clusters, want the one declared in every template", len(repo.Clusters))
		}
		declaredAgain := 0
		for _, p := range repo.Problems {
			if strings.Contains(p.Message, "is declared again") {
				declaredAgain++
			}
		}
		if declaredAgain == 0 || declaredAgain != len(repo.Problems) {
			t.Errorf("problems %v, want only duplicate declarations", repo.Problems)
		}
	})
}
