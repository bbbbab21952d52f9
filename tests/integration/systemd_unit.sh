#!/bin/sh
# systemd_unit.sh - the generated haystackd.service passes
# `systemd-analyze verify`.
#
# verify insists that the programs a unit runs exist, so it checks the copy
# CMake generates with paths into the build tree (systemd/test/); the
# installed unit comes from the same template. verify exits 0 on many real
# mistakes (an unknown or misspelt key, a bad value: "ignoring"), so every
# line it prints about the unit counts as an error too; lines about the
# machine it runs on (other units, missing directories) do not. Two broken
# copies check that this test would notice.
set -eu

command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze: skipped"; exit 77; }
unit="$HS_BIN_DIR/systemd/test/haystackd.service"
[ -f "$unit" ] || { echo "missing $unit"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# verify DIR/haystackd.service: prints the problems, fails when there are any.
verify() {
    out="$1/verify.out"
    rc=0
    timeout 60 systemd-analyze verify --man=no "$1/haystackd.service" >"$out" 2>&1 || rc=$?
    if grep -E "^($1/)?haystackd\.service:" "$out" || [ "$rc" -ne 0 ]; then
        cat "$out"
        echo "systemd-analyze verify exited $rc"
        return 1
    fi
    cat "$out" # environment noise, shown but not held against the unit
    return 0
}

mkdir "$tmp/good" "$tmp/badkey" "$tmp/badexec"
cp "$unit" "$tmp/good/haystackd.service"
sed 's/^WatchdogSec=/WatchdgSec=/' "$unit" >"$tmp/badkey/haystackd.service"
sed "s#^ExecStart=[^ ]*#ExecStart=$tmp/missing/haystackd#" "$unit" \
    >"$tmp/badexec/haystackd.service"

for broken in badkey badexec; do
    if verify "$tmp/$broken" >/dev/null; then
        echo "FAIL: a unit with a $broken error passed the check"
        exit 1
    fi
done
verify "$tmp/good"
grep -q '^Type=notify$' "$unit"
grep -q "^ExecStart=$HS_BIN_DIR/daemon/haystackd -f -c " "$unit"
echo "ok: $unit"
