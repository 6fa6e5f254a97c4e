package dryrun

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestExplain covers how API errors reach the person: the end-to-end tests
// (test/kyverno, cmd/upgrade-bot) produce them from a real API server.
func TestExplain(t *testing.T) {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	obj.SetKind("Cluster")
	obj.SetNamespace("org-acme")
	obj.SetName("peu01")
	gr := schema.GroupResource{Group: "cluster.x-k8s.io", Resource: "clusters"}
	denied := apierrors.NewForbidden(gr, "peu01", errors.New(`admission webhook "validate.kyverno.svc-fail" denied the request: 

resource Cluster/org-acme/peu01 was blocked due to the following policies

no-release-99:
  refuse-99: release 99.0.0 is withdrawn`))

	tests := []struct {
		name  string
		err   error
		wants []string
		isDen bool
	}{
		{"denied", denied, []string{"admission webhook validate.kyverno.svc-fail denied Cluster org-acme/peu01", "no-release-99: refuse-99: release 99.0.0 is withdrawn"}, true},
		{"forbidden", apierrors.NewForbidden(gr, "peu01", errors.New("User \"ci\" cannot patch resource")), []string{"refused the dry-run", "get and patch", "Cluster.cluster.x-k8s.io"}, false},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: "cluster.x-k8s.io", Kind: "Cluster"}, "peu01", field.ErrorList{field.Required(field.NewPath("spec"), "")}), []string{"finds the manifest invalid", "spec"}, false},
		{"other", errors.New("connection refused"), []string{"rendering Cluster org-acme/peu01 through the management cluster", "connection refused"}, false},
	}
	r := &Renderer{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.explain(obj, tt.err)
			var d *DeniedError
			if errors.As(err, &d) != tt.isDen {
				t.Errorf("DeniedError = %v, want %v: %v", errors.As(err, &d), tt.isDen, err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}
