package bot

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/upgrade-bot/upgrade-bot/render"
)

// BenchmarkPlanFleet plans a generated fleet of 1,000 clusters to the next
// release and writes the JSON plan: the pipeline of `make bench` in one
// process, for profiling (-cpuprofile, -memprofile).
func BenchmarkPlanFleet(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "gitops")
	if err := render.GenerateFleet(dir, 1000, []string{"30.0.0", "30.1.0"}); err != nil {
		b.Fatal(err)
	}
	catalog := loadCatalog(b)
	b.ReportAllocs()
	for b.Loop() {
		p := &Planner{Catalog: catalog}
		plan, err := p.Plan(context.Background(), dir, Request{All: true, Target: "v31.0.0"})
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteJSON(io.Discard, plan); err != nil {
			b.Fatal(err)
		}
	}
}
