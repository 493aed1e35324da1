//go:build tools

// Package tools pins CoreDNS, the cluster DNS of the kind suite's node image (hack/kind).
package tools

import (
	_ "github.com/coredns/coredns"
)
