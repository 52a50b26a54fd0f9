#!/bin/sh
# A Chromium-family browser for the report's browser test (tests/report/test_report_browser.py).
# Found on PATH: nothing to do. Missing and apt-get usable (root, or password-less sudo): install
# Debian's chromium, failing loudly if that fails. Otherwise say so: the test then skips with
# the same reason.
for b in chromium chromium-browser google-chrome google-chrome-stable chrome; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
  fi
  if [ "$SUDO" != "none" ]; then
    echo "installing chromium (apt-get) for the report's browser test"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium \
      && exit 0
    echo "error: apt-get could not install chromium (needed by tests/report/test_report_browser.py)" >&2
    exit 1
  fi
fi
echo "note: no Chromium-family browser and no way to install one here; the report's browser test will skip"
