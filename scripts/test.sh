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

echo "== the core packages, and every fuzz target's seeds, on a 32-bit build (where"
echo "   an int holds less than a size a peer may announce)"
GOARCH=386 go test -count=1 -timeout 15m ./wire/... ./socket/... ./pattern/... ./transport/... ./internal/...
GOARCH=386 go test -count=1 -run '^Fuzz' -timeout 10m ./...

echo "== benchmarks, one iteration each (they must run)"
go test -run='^$' -bench=. -benchtime=1x -timeout 10m ./bench/...

echo "== all tests passed"
