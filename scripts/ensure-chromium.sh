#!/bin/sh
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (Playwright drives it).
# Installs it only when it is missing and we are root with apt-get; otherwise says why and goes on.
# Always exits 0: the browser tests skip themselves with a clear reason when Chromium is absent.
# Prints nothing when Chromium is already there.

CHROMIUM=/usr/bin/chromium

[ -x "$CHROMIUM" ] && exit 0

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM is missing and this is not root with apt-get; browser tests will be skipped"
    exit 0
fi

echo "ensure-chromium: installing the Debian package chromium with apt-get (for the browser tests)"
log=$(mktemp) || exit 0
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >"$log" 2>&1 && apt-get install -y -qq chromium >>"$log" 2>&1 && [ -x "$CHROMIUM" ]; then
    :
else
    echo "ensure-chromium: could not install chromium; browser tests will be skipped. Last apt-get lines:"
    tail -n 5 "$log"
fi
rm -f "$log"
exit 0
