#!/bin/sh
# install.sh - `cmake --install` puts every file where docs/operations.md
# says, under any prefix, and the installed daemon runs.
#
# The build tree is installed into a fresh temporary prefix (nothing
# outside it is written); the list below is the install layout operators
# and packagers rely on.
set -eu

command -v cmake >/dev/null 2>&1 || { echo "no cmake: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

prefix="$tmp/prefix"
timeout 120 cmake --install "$HS_BIN_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log"; exit 1; }

status=0
for f in \
    sbin/haystackd \
    bin/haystack-sig \
    etc/haystack/haystackd.conf \
    etc/haystack/signatures.json \
    lib/systemd/system/haystackd.service \
    lib/sysctl.d/60-haystackd.conf \
    share/man/man1/haystack-sig.1 \
    share/man/man5/haystackd.conf.5 \
    share/man/man8/haystackd.8; do
    if [ ! -f "$prefix/$f" ]; then
        echo "FAIL: not installed: $f"
        status=1
    fi
done
for f in sbin/haystackd bin/haystack-sig; do
    [ -x "$prefix/$f" ] || { echo "FAIL: not executable: $f"; status=1; }
done
[ "$status" -eq 0 ] || { (cd "$prefix" && find . -type f | sort); exit 1; }

version=$("$prefix/sbin/haystackd" -V)
case "$version" in
    "haystackd "[0-9]*) ;;
    *) echo "FAIL: haystackd -V printed '$version'"; exit 1 ;;
esac
# The shipped configuration names the shipped signatures: -t accepts the
# pair once the path points into the prefix.
sed "s#^file = /etc/haystack/signatures.json#file = $prefix/etc/haystack/signatures.json#" \
    "$prefix/etc/haystack/haystackd.conf" >"$tmp/check.conf"
"$prefix/sbin/haystackd" -t -c "$tmp/check.conf"
grep -q '^net.core.rmem_max = 33554432$' "$prefix/lib/sysctl.d/60-haystackd.conf"
grep -q '^ExecStart=/.*/haystackd -f -c /.*/haystack/haystackd.conf$' \
    "$prefix/lib/systemd/system/haystackd.service"
echo "ok: installed into a temporary prefix; $version"
