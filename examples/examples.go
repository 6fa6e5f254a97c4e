// Package examples embeds the example GitOps repository and releases
// directory, so that `upgrade-bot demo` runs with nothing but the binary.
package examples

import "embed"

// FS holds gitops/ (a GitOps repository with Cluster API clusters) and
// releases/ (a releases directory with base ConfigMaps).
//
//go:embed all:gitops all:releases
var FS embed.FS
