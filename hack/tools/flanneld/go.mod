module github.com/flannel-operator/flannel-operator/hack/tools/flanneld

go 1.26.0

require github.com/flannel-io/flannel v0.28.10
