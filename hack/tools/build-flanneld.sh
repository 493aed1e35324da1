#!/usr/bin/env bash
# Builds upstream flanneld (the comparator of `make bench`) into $FLANNEL_OPERATOR_TOOLS/bin/flanneld.
#
# The version is pinned by hack/tools/flanneld/go.mod (go.sum committed, so the module zip is verified).
# Its tencentvpc backend imports the Tencent Cloud SDK, which this machine's module proxy refuses; every
# other backend (vxlan included) is untouched. So the build runs in a copy of the module source, outside
# the repo, with that one backend's import and package removed and its two SDK requirements dropped.
# cgo on amd64, static, as upstream's Makefile builds it (the udp backend needs cgo there).
#
# Cached like build.sh: a stamp keyed by version, ldflags, Go version and this directory's files;
# serialised on the same flock as build.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="${FLANNEL_OPERATOR_TOOLS:-$HOME/.cache/flannel-operator/tools}"
bin_dir="$tools_dir/bin"
stamp_dir="$tools_dir/stamps"
mkdir -p "$bin_dir" "$stamp_dir" "$tools_dir/src"

command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build-flanneld.sh: go not found" >&2; exit 1; }
export GOFLAGS="-mod=mod -buildvcs=false"

exec 9>"$tools_dir/.build.lock"
if ! flock -n 9; then
  echo "build-flanneld.sh: another build holds $tools_dir/.build.lock, waiting..." >&2
  flock 9
fi

module=github.com/flannel-io/flannel
version="$(awk -v m="$module" '$1 == "require" && $2 == m { print $3; exit }' "$here/flanneld/go.mod")"
[[ -n "$version" ]] || { echo "build-flanneld.sh: no $module in $here/flanneld/go.mod" >&2; exit 1; }
cgo=0
[[ "$(go env GOARCH)" == amd64 ]] && cgo=1
ldflags="-s -w -X $module/pkg/version.Version=$version"
[[ $cgo == 1 ]] && ldflags+=' -extldflags "-static"'
hash="$(cd "$here" && cat build-flanneld.sh flanneld/go.mod flanneld/go.sum | sha256sum | cut -d' ' -f1)"
key="$(printf '%s\n' flanneld "$version" "$ldflags" "$cgo" "$(go env GOVERSION)" "$hash" | sha256sum | cut -d' ' -f1)"
stamp="$stamp_dir/flanneld"
if [[ -x "$bin_dir/flanneld" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
  echo "build-flanneld.sh: flanneld $version up to date in $bin_dir" >&2
  exit 0
fi

start=$SECONDS
echo "build-flanneld.sh: building flanneld $version (without the tencentvpc backend)..." >&2
# Verified against the committed go.sum.
dir="$(cd "$here/flanneld" && go mod download -json "$module" | awk -F'"' '$2 == "Dir" { print $4 }')"
[[ -d "$dir" ]] || { echo "build-flanneld.sh: go mod download gave no source dir" >&2; exit 1; }
src="$tools_dir/src/flannel-$version"
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
sed -i "\\#\"$module/pkg/backend/tencentvpc\"#d" "$src/main.go"
rm -rf "$src/pkg/backend/tencentvpc"
if grep -rqs --include='*.go' tencentcloud "$src"; then
  echo "build-flanneld.sh: $src still imports the Tencent SDK" >&2
  exit 1
fi
(cd "$src" && go mod edit \
  -droprequire github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common \
  -droprequire github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc)
tmp="$bin_dir/.flanneld.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Static glibc warns about getaddrinfo & co. at link time; upstream links the same way.
(cd "$src" && CGO_ENABLED=$cgo go build -trimpath -ldflags "$ldflags" -o "$tmp" . 2>&1 |
  grep -v -e 'statically linked applications requires' -e 'in function `' -e '^# ' >&2 || true)
[[ -s "$tmp" ]] || { echo "build-flanneld.sh: go build produced no binary" >&2; exit 1; }
mv -f "$tmp" "$bin_dir/flanneld"
echo "$key" >"$stamp"
echo "build-flanneld.sh: built flanneld $version in $((SECONDS - start))s -> $bin_dir/flanneld" >&2
