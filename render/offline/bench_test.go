package offline

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

// benchObjects are a cluster's resources as a GitOps repository declares
// them, sized like real Cluster API objects. One cluster in ten has its own
// value where the release patches the KubeadmControlPlane, so that not all
// merges are alike.
func benchObjects(tb testing.TB, i int, version string) []*unstructured.Unstructured {
	tb.Helper()
	docs := []string{
		`apiVersion: cluster.x-k8s.io/v1beta1
kind: Cluster
metadata:
  name: c%[1]d
  namespace: org-acme
  labels:
    release.giantswarm.io/version: %[2]s
    giantswarm.io/organization: acme
spec:
  clusterNetwork:
    pods: {cidrBlocks: [100.64.0.0/12]}
    services: {cidrBlocks: [172.31.0.0/16]}
  controlPlaneRef: {apiVersion: controlplane.cluster.x-k8s.io/v1beta1, kind: KubeadmControlPlane, name: c%[1]d}
  infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta2, kind: AWSCluster, name: c%[1]d}
`,
		`apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: c%[1]d
  namespace: org-acme
  labels:
    release.giantswarm.io/version: %[2]s
spec:
  replicas: 3
  version: v1.30.4
  machineTemplate:
    infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta2, kind: AWSMachineTemplate, name: c%[1]d-cp}
  kubeadmConfigSpec:
    clusterConfiguration:
      apiServer:
        extraArgs: {audit-log-maxage: "%[3]d", audit-log-path: /var/log/apiserver/audit.log, cloud-provider: external}
      controllerManager:
        extraArgs: {cloud-provider: external, bind-address: 0.0.0.0}
      etcd:
        local: {extraArgs: {quota-backend-bytes: "8589934592"}}
    files:
    - {path: /etc/kubernetes/policies/audit-policy.yaml, permissions: "0600", content: "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"}
    - {path: /etc/ssh/sshd_config, permissions: "0600", content: "PermitRootLogin no\n"}
    - {path: /etc/containerd/config.toml, permissions: "0644", content: "version = 2\n"}
    initConfiguration:
      nodeRegistration: {kubeletExtraArgs: {cloud-provider: external}, name: "{{ ds.meta_data.local_hostname }}"}
    joinConfiguration:
      nodeRegistration: {kubeletExtraArgs: {cloud-provider: external}, name: "{{ ds.meta_data.local_hostname }}"}
    preKubeadmCommands: [systemctl restart containerd, echo ok]
`,
		`apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSCluster
metadata:
  name: c%[1]d
  namespace: org-acme
  labels:
    release.giantswarm.io/version: %[2]s
spec:
  region: eu-west-1
  sshKeyName: ""
  network:
    vpc: {cidrBlock: 10.0.0.0/16}
    subnets:
    - {cidrBlock: 10.0.0.0/20, availabilityZone: eu-west-1a, isPublic: true}
    - {cidrBlock: 10.0.16.0/20, availabilityZone: eu-west-1b, isPublic: true}
  controlPlaneLoadBalancer: {loadBalancerType: nlb, healthCheckProtocol: HTTPS}
`,
	}
	out := make([]*unstructured.Unstructured, 0, len(docs))
	for _, d := range docs {
		var obj unstructured.Unstructured
		maxAge := 30
		if i%10 == 0 {
			maxAge = i
		}
		j, err := sigsyaml.YAMLToJSON(fmt.Appendf(nil, d, i, version, maxAge))
		if err != nil {
			tb.Fatal(err)
		}
		if err := obj.UnmarshalJSON(j); err != nil {
			tb.Fatal(err)
		}
		out = append(out, &obj)
	}
	return out
}

var benchPatches = map[string]string{
	"Cluster": `metadata:
  annotations:
    cluster.giantswarm.io/description: managed
spec:
  clusterNetwork:
    services: {cidrBlocks: [172.31.0.0/16]}
`,
	"KubeadmControlPlane": `spec:
  version: v1.31.2
  kubeadmConfigSpec:
    clusterConfiguration:
      apiServer:
        extraArgs: {feature-gates: "StatefulSetAutoDeletePVC=true"}
    files:
    - {path: /etc/kubernetes/policies/audit-policy.yaml, permissions: "0600", content: "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n"}
    - {path: /etc/ssh/sshd_config, permissions: "0600", content: "PermitRootLogin no\n"}
    - {path: /etc/containerd/config.toml, permissions: "0644", content: "version = 2\n"}
`,
	"AWSCluster": `spec:
  controlPlaneLoadBalancer:
    +(loadBalancerType): nlb
  s3Bucket: {name: releases}
`,
}

func benchRenderer() *Renderer {
	return New("release.giantswarm.io/version", func(_ context.Context, kind, version string) (string, string, bool, error) {
		p, ok := benchPatches[kind]
		return p, "ConfigMap " + kind + "-" + version, ok, nil
	})
}

// BenchmarkRender renders one resource.
func BenchmarkRender(b *testing.B) {
	r := benchRenderer()
	objs := benchObjects(b, 1, "v31.0.0")
	ctx := b.Context()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := r.Render(ctx, objs[i%len(objs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderPlan renders what the planner renders for 5,000
// clusters: three resources each, before and after, on all CPUs, with a
// fresh renderer (cold caches) each time. It should take well under 2 s per
// operation on 2 cores.
func BenchmarkRenderPlan(b *testing.B) {
	const clusters = 5000
	var objs []*unstructured.Unstructured
	for i := range clusters {
		objs = append(objs, benchObjects(b, i, "30.1.0")...)
		objs = append(objs, benchObjects(b, i, "31.0.0")...)
	}
	ctx := b.Context()
	workers := runtime.GOMAXPROCS(0)
	b.ResetTimer()
	for b.Loop() {
		r := benchRenderer()
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(objs); i += workers {
					if _, err := r.Render(ctx, objs[i]); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
}
