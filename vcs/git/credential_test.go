package git

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestCredentialHidesPassword(t *testing.T) {
	t.Parallel()
	const secret = "ghp_VerySecretToken123"
	c := Credential{Username: "bot", Password: secret}
	var nilCred *Credential
	tests := []struct {
		name string
		got  func() string
		want string
	}{
		{name: "String", got: c.String, want: "bot:***"},
		{name: "default user", got: Credential{Password: secret}.String, want: "x-access-token:***"},
		{name: "%v", got: func() string { return fmt.Sprintf("%v", c) }, want: "bot:***"},
		{name: "%+v", got: func() string { return fmt.Sprintf("%+v", c) }, want: "bot:***"},
		{name: "%#v", got: func() string { return fmt.Sprintf("%#v", c) }, want: `git.Credential{Username:"bot", Password:"***"}`},
		{name: "%s pointer", got: func() string { return fmt.Sprintf("%s", &c) }, want: "bot:***"},
		{name: "%+v pointer", got: func() string { return fmt.Sprintf("%+v", &c) }, want: "bot:***"},
		{name: "%#v pointer", got: func() string { return fmt.Sprintf("%#v", &c) }, want: `git.Credential{Username:"bot", Password:"***"}`},
		{name: "%d", got: func() string { return fmt.Sprintf("%d", c) }, want: "bot:***"},
		{name: "%x", got: func() string { return fmt.Sprintf("%x", c) }, want: "bot:***"},
		{name: "%q", got: func() string { return fmt.Sprintf("%q", c) }, want: "bot:***"},
		{name: "in a struct", got: func() string { return fmt.Sprintf("%+v", struct{ C *Credential }{&c}) }, want: "{C:bot:***}"},
		{name: "nil pointer", got: func() string { return fmt.Sprintf("%v", nilCred) }, want: "<nil>"},
		{name: "error wrapping", got: func() string { return fmt.Errorf("push with %v failed", c).Error() }, want: "push with bot:*** failed"},
		{name: "slog JSON", got: func() string { return logged(slog.NewJSONHandler, c) }, want: `"cred":{"username":"bot","password":"***"}`},
		{name: "slog JSON pointer", got: func() string { return logged(slog.NewJSONHandler, &c) }, want: `"cred":{"username":"bot","password":"***"}`},
		{name: "slog text", got: func() string { return logged(slog.NewTextHandler, c) }, want: "cred.username=bot cred.password=***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.got()
			if strings.Contains(got, secret) {
				t.Fatalf("output reveals the password: %s", got)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %s, want it to contain %s", got, tt.want)
			}
		})
	}
}

func logged[H slog.Handler](newHandler func(w io.Writer, opts *slog.HandlerOptions) H, v any) string {
	var buf bytes.Buffer
	slog.New(newHandler(&buf, nil)).Info("pushing", "cred", v)
	return buf.String()
}
