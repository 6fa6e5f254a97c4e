package releases

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"testing/fstest"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// The resources a management cluster holds releases in.
var (
	// ReleaseResource is Giant Swarm's cluster-scoped Release.
	ReleaseResource = schema.GroupVersionResource{Group: "release.giantswarm.io", Version: "v1alpha1", Resource: "releases"}
	configMaps      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

// VersionLabel marks a release ConfigMap with its release version.
const VersionLabel = "release.giantswarm.io/version"

// releaseProviders maps the provider prefix of Release resource names
// ("aws-31.0.0") to the provider directories of the releases repository.
var releaseProviders = map[string]string{
	"aws": "capa", "capa": "capa", "azure": "azure", "capz": "azure",
	"vsphere": "vsphere", "cloud-director": "cloud-director", "eks": "eks",
}

var releaseNameRE = regexp.MustCompile(`^([a-z0-9-]+?)-v?(\d+\.\d+\.\d+.*)$`)

// FromCluster reads the catalog a management cluster holds: the Release
// resources (when the cluster serves them) and the ConfigMaps labelled
// release.giantswarm.io/version in namespace giantswarm. A ConfigMap belongs
// to the provider of the Release of its version; defaultProvider is used
// when there is no such Release (or the cluster has none at all), and such
// a release gets a warning that its components are unknown.
func FromCluster(ctx context.Context, client dynamic.Interface, defaultProvider string) (*Catalog, error) {
	fsys := fstest.MapFS{}
	var warnings []string
	providerOf := map[string][]string{} // version → providers

	rels, err := client.Resource(ReleaseResource).List(ctx, metav1.ListOptions{})
	switch {
	case err == nil:
		for _, r := range rels.Items {
			m := releaseNameRE.FindStringSubmatch(r.GetName())
			if m == nil {
				warnings = append(warnings, fmt.Sprintf("Release %s: the name is not <provider>-<X.Y.Z>; skipped", r.GetName()))
				continue
			}
			provider, ok := releaseProviders[m[1]]
			if !ok {
				provider = m[1]
			}
			v, err := ParseVersion(m[2])
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("Release %s: %v; skipped", r.GetName(), err))
				continue
			}
			b, err := yaml.Marshal(cleanRelease(r))
			if err != nil {
				return nil, fmt.Errorf("reading Release %s: %w", r.GetName(), err)
			}
			fsys[path.Join(provider, "v"+v.String(), "release.yaml")] = &fstest.MapFile{Data: b}
			providerOf[v.String()] = append(providerOf[v.String()], provider)
		}
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		// The cluster has no Release resources; ConfigMaps are enough.
	default:
		return nil, fmt.Errorf("listing the Release resources of the management cluster: %w", err)
	}

	cms, err := client.Resource(configMaps).Namespace(Namespace).List(ctx, metav1.ListOptions{LabelSelector: VersionLabel})
	if err != nil {
		return nil, fmt.Errorf("listing the release ConfigMaps in namespace %s of the management cluster: %w", Namespace, err)
	}
	for _, cm := range cms.Items {
		v, err := ParseVersion(cm.GetLabels()[VersionLabel])
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("ConfigMap %s/%s: label %s: %v; skipped", Namespace, cm.GetName(), VersionLabel, err))
			continue
		}
		providers := providerOf[v.String()]
		switch {
		case len(providers) > 1:
			warnings = append(warnings, fmt.Sprintf("ConfigMap %s/%s: the Releases of v%s are of several providers (%v); it is used for each", Namespace, cm.GetName(), v, providers))
		case len(providers) == 0 && defaultProvider == "":
			warnings = append(warnings, fmt.Sprintf("ConfigMap %s/%s: no Release v%s on the cluster tells its provider; pass --provider; skipped", Namespace, cm.GetName(), v))
			continue
		case len(providers) == 0:
			providers = []string{defaultProvider}
			rel := path.Join(defaultProvider, "v"+v.String(), "release.yaml")
			if _, ok := fsys[rel]; !ok {
				warnings = append(warnings, fmt.Sprintf("release v%s: ConfigMaps but no Release resource on the cluster; its components are unknown", v))
				fsys[rel] = &fstest.MapFile{Data: []byte(fmt.Sprintf("apiVersion: release.giantswarm.io/v1alpha1\nkind: Release\nmetadata:\n  name: %s-%s\nspec:\n  state: active\n", defaultProvider, v))}
				providerOf[v.String()] = providers
			}
		}
		b, err := yaml.Marshal(cleanConfigMap(cm))
		if err != nil {
			return nil, fmt.Errorf("reading ConfigMap %s: %w", cm.GetName(), err)
		}
		for _, p := range providers {
			fsys[path.Join(p, "v"+v.String(), "base", cm.GetName()+".yaml")] = &fstest.MapFile{Data: b}
		}
	}
	if len(fsys) == 0 {
		return nil, fmt.Errorf("the management cluster holds no releases: no Release resources and no ConfigMaps labelled %s in namespace %s", VersionLabel, Namespace)
	}
	c, err := LoadFS(ctx, fsys)
	if err != nil {
		return nil, fmt.Errorf("reading the releases of the management cluster: %w", err)
	}
	c.warnings = append(warnings, c.warnings...)
	return c, nil
}

// cleanRelease keeps what a release.yaml of the releases repository holds.
func cleanRelease(r unstructured.Unstructured) map[string]any {
	return map[string]any{
		"apiVersion": r.GetAPIVersion(), "kind": r.GetKind(),
		"metadata": map[string]any{"name": r.GetName()},
		"spec":     r.Object["spec"],
	}
}

func cleanConfigMap(cm unstructured.Unstructured) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": cm.GetName(), "namespace": cm.GetNamespace(), "labels": cm.GetLabels()},
		"data":     cm.Object["data"],
	}
}
