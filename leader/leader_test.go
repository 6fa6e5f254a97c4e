package leader_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/upgrade-bot/upgrade-bot/leader"
	"github.com/upgrade-bot/upgrade-bot/test/kube"
)

// interval is when one replica worked.
type interval struct {
	who        string
	start, end time.Time
}

// TestTwoReplicas runs two electors against the real API server: one
// leads and works, the other follows and says whom; when the leader stops,
// the follower takes over well within the lease duration (the Lease is
// given up, not left to expire), and the two never work at the same time,
// so no queued request is handled twice.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	env := kube.Start(t)
	ctx := kube.Context(t, 2*time.Minute)
	client := kubernetes.NewForConfigOrDie(env.Config)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "upgrade-bot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const lease = 4 * time.Second
	newElector := func(identity string) *leader.Elector {
		e, err := leader.New(client, leader.Options{Namespace: "upgrade-bot", Name: "upgrade-bot", Identity: identity,
			LeaseDuration: lease, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	// The requests both replicas would work on; each is taken once, by
	// whoever leads.
	var (
		mu        sync.Mutex
		queue     = make([]int, 200)
		handled   = map[int]string{}
		twice     []int
		intervals []interval
	)
	for i := range queue {
		queue[i] = i
	}
	work := func(who string) func(ctx context.Context) {
		return func(ctx context.Context) {
			iv := interval{who: who, start: time.Now()}
			defer func() {
				iv.end = time.Now()
				mu.Lock()
				intervals = append(intervals, iv)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				mu.Lock()
				if len(queue) == 0 {
					mu.Unlock()
					<-ctx.Done()
					return
				}
				r := queue[0]
				queue = queue[1:]
				if _, ok := handled[r]; ok {
					twice = append(twice, r)
				}
				handled[r] = who
				mu.Unlock()
				time.Sleep(20 * time.Millisecond) // the request's work
			}
		}
	}

	a, b := newElector("replica-a"), newElector("replica-b")
	actx, stopA := context.WithCancel(ctx)
	doneA := make(chan struct{})
	go func() { defer close(doneA); a.Run(actx, work("replica-a")) }()
	waitFor(t, 30*time.Second, "replica-a to lead", func() bool { return a.Active() == nil })

	bctx, stopB := context.WithCancel(ctx)
	doneB := make(chan struct{})
	go func() { defer close(doneB); b.Run(bctx, work("replica-b")) }()
	waitFor(t, 30*time.Second, "replica-b to see the leader", func() bool {
		err := b.Active()
		return err != nil && strings.Contains(err.Error(), "following the leader replica-a")
	})
	time.Sleep(time.Second) // replica-a works, replica-b waits

	stopped := time.Now()
	stopA()
	<-doneA
	waitFor(t, lease, "replica-b to take over within the lease duration", func() bool { return b.Active() == nil })
	t.Logf("replica-b took over %s after replica-a stopped", time.Since(stopped).Round(time.Millisecond))
	if a.Active() == nil {
		t.Error("the stopped replica still says it leads")
	}
	waitFor(t, 30*time.Second, "the queue to drain", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(queue) == 0
	})
	stopB()
	<-doneB

	mu.Lock()
	defer mu.Unlock()
	if len(twice) > 0 {
		t.Errorf("requests handled twice: %v", twice)
	}
	by := map[string]int{}
	for _, who := range handled {
		by[who]++
	}
	if len(handled) != 200 || by["replica-a"] == 0 || by["replica-b"] == 0 {
		t.Errorf("handled %d requests, by replica %v; want all 200, by both", len(handled), by)
	}
	for i, x := range intervals {
		for _, y := range intervals[i+1:] {
			if x.start.Before(y.end) && y.start.Before(x.end) {
				t.Errorf("%s worked %s–%s while %s worked %s–%s", x.who, x.start.Format(time.StampMilli), x.end.Format(time.StampMilli),
					y.who, y.start.Format(time.StampMilli), y.end.Format(time.StampMilli))
			}
		}
	}
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []leader.Options{
		{Name: "upgrade-bot", Identity: "a"},
		{Namespace: "ns", Name: "upgrade-bot"},
		{Namespace: "ns", Name: "upgrade-bot", Identity: "a", LeaseDuration: 5 * time.Second, RenewDeadline: 10 * time.Second},
	} {
		if _, err := leader.New(nil, o); err == nil {
			t.Errorf("New(%+v) accepted it", o)
		}
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting %s for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
