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

func (o *object) where() string {
	if o.res.Source.Line > 0 {
		return fmt.Sprintf("%s:%d", o.res.Source.Path, o.res.Source.Line)
	}
	return o.res.Source.Path
}

// ownCluster is the cluster an object names itself: its own name for a
// Cluster, else the cluster-name label, else spec.clusterName.
func (o *object) ownCluster() string {
	if o.isCluster() {
		return o.name
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
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		for _, t := range o.refs(index) {
			if _, ok := owner[t]; !ok {
				owner[t] = owner[o]
				queue = append(queue, t)
			}
		}
	}

	byID := map[string]*Cluster{}
	for _, o := range kept {
		if !o.isCluster() {
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
		slices.SortStableFunc(m, func(a, b *object) int {
			if a.isCluster() != b.isCluster() {
				if a.isCluster() {
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
