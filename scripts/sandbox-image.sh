#!/usr/bin/env bash
# Make sure the Docker sandbox's image exists (make test and make bench need it).
# The engine here has no registry, so the image is built offline from Debian's packages, which needs
# mmdebstrap (or debootstrap). Only when the image is missing and neither tool is installed do we
# install mmdebstrap with apt-get: we say so first, and ask when a person is at the terminal.
set -euo pipefail
bin="${1:-.venv/bin}"

if "$bin/asibench-env" image show >/dev/null 2>&1; then
  exit 0  # already built: nothing to install, nothing to build
fi
if ! command -v mmdebstrap >/dev/null && ! command -v debootstrap >/dev/null; then
  echo "The Docker sandbox image is missing. It is built from Debian's packages with mmdebstrap, which is not installed."
  if [ "$(id -u)" != 0 ]; then
    echo "Install it (sudo apt-get install mmdebstrap) and run this again." >&2
    exit 1
  fi
  if [ -t 0 ]; then
    read -r -p "Install mmdebstrap now with apt-get? [Y/n] " answer
    case "${answer:-y}" in
      [Yy]*) ;;
      *) echo "Not installing. Install mmdebstrap or debootstrap, then run this again." >&2; exit 1 ;;
    esac
  else
    echo "No terminal to ask at (CI): installing mmdebstrap with apt-get."
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
  echo "Installed mmdebstrap."
fi
echo "Building the Docker sandbox image offline (about 3 minutes the first time)."
"$bin/asibench-env" image build --offline --if-missing
