#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real, when missing (needs root or sudo):
# promtool/prometheus and amtool/alertmanager for the alerting tests, Chromium and ChromeDriver
# for the console's browser tests, curl, jq and sqlite3 for the documentation's examples.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start their daemons on install; the tests start their own instances.
for svc in prometheus prometheus-alertmanager; do
  $sudo service "$svc" stop >/dev/null 2>&1 || true
done
