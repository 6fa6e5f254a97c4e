// Package leader runs the bot's background work — watches, schedules,
// reconciles — on one replica at a time, elected with a coordination
// Lease (client-go's leaderelection). Every replica stays up and answers
// health checks; the followers wait, ready to take over.
package leader

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Options configure an Elector. Namespace, Name and Identity are
// required; the durations default to Kubernetes' own components' (15 s,
// 10 s, 2 s).
type Options struct {
	// Namespace and Name are the Lease's.
	Namespace, Name string
	// Identity names this replica in the Lease: the pod's name.
	Identity string
	// LeaseDuration is how long followers wait after the last renewal
	// before they take over from a leader that vanished; RenewDeadline
	// how long the leader keeps trying to renew before it gives up;
	// RetryPeriod how often everyone tries.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Log receives the elector's records; discarded when nil.
	Log *slog.Logger
}

// Elector campaigns for the Lease and runs work while it holds it.
type Elector struct {
	opts    Options
	client  kubernetes.Interface
	leading atomic.Bool
	mu      sync.Mutex
	leader  string
}

// New returns an Elector for the Lease opts names.
func New(client kubernetes.Interface, opts Options) (*Elector, error) {
	switch {
	case opts.Namespace == "" || opts.Name == "":
		return nil, errors.New("leader election needs the Lease's namespace and name")
	case opts.Identity == "":
		return nil, errors.New("leader election needs this replica's identity (the pod's name)")
	}
	opts.LeaseDuration = cmp.Or(opts.LeaseDuration, 15*time.Second)
	opts.RenewDeadline = cmp.Or(opts.RenewDeadline, 10*time.Second)
	opts.RetryPeriod = cmp.Or(opts.RetryPeriod, 2*time.Second)
	if !(opts.LeaseDuration > opts.RenewDeadline && float64(opts.RenewDeadline) > leaderelection.JitterFactor*float64(opts.RetryPeriod)) {
		return nil, fmt.Errorf("leader election: the lease duration (%s) must exceed the renew deadline (%s), which must exceed %.1f × the retry period (%s)",
			opts.LeaseDuration, opts.RenewDeadline, leaderelection.JitterFactor, opts.RetryPeriod)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Elector{opts: opts, client: client}, nil
}

// Active is nil while this replica leads, and otherwise an error naming
// the leader: the webhook server's readiness.
func (e *Elector) Active() error {
	if e.leading.Load() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == "" {
		return errors.New("waiting to be elected leader")
	}
	return fmt.Errorf("following the leader %s", e.leader)
}

// Run campaigns until ctx ends. While this replica leads, work runs with
// a context that ends when the leadership is lost (the Lease could not be
// renewed within the renew deadline) or ctx ends; after losing it, Run
// campaigns again. When ctx ends, Run waits for work to return and only
// then gives the Lease up, so that the next leader starts at once and
// never works beside this one.
func (e *Elector) Run(ctx context.Context, work func(ctx context.Context)) {
	for ctx.Err() == nil {
		e.campaign(ctx, work)
	}
}

// campaign is one leaderelection run: until this replica lost the lead it
// won, or ctx ended.
func (e *Elector) campaign(ctx context.Context, work func(ctx context.Context)) {
	// The election's own context ends only once work has returned.
	electionCtx, endElection := context.WithCancel(context.WithoutCancel(ctx))
	defer endElection()
	var (
		mu      sync.Mutex
		working chan struct{} // closed when work returns; nil before it starts
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		w := working
		mu.Unlock()
		if w != nil {
			<-w
		}
		endElection()
	})
	defer stop()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.opts.Namespace, Name: e.opts.Name},
			Client:     e.client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.opts.Identity},
		},
		LeaseDuration:   e.opts.LeaseDuration,
		RenewDeadline:   e.opts.RenewDeadline,
		RetryPeriod:     e.opts.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.opts.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				done := make(chan struct{})
				mu.Lock()
				working = done
				mu.Unlock()
				defer close(done)
				wctx, cancel := context.WithCancel(lctx)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)()
				e.leading.Store(true)
				e.opts.Log.Info("elected leader: starting the background work", "lease", e.opts.Namespace+"/"+e.opts.Name, "identity", e.opts.Identity)
				work(wctx)
				e.leading.Store(false)
			},
			OnStoppedLeading: func() {
				e.leading.Store(false)
			},
			OnNewLeader: func(identity string) {
				e.mu.Lock()
				e.leader = identity
				e.mu.Unlock()
				if identity != e.opts.Identity {
					e.opts.Log.Info("following the leader", "lease", e.opts.Namespace+"/"+e.opts.Name, "leader", identity)
				}
			},
		},
	})
	if err != nil {
		// The configuration was checked in New.
		e.opts.Log.Error("leader election", "error", err)
		return
	}
	le.Run(electionCtx)
	// Lost (or given up): wait for the work to stop before campaigning
	// again, so that it never runs twice in this process.
	mu.Lock()
	w := working
	mu.Unlock()
	if w != nil {
		<-w
	}
	if ctx.Err() == nil {
		e.opts.Log.Warn("lost the leadership; campaigning again", "lease", e.opts.Namespace+"/"+e.opts.Name)
	}
}
