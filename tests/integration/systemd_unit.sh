#!/bin/sh
# systemd_unit.sh - the generated haystackd.service passes
# `systemd-analyze verify`.
#
# verify insists that the programs a unit runs exist, so it checks the copy
# CMake generates with paths into the build tree (systemd/test/); the
# installed unit comes from the same template. verify exits 0 on many real
# mistakes (an unknown or misspelt key, a bad value: "ignoring"), so every
# line it prints about the unit counts as an error too; lines about the
# machine it runs on (other units, missing directories) do not, and a
# systemd-analyze that cannot run here skips the test. Two broken copies
# (a misspelt key, a missing program) check that this test notices.
set -eu

command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze: skipped"; exit 77; }
unit="$HS_BIN_DIR/systemd/test/haystackd.service"
[ -f "$unit" ] || { echo "missing $unit"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# verify DIR/haystackd.service: prints what systemd-analyze said; returns
# 1 when it names the unit (a unit error), 2 when it failed without doing
# so (it cannot run here), 0 otherwise.
verify() {
    out="$1/verify.out"
    rc=0
    timeout 60 systemd-analyze verify --man=no "$1/haystackd.service" >"$out" 2>&1 || rc=$?
    cat "$out"
    grep -qE "^($1/)?haystackd\.service:" "$out" && return 1
    [ "$rc" -eq 0 ] || { echo "systemd-analyze exited $rc"; return 2; }
    return 0
}

mkdir "$tmp/good" "$tmp/badkey" "$tmp/badexec"
cp "$unit" "$tmp/good/haystackd.service"
sed 's/^WatchdogSec=/WatchdgSec=/' "$unit" >"$tmp/badkey/haystackd.service"
sed "s#^ExecStart=[^ ]*#ExecStart=$tmp/missing/haystackd#" "$unit" \
    >"$tmp/badexec/haystackd.service"

for dir in good badkey badexec; do
    rc=0
    verify "$tmp/$dir" >"$tmp/$dir.log" || rc=$?
    if [ "$rc" -eq 2 ]; then
        cat "$tmp/$dir.log"
        echo "systemd-analyze verify does not work here: skipped"
        exit 77
    fi
    case "$dir:$rc" in
        good:0|bad*:1) ;;
        *) cat "$tmp/$dir.log"; echo "FAIL: $dir unit: verify returned $rc"; exit 1 ;;
    esac
done
cat "$tmp/good.log" # environment noise, if any: shown, not held against the unit
grep -q '^Type=notify$' "$unit"
grep -q "^ExecStart=$HS_BIN_DIR/daemon/haystackd -f -c " "$unit"
echo "ok: $unit (and both deliberately broken copies were caught)"
