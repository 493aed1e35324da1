//go:build tools

// Package tools pins kind, which the kind suite (hack/kind) uses to run clusters in Docker.
package tools

import (
	_ "sigs.k8s.io/kind"
)
