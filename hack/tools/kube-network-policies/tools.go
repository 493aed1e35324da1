//go:build tools

// Package tools pins the main packages built by hack/tools/build.sh.
package tools

import (
	_ "sigs.k8s.io/kube-network-policies/cmd"
)
