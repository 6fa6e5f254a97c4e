// Package render finds Cluster API clusters in a GitOps tree, locates where
// each cluster's release version is written, and edits it in place without
// touching anything else in the file.
//
// It knows nothing about forges or where releases come from: the bot hands it
// a directory and a target version, and gets back resources and file edits.
package render

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// DefaultVersionLabel is the label on cluster resources that selects the release.
const DefaultVersionLabel = "release.giantswarm.io/version"

// Source says where a resource comes from in the repository.
type Source struct {
	// Path is the file, relative to the repository root, slash-separated.
	// For resources built by kustomize it is the file the resource was read
	// from when known, else the kustomization directory.
	Path string
	// Line is the 1-based line of the document's first line, 0 when unknown.
	Line int
	// Kustomization is the directory (relative, slash-separated) of the
	// kustomization that built the resource, empty for plain files.
	Kustomization string
}

// Resource is one Kubernetes object as the repository declares it (after
// kustomize, for kustomized directories).
type Resource struct {
	Object *unstructured.Unstructured
	Source Source
}

// Cluster is a Cluster API cluster and the resources that belong to it.
type Cluster struct {
	Name      string
	Namespace string
	// InfrastructureKind is the kind of spec.infrastructureRef of the Cluster
	// (AWSCluster, AzureCluster, ...), or of the first infrastructure
	// resource found for it; empty when unknown.
	InfrastructureKind string
	// Labels are the labels of the Cluster resource itself.
	Labels map[string]string
	// Resources are every resource of the cluster, the Cluster first, then
	// sorted by kind and name.
	Resources []*Resource
	// Root is the kustomization directory that builds the cluster, or the
	// file holding its Cluster resource, relative and slash-separated.
	Root string
	// VersionLabel is the label that selects the release, as the repository
	// was discovered with (Options.VersionLabel).
	VersionLabel string
	// Chart is, for a cluster declared by the App of a Giant Swarm cluster
	// chart (cluster-aws, ...), the chart: its Cluster API resources are
	// made by the chart on the management cluster, not written in git, and
	// Resources[0] is the App. Empty for clusters of Cluster API resources.
	Chart string
	// Flux is, for a cluster built from the path of a Flux Kustomization,
	// the Kustomization ("namespace/name") and its file: "Flux Kustomization
	// default/clusters-a (clusters/a.yaml)".
	Flux string
	// Warnings are what discovery found that a reviewer must know: ${vars}
	// the Kustomization does not set, TODO placeholders.
	Warnings []string
}

// Problem is something wrong in the repository that did not stop discovery:
// a malformed file, a kustomization that does not build.
type Problem struct {
	Path    string
	Line    int
	Message string
}

// String formats the problem as "path:line: message".
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Message)
}

// Location is one place where a cluster's version is written.
type Location struct {
	// Locator is the name of the locator that found it ("label").
	Locator string
	// Path is the file, relative to the repository root, slash-separated.
	Path string
	// Line and Column are 1-based and point at the first byte of the value
	// (inside quotes when quoted); Column counts characters, not bytes.
	Line, Column int
	// Offset and Length are the byte range of the value in the file,
	// without quotes.
	Offset, Length int
	// Value is the version as written.
	Value string
	// Description says in words what this place is, e.g.
	// "label release.giantswarm.io/version of Cluster org-acme/peu01".
	Description string
	// Shared lists the other clusters ("namespace/name") whose version is
	// written at the same place, e.g. in the labels of a kustomize base
	// several overlays use: bumping it upgrades them too.
	Shared []string
	// Warnings are what a reviewer must know about this place, e.g. that
	// nothing the Kustomization builds uses the variable.
	Warnings []string
	// Unused says that nothing the cluster is built from reads the value
	// here (a post-build variable no resource uses): LocateAll drops it
	// when another place holds the version.
	Unused bool
}

// String formats the location as "path:line:column".
func (l Location) String() string { return fmt.Sprintf("%s:%d:%d", l.Path, l.Line, l.Column) }

// FileChange is the new content of one file of the repository.
type FileChange struct {
	Path   string
	Before []byte
	After  []byte
}

// Locator finds where a cluster's version is written.
type Locator interface {
	// Name is how the locator is named in locations and configuration
	// ("label", "flux-substitute", "app-version", "values").
	Name() string
	// Locate returns the places the cluster's version is written that this
	// locator reads; none (and no error) when it reads none.
	Locate(ctx context.Context, repo *Repository, c *Cluster) ([]Location, error)
	// Stale lists the resources of a cluster read back after a bump (see
	// Repository.Rebuild) that still carry another version than version
	// where this locator reads it: a place no locator found.
	Stale(c *Cluster, version string) []string
}
