package releases_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

func TestGet(t *testing.T) {
	t.Parallel()
	c := loadTestdata(t, "catalog")
	found := []struct{ provider, version, want string }{
		{"capa", "31.0.0", "capa/v31.0.0"},
		{"capa", "v31.0.0", "capa/v31.0.0"},
		{"capa", " v31.1.0 ", "capa/v31.1.0"},
		{"capa", "32.1.0", "capa/archived/v32.1.0"},
		{"azure", "v31.0.0", "azure/v31.0.0"},
	}
	for _, tc := range found {
		t.Run(tc.provider+" "+tc.version, func(t *testing.T) {
			if r := get(t, c, tc.provider, tc.version); r.Dir != tc.want {
				t.Errorf("Get(%s, %q).Dir = %s, want %s", tc.provider, tc.version, r.Dir, tc.want)
			}
		})
	}

	unknown := []struct {
		version    string
		wantNearby []string
		wantMsg    string
	}{
		{"v31.0.5", []string{"31.0.0", "31.1.0"}, "release v31.0.5 is not in the capa catalog; nearby: v31.0.0, v31.1.0; run `upgrade-bot releases` to list them"},
		{"29.0.0", []string{"30.0.0", "30.1.0"}, "release v29.0.0 is not in the capa catalog; nearby: v30.0.0, v30.1.0; run `upgrade-bot releases` to list them"},
		{"40.0.0", []string{"32.0.0", "33.0.0"}, "release v40.0.0 is not in the capa catalog; nearby: v32.0.0, v33.0.0; run `upgrade-bot releases` to list them"},
		// The archived v32.1.0 is not suggested.
		{"32.0.1", []string{"32.0.0", "33.0.0"}, "release v32.0.1 is not in the capa catalog; nearby: v32.0.0, v33.0.0; run `upgrade-bot releases` to list them"},
	}
	for _, tc := range unknown {
		t.Run("unknown "+tc.version, func(t *testing.T) {
			_, err := c.Get("capa", tc.version)
			var ue *releases.UnknownReleaseError
			if !errors.As(err, &ue) {
				t.Fatalf("Get(capa, %s) error = %v, want an *UnknownReleaseError", tc.version, err)
			}
			if diff := cmp.Diff(tc.wantNearby, ue.Nearby); diff != "" {
				t.Errorf("Nearby (-want +got):\n%s", diff)
			}
			if ue.Provider != "capa" || ue.Version != strings.TrimPrefix(tc.version, "v") {
				t.Errorf("error names %s v%s", ue.Provider, ue.Version)
			}
			if got := err.Error(); got != tc.wantMsg {
				t.Errorf("error message:\n got %s\nwant %s", got, tc.wantMsg)
			}
		})
	}

	t.Run("unknown provider", func(t *testing.T) {
		_, err := c.Get("gcp", "31.0.0")
		var pe *releases.UnknownProviderError
		if !errors.As(err, &pe) {
			t.Fatalf("Get(gcp, 31.0.0) error = %v, want an *UnknownProviderError", err)
		}
		if want := `the release catalog has no provider "gcp"; it has azure, capa`; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
	})
	t.Run("bad version", func(t *testing.T) {
		_, err := c.Get("capa", "latest")
		var ue *releases.UnknownReleaseError
		if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "expected X.Y.Z such as 31.0.0") {
			t.Errorf("Get(capa, latest) error = %v, want a version syntax error", err)
		}
	})
}

func TestNext(t *testing.T) {
	t.Parallel()
	c := loadTestdata(t, "catalog")
	tests := []struct {
		provider string
		from     *semver.Version
		want     string // "" for none
	}{
		{"capa", nil, "30.0.0"},
		{"capa", version("30.0.0"), "30.1.0"},
		{"capa", version("30.0.5"), "30.1.0"}, // not in the catalog
		{"capa", version("31.1.0"), "32.0.0"},
		{"capa", version("32.0.0"), "33.0.0"}, // the archived v32.1.0 is skipped
		{"capa", version("33.0.0"), ""},
		{"azure", version("30.0.0"), "31.0.0"},
		{"gcp", version("30.0.0"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.provider+" "+tc.want, func(t *testing.T) {
			r, ok := c.Next(tc.provider, tc.from)
			got := ""
			if ok {
				got = r.Version.String()
			}
			if got != tc.want {
				t.Errorf("Next(%s, %v) = %q, want %q", tc.provider, tc.from, got, tc.want)
			}
		})
	}
}

func TestListIsACopy(t *testing.T) {
	t.Parallel()
	c := loadTestdata(t, "catalog")
	l := c.List("capa")
	l[0] = nil
	if c.List("capa")[0] == nil {
		t.Error("changing List's result changed the catalog")
	}
	p := c.Providers()
	p[0] = "x"
	if c.Providers()[0] != "azure" {
		t.Error("changing Providers' result changed the catalog")
	}
}

func TestProviderFor(t *testing.T) {
	t.Parallel()
	tests := []struct{ kind, want string }{
		{"AWSCluster", "capa"},
		{"awscluster", "capa"},
		{"AWSManagedCluster", "capa"},
		{"AzureCluster", "azure"},
		{"AzureManagedCluster", "azure"},
		{"VSphereCluster", "vsphere"},
		{"VCDCluster", "cloud-director"},
		{"GCPCluster", "gcp"},
		{"OpenStackCluster", "openstack"},
		{"KVMCluster", "kvm"},
		{"DockerCluster", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := releases.ProviderFor(tc.kind)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("ProviderFor(%q) = %q, %v; want %q", tc.kind, got, ok, tc.want)
		}
	}
}
