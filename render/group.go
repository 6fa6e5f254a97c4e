package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// clusterNameLabel is the label Cluster API puts on a cluster's resources.
const clusterNameLabel = "cluster.x-k8s.io/cluster-name"

// capiGroup is the API group of Cluster API; providers use subgroups of it
// (infrastructure.cluster.x-k8s.io, controlplane.cluster.x-k8s.io, ...).
const capiGroup = "cluster.x-k8s.io"

// object is one Cluster API resource before grouping.
type object struct {
	res       *Resource
	doc       *document // the document it was read from; nil for kustomize output
	group     string
	kind      string
	namespace string
	name      string
}

// apiGroup returns the group of an apiVersion ("" for the core group).
func apiGroup(apiVersion string) string {
	if g, _, ok := strings.Cut(apiVersion, "/"); ok {
		return g
	}
	return ""
}

// isCAPIGroup reports whether group is Cluster API's or one of its
// providers'.
func isCAPIGroup(group string) bool {
	return group == capiGroup || strings.HasSuffix(group, "."+capiGroup)
}

// clusterID is how clusters are named to people: "namespace/name", or the
// name alone when the repository gives no namespace.
func clusterID(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func newObject(u map[string]any, src Source, doc *document) *object {
	obj := &unstructured.Unstructured{Object: u}
	return &object{
		res:       &Resource{Object: obj, Source: src},
		doc:       doc,
		group:     apiGroup(obj.GetAPIVersion()),
		kind:      obj.GetKind(),
		namespace: obj.GetNamespace(),
		name:      obj.GetName(),
	}
}

func (o *object) identity() string {
	return o.group + "/" + o.kind + "/" + o.namespace + "/" + o.name
}

func (o *object) isCluster() bool { return o.group == capiGroup && o.kind == "Cluster" }

// gsClusterLabel names the cluster a Giant Swarm resource belongs to.
const gsClusterLabel = "giantswarm.io/cluster"

// appGroup is the API group of Giant Swarm's App resources.
const appGroup = "application.giantswarm.io"

// clusterCharts are the Giant Swarm charts that make a workload cluster
// (the Cluster API resources are the chart's), with the infrastructure kind
// the chart creates.
var clusterCharts = map[string]string{
	"cluster-aws":            "AWSCluster",
	"cluster-eks":            "AWSManagedCluster",
	"cluster-azure":          "AzureCluster",
	"cluster-vsphere":        "VSphereCluster",
	"cluster-cloud-director": "VCDCluster",
	"cluster-gcp":            "GCPCluster",
	"cluster-openstack":      "OpenStackCluster",
}

// isChartKind reports whether resources of this group and kind are part
// of clusters made by a chart: Apps and ConfigMaps.
func isChartKind(group, kind string) bool {
	return group == appGroup && kind == "App" || group == "" && kind == "ConfigMap"
}

func (o *object) isApp() bool { return o.group == appGroup && o.kind == "App" }

func (o *object) isConfigMap() bool { return o.group == "" && o.kind == "ConfigMap" }

// chart is spec.name of an App, "" for other objects.
func (o *object) chart() string {
	if !o.isApp() {
		return ""
	}
	v, _, _ := unstructured.NestedString(o.res.Object.Object, "spec", "name")
	return v
}

// isClusterApp reports whether o is an App of a cluster chart.
func (o *object) isClusterApp() bool {
	_, ok := clusterCharts[o.chart()]
	return ok
}

// appConfigMaps returns the ConfigMaps an App takes its values from:
// spec.config.configMap, spec.userConfig.configMap, spec.extraConfigs.
func (o *object) appConfigMaps(index map[string][]*object) []*object {
	spec, _ := o.res.Object.Object["spec"].(map[string]any)
	var refs []map[string]any
	for _, k := range []string{"config", "userConfig"} {
		if c, ok := spec[k].(map[string]any); ok {
			if cm, ok := c["configMap"].(map[string]any); ok {
				refs = append(refs, cm)
			}
		}
	}
	extra, _ := spec["extraConfigs"].([]any)
	for _, e := range extra {
		if m, ok := e.(map[string]any); ok {
			if kind, _ := m["kind"].(string); kind == "" || strings.EqualFold(kind, "configMap") {
				refs = append(refs, m)
			}
		}
	}
	var out []*object
	for _, ref := range refs {
		name, _ := ref["name"].(string)
		ns, _ := ref["namespace"].(string)
		for _, t := range index["ConfigMap/"+cmp.Or(ns, o.namespace)+"/"+name] {
			if t.isConfigMap() {
				out = append(out, t)
			}
		}
	}
	return out
}

// appTarget is the cluster an App belongs to: the one its label
// giantswarm.io/cluster names, or the one it installs into, by the
// kubeconfig Secret Giant Swarm names after it (<cluster>-kubeconfig); ""
// for none.
func (o *object) appTarget() string {
	if name := o.res.Object.GetLabels()[gsClusterLabel]; name != "" {
		return clusterID(o.namespace, name)
	}
	secret, _, _ := unstructured.NestedStringMap(o.res.Object.Object, "spec", "kubeConfig", "secret")
	name, ok := strings.CutSuffix(secret["name"], "-kubeconfig")
	if !ok || name == "" {
		return ""
	}
	return clusterID(cmp.Or(secret["namespace"], o.namespace), name)
}

func (o *object) where() string {
	if o.res.Source.Line > 0 {
		return fmt.Sprintf("%s:%d", o.res.Source.Path, o.res.Source.Line)
	}
	return o.res.Source.Path
}

// ownCluster is the cluster an object names itself: its own name for a
// Cluster, else the cluster-name label, else spec.clusterName.
func (o *object) ownCluster() string {
	if o.isCluster() || o.isClusterApp() {
		return o.name
	}
	if !isCAPIGroup(o.group) {
		return ""
	}
	if v := o.res.Object.GetLabels()[clusterNameLabel]; v != "" {
		return v
	}
	v, _, _ := unstructured.NestedString(o.res.Object.Object, "spec", "clusterName")
	return v
}

// refs returns the objects o references (infrastructureRef, controlPlaneRef,
// configRef, machineTemplate.infrastructureRef, ...): every map under spec
// with a kind and a name.
func (o *object) refs(index map[string][]*object) []*object {
	var out []*object
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 50 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			kind, _ := x["kind"].(string)
			name, _ := x["name"].(string)
			if kind != "" && name != "" {
				ns, _ := x["namespace"].(string)
				if ns == "" {
					ns = o.namespace
				}
				group := ""
				if av, ok := x["apiVersion"].(string); ok {
					group = apiGroup(av)
				} else if g, ok := x["apiGroup"].(string); ok {
					group = g
				}
				for _, t := range index[kind+"/"+ns+"/"+name] {
					if group == "" || t.group == group {
						out = append(out, t)
					}
				}
			}
			for _, v := range x {
				walk(v, depth+1)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		}
	}
	walk(o.res.Object.Object["spec"], 0)
	// Map order is random; the order refs are followed in decides which
	// cluster a shared template joins.
	slices.SortFunc(out, func(a, b *object) int { return strings.Compare(a.identity(), b.identity()) })
	return slices.Compact(out)
}

// grouped is the result of grouping objects into clusters.
type grouped struct {
	clusters []*Cluster
	// members maps each cluster to its objects (the Cluster first).
	members  map[*Cluster][]*object
	problems []Problem
}

// groupClusters groups Cluster API objects into clusters. objs must be in a
// deterministic order (by file, then document); the first of two objects
// with the same identity wins and the other is reported. root names the
// cluster's Root: the kustomization directory when non-empty, else the
// file of the Cluster.
func groupClusters(objs []*object, kustomization, versionLabel string) grouped {
	out := grouped{members: map[*Cluster][]*object{}}
	seen := map[string]*object{}
	index := map[string][]*object{}
	var kept []*object
	for _, o := range objs {
		if first, dup := seen[o.identity()]; dup {
			out.problems = append(out.problems, Problem{
				Path: o.res.Source.Path, Line: o.res.Source.Line,
				Message: fmt.Sprintf("%s %s is declared again (first at %s); this one is ignored", o.kind, clusterID(o.namespace, o.name), first.where()),
			})
			continue
		}
		seen[o.identity()] = o
		index[o.kind+"/"+o.namespace+"/"+o.name] = append(index[o.kind+"/"+o.namespace+"/"+o.name], o)
		kept = append(kept, o)
	}

	owner := map[*object]string{} // object → cluster ID
	var queue []*object
	for _, o := range kept {
		if name := o.ownCluster(); name != "" {
			owner[o] = clusterID(o.namespace, name)
			queue = append(queue, o)
		}
	}
	follow := func() {
		for len(queue) > 0 {
			o := queue[0]
			queue = queue[1:]
			var targets []*object
			if o.isApp() {
				targets = o.appConfigMaps(index)
			} else if isCAPIGroup(o.group) {
				targets = o.refs(index)
			}
			for _, t := range targets {
				if _, ok := owner[t]; !ok && (isCAPIGroup(t.group) || o.isApp()) {
					owner[t] = owner[o]
					queue = append(queue, t)
				}
			}
		}
	}
	follow()
	// Apps installed into a cluster (through its kubeconfig Secret) belong
	// to it, with their ConfigMaps.
	for _, o := range kept {
		if _, ok := owner[o]; !ok && o.isApp() {
			if id := o.appTarget(); id != "" {
				owner[o] = id
				queue = append(queue, o)
			}
		}
	}
	follow()

	byID := map[string]*Cluster{}
	capiClusters := map[string]bool{}
	for _, o := range kept {
		if o.isCluster() {
			capiClusters[owner[o]] = true
		}
	}
	for _, o := range kept {
		// A cluster is its Cluster resource, or the App of a cluster chart
		// when the Cluster is the chart's; an App beside a Cluster of the
		// same name is one of its resources.
		if !o.isCluster() && (!o.isClusterApp() || capiClusters[owner[o]]) {
			continue
		}
		root := kustomization
		if root == "" {
			root = o.res.Source.Path
		}
		c := &Cluster{
			Name:         o.name,
			Namespace:    o.namespace,
			Labels:       o.res.Object.GetLabels(),
			Root:         root,
			VersionLabel: versionLabel,
		}
		c.InfrastructureKind, _, _ = unstructured.NestedString(o.res.Object.Object, "spec", "infrastructureRef", "kind")
		if o.isClusterApp() {
			c.Chart = o.chart()
			c.InfrastructureKind = clusterCharts[c.Chart]
		}
		byID[owner[o]] = c
		out.clusters = append(out.clusters, c)
	}
	for _, o := range kept {
		if c, ok := byID[owner[o]]; ok {
			out.members[c] = append(out.members[c], o)
		}
	}
	for _, c := range out.clusters {
		m := out.members[c]
		first := func(o *object) bool { return o.isCluster() || (c.Chart != "" && o.isClusterApp() && o.name == c.Name) }
		slices.SortStableFunc(m, func(a, b *object) int {
			if first(a) != first(b) {
				if first(a) {
					return -1
				}
				return 1
			}
			return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.name, b.name))
		})
		for _, o := range m {
			c.Resources = append(c.Resources, o.res)
		}
		if c.InfrastructureKind == "" {
			c.InfrastructureKind = cmp.Or(classInfrastructureKind(m[0], index), infrastructureKind(m))
		}
	}
	return out
}

// classInfrastructureKind is, for a Cluster with a managed topology, the
// infrastructure kind its ClusterClass stamps out (AWSClusterTemplate →
// AWSCluster), or "".
func classInfrastructureKind(cluster *object, index map[string][]*object) string {
	u := cluster.res.Object.Object
	class, _, _ := unstructured.NestedString(u, "spec", "topology", "class")
	if class == "" {
		class, _, _ = unstructured.NestedString(u, "spec", "topology", "classRef", "name")
	}
	ns, _, _ := unstructured.NestedString(u, "spec", "topology", "classNamespace")
	if class == "" {
		return ""
	}
	for _, cc := range index["ClusterClass/"+cmp.Or(ns, cluster.namespace)+"/"+class] {
		spec := cc.res.Object.Object
		kind, _, _ := unstructured.NestedString(spec, "spec", "infrastructure", "ref", "kind")
		if kind == "" {
			kind, _, _ = unstructured.NestedString(spec, "spec", "infrastructure", "templateRef", "kind")
		}
		if kind != "" {
			return strings.TrimSuffix(kind, "Template")
		}
	}
	return ""
}

// infrastructureKind is the kind of the first infrastructure resource,
// preferring non-template kinds.
func infrastructureKind(m []*object) string {
	fallback := ""
	for _, o := range m {
		if o.group != "infrastructure."+capiGroup {
			continue
		}
		if !strings.HasSuffix(o.kind, "Template") {
			return o.kind
		}
		if fallback == "" {
			fallback = o.kind
		}
	}
	return fallback
}
