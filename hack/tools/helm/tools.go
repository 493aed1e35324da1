//go:build tools

// Package tools pins the main packages built by hack/tools/build.sh.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
