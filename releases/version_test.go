package releases_test

import (
	"strings"
	"testing"

	"github.com/upgrade-bot/upgrade-bot/releases"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	good := []struct{ in, want string }{
		{"31.0.0", "31.0.0"},
		{"v31.0.0", "31.0.0"},
		{" v31.0.0\n", "31.0.0"},
		{"31.0.0-alpha.1", "31.0.0-alpha.1"},
		{"v31.0.0+build.5", "31.0.0+build.5"},
		{"0.1.0", "0.1.0"},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			v, err := releases.ParseVersion(tc.in)
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tc.in, err)
			}
			if got := v.String(); got != tc.want {
				t.Errorf("ParseVersion(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	bad := []string{"", "v", "latest", "31", "v31", "v31.0", "31.0.0.0", "031.0.0", "vv31.0.0", "V31.0.0", "31.0.x", "31.0.0-", "=31.0.0", "~31.0.0"}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			v, err := releases.ParseVersion(in)
			if err == nil {
				t.Fatalf("ParseVersion(%q) = %s, want an error", in, v)
			}
			if !strings.Contains(err.Error(), "expected X.Y.Z such as 31.0.0") {
				t.Errorf("ParseVersion(%q) error %q does not say what is expected", in, err)
			}
		})
	}
}
