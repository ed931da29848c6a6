#!/usr/bin/env bash
# The whole test suite, as CI runs it, on a fresh Debian machine (as root, so
# that missing interop peers can be installed). Interop tests fail rather
# than skip here: MQWIRE_INTEROP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"

peers=(gcc libnng-dev nng-utils libnanomsg-dev nanomsg-utils libzmq3-dev python3-zmq libjeromq-java microsocks)
missing=()
for p in "${peers[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# JeroMQ's peer (compat/jeromq) is compiled with javac: any JDK will do.
command -v javac >/dev/null || missing+=(default-jdk-headless)
if ((${#missing[@]})); then
	echo "== installing interop peers: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "need root to install ${missing[*]} (or install them and run again)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== $(go version)"
go mod download

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== everything builds and vets on other systems, and on a 32-bit one"
for os in darwin freebsd windows plan9; do
	GOOS=$os go vet ./...
done
GOARCH=386 go vet ./...

echo "== go test -race (interop peers required)"
MQWIRE_INTEROP=1 go test -race -timeout 40m ./...

echo "== go test without the race detector (interop peers required): the allocation"
echo "   tests check only here (under -race they log), and the per-P message pool runs only here"
MQWIRE_INTEROP=1 go test -count=1 -timeout 30m ./...

# runs386 reports whether this machine runs 32-bit x86 programs: a kernel
# may be built or booted without them (ia32_emulation=off).
runs386() {
	local d rc
	d=$(mktemp -d)
	printf 'package main\n\nfunc main() {}\n' >"$d/main.go"
	printf 'module probe386\n\ngo 1.21\n' >"$d/go.mod"
	rc=0
	(cd "$d" && GOARCH=386 go build -o probe . && ./probe) >/dev/null 2>&1 || rc=$?
	rm -rf "$d"
	return $rc
}

core=(./wire/... ./socket/... ./pattern/... ./transport/... ./internal/...)
echo "== the core packages, and every fuzz target's seeds, on a 32-bit build (where"
echo "   an int holds less than a size a peer may announce)"
if runs386; then
	GOARCH=386 go test -count=1 -timeout 15m "${core[@]}"
	GOARCH=386 go test -count=1 -run '^Fuzz' -timeout 10m ./...
else
	# Go's 386 programs die under qemu-i386 ("bad g in signal handler");
	# its 32-bit ARM ones run under qemu-arm.
	echo "   this machine does not run 32-bit x86 programs (its kernel's ia32 emulation is off):"
	echo "   the 386 test binaries are built and linked, not run; ./wire/... and every fuzz"
	echo "   target's seeds run on a 32-bit ARM build under qemu-arm instead"
	GOARCH=386 go test -count=1 -exec /bin/true -timeout 15m ./...
	if ! command -v qemu-arm >/dev/null; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "need root to install qemu-user (or install it and run again)" >&2
			exit 1
		fi
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
	fi
	GOARCH=arm GOARM=7 go test -count=1 -exec qemu-arm -timeout 15m ./wire/...
	GOARCH=arm GOARM=7 go test -count=1 -exec qemu-arm -run '^Fuzz' -timeout 10m ./...
fi

echo "== benchmarks, one iteration each (they must run)"
go test -run='^$' -bench=. -benchtime=1x -timeout 10m ./bench/...

echo "== all tests passed"
