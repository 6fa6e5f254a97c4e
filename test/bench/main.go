// Command bench is the `make bench` scenario: it generates GitOps
// repositories of several sizes, runs `upgrade-bot plan --all` on each as a
// separate process, and prints wall time, clusters per second and peak
// memory, so growth can be read off one run on one machine.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/upgrade-bot/upgrade-bot/render"
)

func main() {
	bin := flag.String("bin", "bin/upgrade-bot", "the upgrade-bot binary")
	releasesDir := flag.String("releases", "examples/releases", "the releases directory")
	sizes := flag.String("clusters", "1000,2500,5000", "fleet sizes, comma-separated")
	from := flag.String("from", "30.0.0,30.1.0", "versions the generated clusters are on")
	to := flag.String("to", "v31.0.0", "the target release")
	keep := flag.Bool("keep", false, "keep the generated repositories")
	flag.Parse()
	if err := run(context.Background(), *bin, *releasesDir, *sizes, strings.Split(*from, ","), *to, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	clusters int
	planned  int
	wall     time.Duration
	peakRSS  int64 // bytes
	output   int
}

func run(ctx context.Context, bin, releasesDir, sizes string, from []string, to string, keep bool) error {
	var results []result
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("fleet size %q: want a positive number", s)
		}
		r, err := one(ctx, bin, releasesDir, n, from, to, keep)
		if err != nil {
			return fmt.Errorf("fleet of %d clusters: %w", n, err)
		}
		results = append(results, r)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "clusters\tresources\tplanned\twall\tclusters/s\tpeak RSS\tplan JSON\tµs/cluster\tvs first\t\n")
	base := results[0]
	for _, r := range results {
		perCluster := float64(r.wall.Microseconds()) / float64(r.clusters)
		basePer := float64(base.wall.Microseconds()) / float64(base.clusters)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.2fs\t%.0f\t%d MB\t%d MB\t%.0f\t%.2fx\t\n",
			r.clusters, 3*r.clusters, r.planned, r.wall.Seconds(), float64(r.clusters)/r.wall.Seconds(),
			r.peakRSS>>20, r.output>>20, perCluster, perCluster/basePer)
	}
	fmt.Fprintln(tw, "(\"vs first\": time per cluster relative to the smallest fleet; 1.00x is linear growth)\t")
	return tw.Flush()
}

func one(ctx context.Context, bin, releasesDir string, n int, from []string, to string, keep bool) (result, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("upgrade-bot-bench-%d-", n))
	if err != nil {
		return result{}, err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	repo := filepath.Join(dir, "gitops")
	if err := render.GenerateFleet(repo, n, from); err != nil {
		return result{}, fmt.Errorf("generating the fleet: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "plan", "--repo", repo, "--releases", releasesDir, "--all", "--to", to, "-o", "json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("running %s: %w: %s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	var plan struct {
		Clusters []struct {
			Status string `json:"status"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &plan); err != nil {
		return result{}, fmt.Errorf("reading the plan: %w", err)
	}
	planned := 0
	for _, c := range plan.Clusters {
		if c.Status == "upgrade" {
			planned++
		}
	}
	if len(plan.Clusters) != n {
		return result{}, fmt.Errorf("the plan has %d clusters, the fleet %d", len(plan.Clusters), n)
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return result{clusters: n, planned: planned, wall: wall, peakRSS: rss, output: stdout.Len()}, nil
}
