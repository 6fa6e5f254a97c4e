package releases_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

func TestCheckUpgrade(t *testing.T) {
	t.Parallel()
	c := loadTestdata(t, "catalog")
	now := date("2026-04-01T00:00:00Z")
	rel := func(v string) *releases.Release { return get(t, c, "capa", v) }
	notInCatalog := func(v string) *releases.Release {
		return &releases.Release{Provider: "capa", Version: version(v)}
	}
	tests := []struct {
		name      string
		noCatalog bool
		from, to  *releases.Release
		now       time.Time
		wantWarn  []string
		wantErr   string // the whole message of an *UpgradePathError
	}{{
		name: "minor upgrade",
		from: rel("30.1.0"), to: rel("31.0.0"),
	}, {
		name: "patch of the same major",
		from: rel("31.0.0"), to: rel("31.1.0"),
	}, {
		name: "same version",
		from: rel("31.0.0"), to: rel("31.0.0"),
	}, {
		name: "downgrade",
		from: rel("31.0.0"), to: rel("30.1.0"),
		wantErr: "v31.0.0 → v30.1.0 is a downgrade: upgrade-bot only moves clusters forward; pick a release newer than v31.0.0",
	}, {
		name: "skipping a major",
		from: rel("30.1.0"), to: rel("32.0.0"),
		wantErr: "v30.1.0 → v32.0.0 skips major release 31: clusters move one major release at a time; upgrade to v31.x first (the newest is v31.1.0)",
	}, {
		name: "skipping a major that has only a preview and an archived release",
		from: rel("31.1.0"), to: rel("33.0.0"),
		wantErr: "v31.1.0 → v33.0.0 skips major release 32: clusters move one major release at a time; upgrade to v32.x first (the newest is v32.0.0)",
	}, {
		name: "skipping a major without a catalog to ask",
		from: rel("30.1.0"), to: rel("32.0.0"), noCatalog: true,
		wantErr: "v30.1.0 → v32.0.0 skips major release 31: clusters move one major release at a time; upgrade to v31.x first",
	}, {
		name: "skipping a major the catalog does not have",
		from: notInCatalog("28.3.0"), to: rel("30.1.0"),
		wantWarn: []string{"v28.3.0 → v30.1.0 skips major releases that the capa catalog does not have: read the release notes of v30.1.0 for the upgrade path"},
	}, {
		name: "from a release not in the catalog",
		from: notInCatalog("30.0.5"), to: rel("31.0.0"),
	}, {
		name: "to a deprecated release past its end of life",
		from: notInCatalog("29.9.0"), to: rel("30.0.0"),
		wantWarn: []string{
			"target release v30.0.0 is deprecated; the newest active release is v31.1.0",
			"target release v30.0.0 reached its end of life on 2025-12-31",
		},
	}, {
		name: "to a deprecated release before its end of life",
		from: notInCatalog("29.9.0"), to: rel("30.0.0"), now: date("2025-12-30T23:00:00Z"),
		wantWarn: []string{"target release v30.0.0 is deprecated; the newest active release is v31.1.0"},
	}, {
		name: "to a preview",
		from: rel("31.1.0"), to: rel("32.0.0"),
		wantWarn: []string{"target release v32.0.0 is preview: not released for production"},
	}, {
		name: "to a wip release",
		from: rel("32.0.0"), to: rel("33.0.0"),
		wantWarn: []string{"target release v33.0.0 is wip: not released for production"},
	}, {
		// The newest active release, v31.1.0, is older: no suggestion.
		name: "to an archived release",
		from: rel("31.1.0"), to: rel("32.1.0"),
		wantWarn: []string{
			"target release v32.1.0 is deprecated",
			"target release v32.1.0 is archived: newer releases superseded it",
		},
	}, {
		name: "to another provider",
		from: rel("30.1.0"), to: get(t, c, "azure", "31.0.0"),
		wantErr: "v30.1.0 → v31.0.0 changes the provider from capa to azure: a release upgrade keeps the provider",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cat := c
			if tc.noCatalog {
				cat = nil
			}
			at := now
			if !tc.now.IsZero() {
				at = tc.now
			}
			warnings, err := releases.CheckUpgrade(cat, tc.from, tc.to, at)
			if tc.wantErr != "" {
				var pe *releases.UpgradePathError
				if !errors.As(err, &pe) {
					t.Fatalf("error = %v, want an *UpgradePathError", err)
				}
				if err.Error() != tc.wantErr {
					t.Errorf("error:\n got %s\nwant %s", err, tc.wantErr)
				}
				if pe.From != tc.from.Version.String() || pe.To != tc.to.Version.String() {
					t.Errorf("error names %s → %s", pe.From, pe.To)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v, want none", err)
			}
			if diff := cmp.Diff(tc.wantWarn, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("missing releases", func(t *testing.T) {
		for _, pair := range [][2]*releases.Release{{nil, rel("31.0.0")}, {rel("31.0.0"), nil}, {{Provider: "capa"}, rel("31.0.0")}} {
			if _, err := releases.CheckUpgrade(c, pair[0], pair[1], now); err == nil {
				t.Errorf("CheckUpgrade(%v, %v) succeeded", pair[0], pair[1])
			}
		}
	})
}
