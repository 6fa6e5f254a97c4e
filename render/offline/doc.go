// Package offline renders cluster resources under a release without a
// cluster: it applies the release's patch for a resource's kind the way the
// management cluster's Kyverno policy does (a patchStrategicMerge mutation),
// so that the rendered diff agrees with what the policy will do.
//
// # Reading patches
//
// A patch is read as Kyverno reads it: the YAML is turned into JSON with
// sigs.k8s.io/yaml (YAML 1.1, so yes/no/on/off are booleans; aliases and
// merge keys are expanded) and the JSON into values. Objects go the same way,
// without the text in between: integers stay int64, other numbers float64,
// and a whole float such as 2.0 becomes the integer 2, as after a JSON round
// trip.
//
// # Anchors
//
// Before merging, the anchors of the patch are resolved against the object,
// following Kyverno's preprocessing (pkg/engine/mutate/patch):
//
//   - +(key): value sets key only when the object has no such key.
//   - (key): pattern is a condition on the object's key. In a map, a failed
//     condition means the whole patch is not applied. In a list item, the
//     item is matched against every item of the object's list; for each item
//     that matches and has a name, a copy of the patch item (anchors removed,
//     name set) is added, so the merge updates exactly those items. Patterns
//     support the common part of Kyverno's pattern language: wildcards * and
//     ?, alternatives a | b, conjunctions a & b, negation !a, numeric
//     comparisons >, >=, <, <=, nested maps and lists.
//   - <(key): pattern is a global condition: when it fails anywhere, even in
//     a list item, the whole patch is not applied.
//   - =(key), ^(key) and X(key) are validation anchors; in a patch they are an
//     error.
//
// After resolution, conditions whose value held only conditions are removed
// and maps and lists left empty are dropped, so an empty map in a patch never
// creates a field. Where one map names a key both plainly and with +(key) or
// (key), the plain one wins. Where Kyverno's implementation departs from its own
// documented meaning this package follows the documentation: each item of
// the object's list is matched against a fresh copy of the patch item (Kyverno
// reuses one copy, so a +(key) decided on the first item carries over to the
// next), and removing several anchored items from one list removes exactly
// those items.
//
// # Merging
//
// The resolved patch is merged with the semantics of the library Kyverno
// uses, sigs.k8s.io/kustomize/api/filters/patchstrategicmerge (kyaml's
// merge2, list items of the patch prepended). What that means:
//
//   - Maps merge key by key; scalars replace; a key set to null is deleted;
//     a map holding $patch: delete is deleted, one holding $patch: replace
//     replaces the object's map, and the directive is removed. A patch value
//     of another kind than the object's (a scalar where the object has a map)
//     is an error, and so is an unknown directive, except on a map the
//     object does not have: there it stays as a field.
//   - Where the object has no such field (or null), the patch's value is
//     added with its directives applied and its null fields removed; an
//     empty map is added as one. A null in the object is kept where the
//     patch does not set the key.
//   - Lists merge only where kyaml has a schema for them: kyaml carries the
//     OpenAPI schema of Kubernetes' own kinds, so in a Deployment or a Pod
//     containers merge by name, ports by containerPort and protocol, and an
//     item holding $patch: delete deletes the item with that key. The merged
//     list holds the patch's items first, in the patch's order, then the
//     object's other items.
//   - The filter does not infer merge keys (Walker.InferAssociativeLists is
//     off), and kyaml has no schema for custom resources. So in every Cluster
//     API kind (Cluster, KubeadmControlPlane, AWSCluster, MachineDeployment,
//     ...) a list in the patch replaces the object's list as a whole, as
//     written: items keyed by name or by path (spec.kubeadmConfigSpec.files)
//     do not merge, and $patch: delete or null inside a list item is kept.
//     A release patch that changes one file of a KubeadmControlPlane
//     therefore carries the complete list of files.
//
// # Speed
//
// kyaml's merge is slow (it converts to nodes, walks the whole object and
// looks for schemas at every map), so custom resources, the objects that
// matter, are merged natively on the unstructured maps by the rules above.
// kyaml merges the rest: objects and patches that name, at the top or in a
// map reached through maps, a kind kyaml has the schema of, since a schema
// changes how lists merge; and those with an empty key in such a map, which
// kyaml refuses ("wrong node kind"). Tests merge the example releases and
// resources and generated values both ways and require the same result, and
// FuzzNativeMerge does so on any input.
//
// A patch is parsed once per kind and release and never modified; one
// without anchors is also resolved (pruned) once.
package offline
