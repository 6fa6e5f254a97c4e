package releases_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

func TestCompare(t *testing.T) {
	t.Parallel()
	type comps = []releases.Component
	type apps = []releases.App
	rel := func(c comps, a apps) *releases.Release {
		return &releases.Release{Provider: "capa", Version: version("1.0.0"), Components: c, Apps: a}
	}
	tests := []struct {
		name     string
		from, to *releases.Release
		want     []releases.Change
	}{{
		name: "components in the target's order, then removed; apps by name",
		from: rel(
			comps{{Name: "kubernetes", Version: "1.30.11"}, {Name: "etcd", Version: "3.5.9"}, {Name: "cluster-aws", Version: "2.6.2", Catalog: "cluster"}, {Name: "flatcar", Version: "3975.2.1"}},
			apps{{Name: "net-exporter", Version: "1.22.0"}, {Name: "cilium", Version: "0.28.1"}, {Name: "coredns", Version: "1.24.0"}},
		),
		to: rel(
			comps{{Name: "cluster-aws", Version: "3.0.0", Catalog: "cluster"}, {Name: "flatcar", Version: "4081.2.0"}, {Name: "kubernetes", Version: "1.31.4"}, {Name: "os-tooling", Version: "1.22.0"}},
			apps{{Name: "coredns", Version: "1.24.0"}, {Name: "cilium", Version: "0.31.1"}, {Name: "aws-nth-bundle", Version: "1.2.0"}},
		),
		want: []releases.Change{
			{Kind: "component", Name: "cluster-aws", From: "2.6.2", To: "3.0.0", Type: releases.ChangeUpgraded},
			{Kind: "component", Name: "flatcar", From: "3975.2.1", To: "4081.2.0", Type: releases.ChangeUpgraded},
			{Kind: "component", Name: "kubernetes", From: "1.30.11", To: "1.31.4", Type: releases.ChangeUpgraded},
			{Kind: "component", Name: "os-tooling", To: "1.22.0", Type: releases.ChangeAdded},
			{Kind: "component", Name: "etcd", From: "3.5.9", Type: releases.ChangeRemoved},
			{Kind: "app", Name: "aws-nth-bundle", To: "1.2.0", Type: releases.ChangeAdded},
			{Kind: "app", Name: "cilium", From: "0.28.1", To: "0.31.1", Type: releases.ChangeUpgraded},
			{Kind: "app", Name: "net-exporter", From: "1.22.0", Type: releases.ChangeRemoved},
		},
	}, {
		name: "downgrades, pre-releases, and versions that are not semver",
		from: rel(
			comps{{Name: "flatcar", Version: "4593.2.2"}, {Name: "os", Version: "stable"}},
			apps{{Name: "cluster-autoscaler", Version: "1.33.1-2"}, {Name: "cloud-provider-aws", Version: "1.33.2-1"}, {Name: "odd", Version: "abc"}},
		),
		to: rel(
			comps{{Name: "flatcar", Version: "4459.2.2"}, {Name: "os", Version: "beta"}},
			apps{{Name: "cluster-autoscaler", Version: "1.34.1-1"}, {Name: "cloud-provider-aws", Version: "1.33.2"}, {Name: "odd", Version: "abc"}},
		),
		want: []releases.Change{
			{Kind: "component", Name: "flatcar", From: "4593.2.2", To: "4459.2.2", Type: releases.ChangeDowngraded},
			{Kind: "component", Name: "os", From: "stable", To: "beta", Type: releases.ChangeChanged},
			{Kind: "app", Name: "cloud-provider-aws", From: "1.33.2-1", To: "1.33.2", Type: releases.ChangeUpgraded},
			{Kind: "app", Name: "cluster-autoscaler", From: "1.33.1-2", To: "1.34.1-1", Type: releases.ChangeUpgraded},
		},
	}, {
		name: "same version from another catalog, or another build",
		from: rel(nil, apps{{Name: "security-bundle", Version: "1.8.0", Catalog: "giantswarm"}, {Name: "x", Version: "1.0.0+a"}, {Name: "y", Version: "v1.0.0"}}),
		to:   rel(nil, apps{{Name: "security-bundle", Version: "1.8.0"}, {Name: "x", Version: "1.0.0+b"}, {Name: "y", Version: "1.0.0"}}),
		want: []releases.Change{
			{Kind: "app", Name: "security-bundle", From: "1.8.0 (catalog: giantswarm)", To: "1.8.0 (catalog: default)", Type: releases.ChangeChanged},
			{Kind: "app", Name: "x", From: "1.0.0+a", To: "1.0.0+b", Type: releases.ChangeChanged},
		},
	}, {
		name: "from a release that is not in the catalog",
		from: &releases.Release{Provider: "capa", Version: version("29.0.0")},
		to:   rel(comps{{Name: "kubernetes", Version: "1.31.4"}}, apps{{Name: "cilium", Version: "0.31.1"}}),
		want: []releases.Change{
			{Kind: "component", Name: "kubernetes", To: "1.31.4", Type: releases.ChangeAdded},
			{Kind: "app", Name: "cilium", To: "0.31.1", Type: releases.ChangeAdded},
		},
	}, {
		name: "nil from",
		to:   rel(comps{{Name: "kubernetes", Version: "1.31.4"}}, nil),
		want: []releases.Change{{Kind: "component", Name: "kubernetes", To: "1.31.4", Type: releases.ChangeAdded}},
	}, {
		name: "nil to",
		from: rel(comps{{Name: "kubernetes", Version: "1.31.4"}}, nil),
		want: []releases.Change{{Kind: "component", Name: "kubernetes", From: "1.31.4", Type: releases.ChangeRemoved}},
	}, {
		name: "nothing changes",
		from: rel(comps{{Name: "kubernetes", Version: "1.31.4"}}, apps{{Name: "cilium", Version: "0.31.1", DependsOn: []string{"a"}}}),
		to:   rel(comps{{Name: "kubernetes", Version: "1.31.4"}}, apps{{Name: "cilium", Version: "0.31.1"}}),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := releases.Compare(tc.from, tc.to)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}
}
