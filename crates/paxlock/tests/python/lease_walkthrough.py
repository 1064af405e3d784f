"""One python3-sanlock walkthrough, run unchanged against a sanlock daemon
and a paxlock daemon (SANLOCK_RUN_DIR picks the daemon). Prints a JSON
list of [step, "ok", result] / [step, "err", errno] for the test to compare.
Usage: /usr/bin/python3 lease_walkthrough.py IDS_PATH RES_PATH"""
import json
import os
import subprocess
import sys
import time

import sanlock

ids, res = sys.argv[1], sys.argv[2]
disks = [(res.encode(), 0)]
out = []


def step(name, f):
    try:
        r = f()
        out.append([name, "ok", r])
    except sanlock.SanlockException as e:
        out.append([name, "err", e.errno])


def inquire():
    got = sanlock.inquire(slkfd=fd)
    return [[r["lockspace"].decode(), r["resource"].decode(), r.get("version"), bool(r.get("flags", 0) & 4)] for r in got]


def cli_convert(target):
    r = subprocess.run(["sanlock", "client", "convert", "-r", "LS:R1:%s:0%s" % (res, target), "-p", str(os.getpid())],
                       capture_output=True, text=True)
    return r.returncode


def hosts_live():
    for _ in range(100):
        try:
            hosts = sanlock.get_hosts(b"LS")
            if any(h["host_id"] == 1 and h["flags"] & 0xF == sanlock.HOST_LIVE for h in hosts):
                return [[h["host_id"], h["generation"]] for h in hosts]
        except sanlock.SanlockException:
            pass
        time.sleep(0.1)
    return "never live"


fd = sanlock.register()
step("add_lockspace_async", lambda: sanlock.add_lockspace(b"LS", 1, ids.encode(), 0, iotimeout=1, wait=False))
step("inq_lockspace_while_adding", lambda: sanlock.inq_lockspace(b"LS", 1, ids.encode(), 0))
step("inq_lockspace_wait", lambda: sanlock.inq_lockspace(b"LS", 1, ids.encode(), 0, wait=True))
step("add_lockspace_again", lambda: sanlock.add_lockspace(b"LS", 1, ids.encode(), 0, iotimeout=1))
step("inq_lockspace", lambda: sanlock.inq_lockspace(b"LS", 1, ids.encode(), 0))
step("acquire_ex", lambda: sanlock.acquire(b"LS", b"R1", disks, slkfd=fd))
step("acquire_ex_again", lambda: sanlock.acquire(b"LS", b"R1", disks, slkfd=fd))
step("inquire_ex", inquire)
step("convert_to_sh", lambda: cli_convert(":SH"))
step("inquire_sh", inquire)
step("convert_to_ex", lambda: cli_convert(""))
step("release", lambda: sanlock.release(b"LS", b"R1", disks, slkfd=fd))
step("release_not_held", lambda: sanlock.release(b"LS", b"R1", disks, slkfd=fd))
step("acquire_sh", lambda: sanlock.acquire(b"LS", b"R1", disks, slkfd=fd, shared=True))
step("inquire_sh2", inquire)
step("release_sh", lambda: sanlock.release(b"LS", b"R1", disks, slkfd=fd))
step("request_free_lease", lambda: sanlock.request(b"LS", b"R1", disks, action=sanlock.REQ_GRACEFUL))
step("acquire_lver_mismatch", lambda: sanlock.acquire(b"LS", b"R1", disks, slkfd=fd, version=99))
step("acquire_unjoined_lockspace", lambda: sanlock.acquire(b"NOPE", b"R1", disks, slkfd=fd))
step("get_hosts", hosts_live)
step("rem_lockspace_async", lambda: sanlock.rem_lockspace(b"LS", 1, ids.encode(), 0, wait=False))
step("inq_lockspace_wait_rem", lambda: sanlock.inq_lockspace(b"LS", 1, ids.encode(), 0, wait=True))
step("rem_lockspace_again", lambda: sanlock.rem_lockspace(b"LS", 1, ids.encode(), 0))
step("inq_lockspace_after_rem", lambda: sanlock.inq_lockspace(b"LS", 1, ids.encode(), 0))
print(json.dumps(out))
