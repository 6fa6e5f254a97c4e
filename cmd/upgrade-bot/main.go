// Command upgrade-bot proposes, previews and lands release upgrades of
// Cluster API workload clusters managed with GitOps.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/upgrade-bot/upgrade-bot/bot"
)

// Exit codes.
const (
	exitOK       = 0
	exitInternal = 1
	// exitInput means the request or the data it points at is wrong;
	// nothing was written.
	exitInput = 2
)

// envPrefix names the environment variables that set flags:
// --releases is UPGRADE_BOT_RELEASES.
const envPrefix = "UPGRADE_BOT_"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// app holds what every command shares.
type app struct {
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
	log            *slog.Logger
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	use := "upgrade-bot"
	// Installed as kubectl-upgrade_bot, kubectl runs it as `kubectl upgrade-bot`.
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl-") {
		use = "kubectl upgrade-bot"
	}
	root := &cobra.Command{
		Use:   use,
		Short: "Propose, preview and land release upgrades of Cluster API clusters managed with GitOps",
		Long: `upgrade-bot bumps a workload cluster's release version where the GitOps
repository writes it, renders what the upgrade changes in every cluster
resource, and proposes the change as a branch (and pull request).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
				return usageErrorf("--log-level %q: use debug, info, warn or error", a.logLevel)
			}
			opts := &slog.HandlerOptions{Level: level}
			switch a.logFormat {
			case "text":
				a.log = slog.New(slog.NewTextHandler(stderr, opts))
			case "json":
				a.log = slog.New(slog.NewJSONHandler(stderr, opts))
			default:
				return usageErrorf("--log-format %q: use text or json", a.logFormat)
			}
			// Libraries that print through the standard logger (kustomize's
			// deprecation notices) are debug output here.
			log.SetFlags(0)
			log.SetOutput(&debugWriter{log: a.log})
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format: text (logfmt) or json, one object per line")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })
	root.AddCommand(
		a.planCommand(),
		a.proposeCommand(),
		a.applyCommand(),
		a.serveCommand(),
		a.statusCommand(),
		a.releasesCommand(),
		a.demoCommand(),
		versionCommand(),
	)

	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	var ue *usageError
	if errors.Is(err, bot.ErrInvalidRequest) || errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return exitInput
	}
	return exitInternal
}

// debugWriter turns lines written to the standard logger into debug records.
type debugWriter struct{ log *slog.Logger }

func (w *debugWriter) Write(p []byte) (int, error) {
	w.log.Debug(strings.TrimSpace(string(p)), "source", "library")
	return len(p), nil
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// bindEnv sets every flag not given on the command line from its
// UPGRADE_BOT_<FLAG> environment variable, if set.
func bindEnv(flags *pflag.FlagSet) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if f.Value.Type() == "stringSlice" || f.Value.Type() == "stringArray" {
			for _, item := range strings.Split(v, ",") {
				if serr := f.Value.Set(strings.TrimSpace(item)); serr != nil {
					err = usageErrorf("%s=%q: %v", name, v, serr)
					return
				}
			}
			return
		}
		if serr := flags.Set(f.Name, v); serr != nil {
			err = usageErrorf("%s=%q: %v", name, v, serr)
		}
	})
	return err
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "upgrade-bot", version)
			return err
		},
	}
}
