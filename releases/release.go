// Package releases is the release catalog: the releases of each provider
// with their versions, dates, states, components and apps, and the
// per-kind base ConfigMaps whose patches the management cluster's Kyverno
// policy applies to cluster resources.
//
// A catalog is read from a directory in the layout of the releases
// repository (github.com/giantswarm/releases):
//
//	<provider>/v<X.Y.Z>/release.yaml           a release.giantswarm.io/v1alpha1 Release
//	<provider>/v<X.Y.Z>/base/*.yaml            ConfigMaps named <kind>-<X-Y-Z>, data.patch
//	<provider>/archived/v<X.Y.Z>/release.yaml  superseded releases (Archived)
//	<provider>/releases.json                   optional index: changelog, deprecation
//
// Problems in single files never stop loading: they become warnings
// ("path:line: message") and the file, or the part of it, is left out.
// A loaded Catalog is read-only and safe for concurrent use.
package releases

import (
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// The release states of spec.state.
const (
	StateActive     = "active"
	StateDeprecated = "deprecated"
	StateWIP        = "wip"
	StatePreview    = "preview"
)

// Component is a versioned part of a release that is not an app: the
// cluster chart, Kubernetes, the operating system.
type Component struct {
	Name    string `json:"name" yaml:"name"`
	Version string `json:"version" yaml:"version"`
	Catalog string `json:"catalog,omitempty" yaml:"catalog,omitempty"`
}

// App is an app installed in every cluster of a release.
type App struct {
	Name      string   `json:"name" yaml:"name"`
	Version   string   `json:"version" yaml:"version"`
	Catalog   string   `json:"catalog,omitempty" yaml:"catalog,omitempty"`
	DependsOn []string `json:"dependsOn,omitempty" yaml:"dependsOn,omitempty"`
}

// Patch is the base ConfigMap of a release for one resource kind.
type Patch struct {
	// Kind is the resource kind in lowercase ("kubeadmcontrolplane").
	Kind string
	// ConfigMap is the ConfigMap's name ("kubeadmcontrolplane-31-0-0").
	ConfigMap string
	// Path is the file holding the ConfigMap, relative to the catalog
	// directory and slash-separated.
	Path string
	// Data is the ConfigMap's data.patch: a YAML strategic-merge patch.
	Data string
}

// Release is one release of one provider.
type Release struct {
	// Provider is the directory the release is in ("capa").
	Provider string
	// Version is the release version, from the directory name.
	Version *semver.Version
	// Name is metadata.name of the Release ("aws-31.0.0").
	Name string
	// Dir is the release directory relative to the catalog directory,
	// slash-separated ("capa/v31.0.0", "capa/archived/v30.0.0").
	Dir string
	// Date is spec.date (or the releases.json timestamp when the release
	// has none); zero when unknown.
	Date time.Time
	// EndOfLife is spec.endOfLifeDate; zero when not set.
	EndOfLife time.Time
	// State is spec.state: active, deprecated, wip or preview.
	// releases.json marking the release deprecated makes it deprecated.
	State string
	// Archived is true for releases under <provider>/archived/.
	Archived bool
	// ChangelogURL is the release notes' address from releases.json.
	ChangelogURL string
	// Components are spec.components in the order of the file.
	Components []Component
	// Apps are spec.apps in the order of the file.
	Apps []App
	// Patches are the base ConfigMaps by lowercase kind; empty when the
	// release has no base/ directory.
	Patches map[string]Patch
}

// Patch returns the release's base ConfigMap for kind, case-insensitively.
func (r *Release) Patch(kind string) (Patch, bool) {
	p, ok := r.Patches[strings.ToLower(kind)]
	return p, ok
}

// Component returns the component called name.
func (r *Release) Component(name string) (Component, bool) {
	for _, c := range r.Components {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// ProviderFor returns the release provider of clusters whose
// spec.infrastructureRef has the given kind (case-insensitive).
func ProviderFor(infrastructureKind string) (string, bool) {
	switch strings.ToLower(infrastructureKind) {
	case "awscluster", "awsmanagedcluster":
		return "capa", true
	case "azurecluster", "azuremanagedcluster":
		return "azure", true
	case "vspherecluster":
		return "vsphere", true
	case "vcdcluster":
		return "cloud-director", true
	case "gcpcluster", "gcpmanagedcluster":
		return "gcp", true
	case "openstackcluster":
		return "openstack", true
	case "kvmcluster":
		return "kvm", true
	}
	return "", false
}
