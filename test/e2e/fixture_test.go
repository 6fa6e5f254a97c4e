package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/upgrade-bot/upgrade-bot/releases"
	"github.com/upgrade-bot/upgrade-bot/test/fixtures"
	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// TestGitopsTemplateReleasePullRequests runs the release-driven bot on the
// real gitops-template with the real Giant Swarm releases: every workload
// cluster, on v34.1.0 through the Flux variable its chart's values read,
// gets one pull request to v34.1.1 that changes exactly that variable in
// its own Flux Kustomization; a second reconcile changes nothing.
func TestGitopsTemplateReleasePullRequests(t *testing.T) {
	t.Parallel()
	seed := fixtures.GitopsTemplateOn(t, "34.1.0")
	if err := os.WriteFile(filepath.Join(seed, ".upgrade-bot.yaml"), []byte("prHourlyLimit: 10\nlocators: [flux-substitute, values]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	catalog, err := releases.Load(t.Context(), fixtures.Shared(t, "giantswarm-releases"))
	if err != nil {
		t.Fatal(err)
	}
	f := gitHubFactoryFor(t, seed)(t)
	svc := newService(t, catalog)
	res, err := svc.Reconcile(t.Context(), f.provider(), repo)
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[string]string{
		"capi-wc-name":              "WC_NAME",
		"hello-app-dev-1":           "HELLO_APP_DEV_CLUSTER_1",
		"hello-app-prod-eu-central": "HELLO_APP_PROD_CLUSTER_EU_CENTRAL",
		"hello-app-staging-1":       "HELLO_APP_STAGING_CLUSTER_1",
		"mapi-out-of-band-flux-app": "WC_NAME_OUT_OF_BAND_FLUX_APP",
	}
	var want []string
	for name := range clusters {
		want = append(want, "org-org-name/"+name)
	}
	slices.Sort(want)
	if got := slices.Sorted(slices.Values(res.Opened)); !slices.Equal(got, want) {
		t.Fatalf("opened %v, want %v; the decisions: %+v", got, want, res.Decisions)
	}
	prs := f.pulls(t)
	if len(prs) != len(clusters) {
		t.Fatalf("%d pull requests, want %d", len(prs), len(clusters))
	}
	for _, pr := range prs {
		name := strings.TrimSuffix(strings.TrimPrefix(pr.Head, "upgrade-bot/"), "/v34.1.1")
		wc, ok := clusters[name]
		if !ok {
			t.Errorf("pull request from %s: not one of the fixture's clusters", pr.Head)
			continue
		}
		files := strings.Fields(f.git(t, "diff", "--name-only", "main", pr.Head))
		if want := []string{fixtures.WorkloadClusters + wc + ".yaml"}; !slices.Equal(files, want) {
			t.Errorf("%s changes %v, want %v", pr.Head, files, want)
		}
		d := f.git(t, "diff", "main", pr.Head)
		if !strings.Contains(d, "-      cluster_release: \"34.1.0\"\n+      cluster_release: \"34.1.1\"") || strings.Count(d, "\n+") != 2 {
			t.Errorf("%s: the diff changes more than cluster_release:\n%s", pr.Head, d)
		}
		for _, s := range []string{"from release **v34.1.0** to **v34.1.1**", "is an App of the chart cluster-aws", "postBuild.substitute.cluster_release of Flux Kustomization"} {
			if !strings.Contains(pr.Body, s) {
				t.Errorf("%s: the body does not say %q:\n%s", pr.Head, s, pr.Body)
			}
		}
		// The rendered diff: the values ConfigMap the chart reads carries
		// the new release.
		var rendered string
		for _, c := range botComments(t, f, vcs.Thread{Number: pr.Number, PullRequest: true}) {
			rendered += c.Body
		}
		if !strings.Contains(rendered, "ConfigMap org-org-name/"+name+"-config") || !strings.Contains(rendered, "+        version: 34.1.1") {
			t.Errorf("%s: the rendered diff does not show the values ConfigMap with the new release:\n%s", pr.Head, rendered)
		}
	}
	writes := f.writes()
	again, err := svc.Reconcile(t.Context(), f.provider(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(again.Opened)); !slices.Equal(got, want) || len(f.pulls(t)) != len(clusters) {
		t.Errorf("the second reconcile kept %v up to date, want %v; %d pull requests", got, want, len(f.pulls(t)))
	}
	if f.writes() != writes {
		t.Errorf("the second reconcile wrote %d times to the forge", f.writes()-writes)
	}
}
