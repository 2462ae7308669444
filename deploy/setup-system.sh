#!/usr/bin/env bash
# Installs the Debian packages Tsunagu's run and tests use, only those missing:
# Java + Maven (Kafka broker from Maven Central), PostgreSQL (tests), Chromium (browser tests, screenshots),
# kcat (vendor guide), Prometheus + promtool (operators' rules).
set -euo pipefail
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v kcat >/dev/null || need+=(kcat)
command -v promtool >/dev/null || need+=(prometheus)
command -v runuser >/dev/null || need+=(util-linux)
# Japanese glyphs for the headless browser (screenshots, browser tests); the UI itself loads no web fonts.
fc-list :lang=ja 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
