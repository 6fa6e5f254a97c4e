package releases

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ParseVersion parses a release version: strictly X.Y.Z, optionally with a
// pre-release and build metadata, with or without a leading "v". The
// canonical form is the result's String() ("31.0.0", no "v").
func ParseVersion(s string) (*semver.Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if t == "" {
		return nil, fmt.Errorf("empty release version: expected X.Y.Z such as 31.0.0")
	}
	v, err := semver.StrictNewVersion(t)
	if err != nil {
		return nil, fmt.Errorf("%q is not a release version: expected X.Y.Z such as 31.0.0 (%w)", s, err)
	}
	return v, nil
}

// dashed is the version as it appears in ConfigMap names: "31-0-0".
func dashed(v *semver.Version) string {
	return strings.NewReplacer(".", "-", "+", "-").Replace(v.String())
}
