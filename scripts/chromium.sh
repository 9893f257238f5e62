#!/usr/bin/env bash
# Make sure a headless-capable chromium is installed: the site's browser tests (tests/test_site.py) open
# every page in it and are never skipped. Only when it is missing do we install Debian's chromium with
# apt-get: we say so first, and ask when a person is at the terminal.
set -euo pipefail

for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null; then
    exit 0  # already installed: nothing to do
  fi
done
echo "chromium is missing. The benchmark site's tests open its pages in headless chromium (Debian's package)."
if [ "$(id -u)" != 0 ]; then
  echo "Install it (sudo apt-get install chromium) and run this again." >&2
  exit 1
fi
if [ -t 0 ]; then
  read -r -p "Install chromium now with apt-get? [Y/n] " answer
  case "${answer:-y}" in
    [Yy]*) ;;
    *) echo "Not installing. Install chromium, then run this again." >&2; exit 1 ;;
  esac
else
  echo "No terminal to ask at (CI): installing chromium with apt-get."
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "Installed chromium."
