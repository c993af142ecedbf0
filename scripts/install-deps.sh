#!/usr/bin/env bash
# Install what Vigil needs on Debian bookworm. Idempotent: packages already present are skipped, so
# a second run costs a dpkg query and nothing else.
#
#   scripts/install-deps.sh          build dependencies (enough for `make` and `make run`)
#   scripts/install-deps.sh --test   plus what the test suite and benchmarks use (comparators,
#                                    go tool pprof, Chromium + speedscope for the browser checks)
set -euo pipefail

want_test=0
for a in "$@"; do
	case "$a" in
	--test) want_test=1 ;;
	-h | --help)
		sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown option '$a' (try --help)" >&2
		exit 1
		;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root (try: sudo $0 $*)" >&2
	exit 2
fi

build_pkgs=(make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev libiberty-dev
	libprotobuf-c-dev protobuf-c-compiler libdw-dev libmicrohttpd-dev libsqlite3-dev libyaml-dev
	libcurl4-openssl-dev libjansson-dev libsnappy-dev libcap-dev libcap2-bin nodejs npm)
test_pkgs=(libcmocka-dev binutils g++ linux-perf bpftrace libbpf-tools bpfcc-tools linux-headers-amd64
	libjemalloc2 golang-go graphviz chromium prometheus python3
	nodejs npm clang-format cppcheck util-linux procps prometheus-alertmanager strace curl openssl
	libclang-rt-14-dev iproute2)

pkgs=("${build_pkgs[@]}")
[ "$want_test" = 1 ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
	# npm ships inside nodesource's nodejs package on some hosts; a working binary is enough.
	if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
	if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

here=$(cd "$(dirname "$0")/.." && pwd)
# The web view's chart library (vigil serve), vendored from npm at build time.
want=$(sha256sum "$here/user/service/web/package-lock.json" | cut -d' ' -f1)
stamp="$here/user/service/web/node_modules/.vigil-lock-sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo "install-deps.sh: installing the web view's npm packages" >&2
	(cd "$here/user/service/web" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$want" >"$stamp"
fi

if [ "$want_test" = 1 ]; then
	# npm ci again whenever package-lock.json changed since the last install (a stamp holds its hash).
	want=$(sha256sum "$here/tests/browser/package-lock.json" | cut -d' ' -f1)
	stamp="$here/tests/browser/node_modules/.vigil-lock-sha256"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		echo "install-deps.sh: installing npm packages for the browser and format checks" >&2
		(cd "$here/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
		echo "$want" >"$stamp"
	fi
fi
exit 0
