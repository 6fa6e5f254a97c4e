package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/upgrade-bot/upgrade-bot/vcs"
)

// Scan looks for commands the bot has not answered: comments in repo
// since the given time that hold /upgrade and carry none of the bot's
// final reactions. It runs at start-up and periodically, so that a
// restart or a lost webhook loses nothing. It returns how many comments it
// handled.
func (s *Service) Scan(ctx context.Context, p vcs.Provider, repo string, since time.Time) (int, error) {
	comments, err := retry(ctx, s, func() ([]vcs.Comment, error) { return p.RecentComments(ctx, repo, since) })
	if err != nil {
		return 0, fmt.Errorf("listing the recent comments of %s: %w", repo, err)
	}
	n := 0
	var errs []error
	for _, c := range comments {
		if c.Author.Bot || !strings.Contains(c.Body, CommandPrefix) {
			continue
		}
		if cmds, bad := ParseCommands(c.Body); len(cmds) == 0 && len(bad) == 0 {
			continue
		}
		if err := s.HandleComment(ctx, p, repo, c); err != nil {
			errs = append(errs, fmt.Errorf("comment %d: %w", c.ID, err))
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("scanning %s: %d comments failed, the first: %w", repo, len(errs), errs[0])
	}
	return n, nil
}
