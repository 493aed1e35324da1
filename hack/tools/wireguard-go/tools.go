//go:build tools

// Package tools pins the main packages built by hack/tools/build.sh.
package tools

import (
	_ "golang.zx2c4.com/wireguard"
)
