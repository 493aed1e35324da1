module github.com/flannel-operator/flannel-operator/hack/tools/local/pause

// The pod sandbox ("pause") container of the kind suite's node image: it holds the pod's namespaces,
// reaps orphans and exits on SIGINT/SIGTERM.

go 1.24.0
