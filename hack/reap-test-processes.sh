#!/usr/bin/env bash
# Kills every process whose command line mentions DIR: the etcd, API servers, controller
# managers, schedulers and kwok that tests started under DIR, left over when a test binary was
# killed (a timeout, a panic) before its cleanup ran. Prints what it killed.
set -u
dir=${1:?usage: reap-test-processes.sh DIR}
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  [ "$pid" = "$$" ] && continue
  cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
  case "$cmd" in
    *reap-test-processes*) continue ;;
    *"$dir"*) echo "reaping leftover test process $pid: ${cmd:0:120}"; kill -9 "$pid" 2>/dev/null ;;
  esac
done
exit 0
