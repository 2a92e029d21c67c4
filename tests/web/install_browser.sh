#!/usr/bin/env bash
# Installs what the web's browser test needs: Debian's Chromium (headless) and a font.
# The test drives it through the DevTools protocol from Python, so nothing else is needed.
# Run as root (CI) or with sudo; a machine that already has Chromium is left alone.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -n "${CLARE_CHROMIUM:-}" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
