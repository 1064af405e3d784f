"""LVB and persistent/orphan leases through python3-sanlock, libsanlock
(ctypes) and the sanlock CLI, against the daemon at $SANLOCK_RUN_DIR.

usage: lvb_orphans.py DIR
DIR holds lockspace LS in "ids" (io_timeout 1) and resource leases "r1",
"r2". Prints a JSON list of [step, "ok"/"err"/"rv", value]; pids and DIR
are replaced by "PID" and "W".
"""

import ctypes
import json
import os
import re
import subprocess
import sys
import time

import sanlock

D = sys.argv[1]
IDS = os.path.join(D, "ids")
R1 = os.path.join(D, "r1")
R2 = os.path.join(D, "r2")
out = []


def clean(v):
    if isinstance(v, bytes):
        return v.decode("latin-1").replace(D, "W")
    if isinstance(v, str):
        return v.replace(D, "W")
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    return v


def step(name, f, *a, **kw):
    try:
        out.append([name, "ok", clean(f(*a, **kw))])
    except sanlock.SanlockException as e:
        out.append([name, "err", e.errno])


def disk_lvb(path, n=16):
    """The first n bytes of the LVB sector (2002) as on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, n, 2002 * 512)
    finally:
        os.close(fd)


def cli(*args):
    r = subprocess.run(["sanlock", "client"] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout


def resource_lines():
    """The resource lines of `status`, pids masked."""
    _, s = cli("status")
    lines = [l for l in s.splitlines() if l.startswith("r ")]
    return sorted(re.sub(r" p \d+", " p PID", l).replace(D, "W") for l in lines)


def wait_lines(pred):
    for _ in range(100):
        lines = resource_lines()
        if pred(lines):
            return lines
        time.sleep(0.1)
    return lines


# ---- libsanlock through ctypes (flags python does not expose)
lib = ctypes.CDLL("libsanlock.so.1")


class Disk(ctypes.Structure):
    _fields_ = [("path", ctypes.c_char * 1024), ("offset", ctypes.c_uint64),
                ("pad1", ctypes.c_uint32), ("pad2", ctypes.c_uint32)]


class Res(ctypes.Structure):
    _fields_ = [("lockspace_name", ctypes.c_char * 48), ("name", ctypes.c_char * 48),
                ("lver", ctypes.c_uint64), ("data64", ctypes.c_uint64),
                ("data32", ctypes.c_uint32), ("unused", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("num_disks", ctypes.c_uint32),
                ("disk", Disk)]


RES_SHARED = 0x4
RES_PERSISTENT = 0x8
ACQ_LVB = 0x1
ACQ_ORPHAN = 0x2
ACQ_ORPHAN_ONLY = 0x4
REL_ORPHAN = 0x4


def res(name, path, flags=0):
    return Res(b"LS", name, 0, 0, 0, 0, flags, 1 if path else 0, Disk(path.encode(), 0))


def c_acquire(fd, name, path, flags=0, res_flags=0):
    r = res(name, path, res_flags)
    arr = (ctypes.POINTER(Res) * 1)(ctypes.pointer(r))
    return lib.sanlock_acquire(fd, -1, flags, 1, arr, None)


def c_release(fd, name, path, flags=0):
    r = res(name, path)
    arr = (ctypes.POINTER(Res) * 1)(ctypes.pointer(r))
    return lib.sanlock_release(fd, -1, flags, 1, arr)


def rv(name, v):
    out.append([name, "rv", v])


def orphan(path, name, extra=()):
    """A process acquires a persistent lease and exits: an orphan."""
    code, s = cli("command", "-r", "LS:%s:%s:0%s" % (name, path, ""), "-P", "1", *extra,
                  "-c", "/bin/true")
    return code


fd = sanlock.register()
step("add_lockspace", sanlock.add_lockspace, b"LS", 1, IDS.encode(), 0, iotimeout=1)

# ---- LVB
d1 = [(R1.encode(), 0)]
step("acquire_lvb", sanlock.acquire, b"LS", b"R1", d1, slkfd=fd, lvb=True)
step("get_lvb_fresh", sanlock.get_lvb, b"LS", b"R1", d1, 16)
step("set_lvb", sanlock.set_lvb, b"LS", b"R1", d1, b"hello-lvb")
step("get_lvb", sanlock.get_lvb, b"LS", b"R1", d1, 16)
step("get_lvb_sector", lambda: len(sanlock.get_lvb(b"LS", b"R1", d1, 4096)))
step("set_lvb_sector", sanlock.set_lvb, b"LS", b"R1", d1, b"x" * 512)
step("set_lvb_too_big", sanlock.set_lvb, b"LS", b"R1", d1, b"x" * 513)
step("set_lvb_over_4096", sanlock.set_lvb, b"LS", b"R1", d1, b"x" * 4097)
step("set_lvb_again", sanlock.set_lvb, b"LS", b"R1", d1, b"second")
step("disk_before_release", disk_lvb, R1)
step("release", sanlock.release, b"LS", b"R1", d1, slkfd=fd)
step("disk_after_release", disk_lvb, R1)
step("get_lvb_not_held", sanlock.get_lvb, b"LS", b"R1", d1, 16)
step("set_lvb_not_held", sanlock.set_lvb, b"LS", b"R1", d1, b"v")
step("acquire_no_lvb", sanlock.acquire, b"LS", b"R1", d1, slkfd=fd)
step("get_lvb_without_flag", sanlock.get_lvb, b"LS", b"R1", d1, 16)
step("set_lvb_without_flag", sanlock.set_lvb, b"LS", b"R1", d1, b"v")
step("release_no_lvb", sanlock.release, b"LS", b"R1", d1, slkfd=fd)
step("acquire_lvb_again", sanlock.acquire, b"LS", b"R1", d1, slkfd=fd, lvb=True)
step("get_lvb_read_back", sanlock.get_lvb, b"LS", b"R1", d1, 16)
step("release_unchanged", sanlock.release, b"LS", b"R1", d1, slkfd=fd)
step("acquire_sh_lvb", sanlock.acquire, b"LS", b"R1", d1, slkfd=fd, shared=True, lvb=True)
step("set_lvb_sh", sanlock.set_lvb, b"LS", b"R1", d1, b"shared")
step("get_lvb_sh", sanlock.get_lvb, b"LS", b"R1", d1, 16)
step("release_sh", sanlock.release, b"LS", b"R1", d1, slkfd=fd)
step("disk_after_sh_release", disk_lvb, R1)
# EX -> SH writes it too.
step("acquire_lvb_convert", sanlock.acquire, b"LS", b"R1", d1, slkfd=fd, lvb=True)
step("set_lvb_convert", sanlock.set_lvb, b"LS", b"R1", d1, b"converted")
rv("convert_to_sh", cli("convert", "-r", "LS:R1:%s:0:SH" % R1, "-p", str(os.getpid()))[0])
step("disk_after_convert", disk_lvb, R1)
step("release_converted", sanlock.release, b"LS", b"R1", d1, slkfd=fd)

# ---- persistent leases and orphans
rv("orphan_r1", orphan(R1, "R1"))
out.append(["status_orphan", "ok", wait_lines(lambda l: any("ORPHAN" in x for x in l))])
rv("acquire_orphan_not_allowed", c_acquire(fd, b"R1", R1))
rv("acquire_orphan_sh_of_ex", c_acquire(fd, b"R1", R1, ACQ_ORPHAN, RES_SHARED))
rv("acquire_orphan_only_none", c_acquire(fd, b"R2", R2, ACQ_ORPHAN_ONLY))
rv("release_r2", c_release(fd, b"R2", R2))
rv("acquire_orphan_only_lvb_none", c_acquire(fd, b"R2", R2, ACQ_ORPHAN_ONLY | ACQ_LVB))
rv("acquire_orphan_adopt", c_acquire(fd, b"R1", R1, ACQ_ORPHAN))
out.append(["status_adopted", "ok", resource_lines()])
step("inquire_adopted", lambda: [(r["resource"], r.get("version")) for r in sanlock.inquire(slkfd=fd)])
rv("release_adopted", c_release(fd, b"R1", R1))
out.append(["status_released", "ok", wait_lines(lambda l: not l)])
rv("orphan_r1_again", orphan(R1, "R1"))
rv("orphan_r2", orphan(R2, "R2"))
wait_lines(lambda l: len(l) == 2)
step("rem_unused_with_orphans", sanlock.rem_lockspace, b"LS", 1, IDS.encode(), 0, unused=True)
rv("release_orphan_named", c_release(fd, b"R1", R1, REL_ORPHAN))
out.append(["status_one_orphan", "ok", wait_lines(lambda l: len(l) == 1)])
rv("release_orphan_none_left", c_release(fd, b"R1", R1, REL_ORPHAN))
rv("release_orphan_all", c_release(fd, b"", "", REL_ORPHAN))
out.append(["status_no_orphans", "ok", wait_lines(lambda l: not l)])
rv("acquire_after_orphan_release", c_acquire(fd, b"R2", R2))
rv("release_r2_end", c_release(fd, b"R2", R2))
# A shared persistent lease: a shared orphan, adopted shared.
rv("orphan_sh", cli("command", "-r", "LS:R1:%s:0:SH" % R1, "-P", "1", "-c", "/bin/true")[0])
out.append(["status_sh_orphan", "ok", wait_lines(lambda l: any("ORPHAN" in x for x in l))])
rv("acquire_ex_of_sh_orphan", c_acquire(fd, b"R1", R1, ACQ_ORPHAN))
rv("acquire_sh_orphan", c_acquire(fd, b"R1", R1, ACQ_ORPHAN, RES_SHARED))
rv("release_sh_adopted", c_release(fd, b"R1", R1))
# USED_BY_ORPHANS: an orphan holds off the removal until released.
rv("orphan_for_rem", orphan(R1, "R1"))
wait_lines(lambda l: len(l) == 1)
rv("set_config_used_by_orphans", cli("set_config", "-s", "LS", "-O", "1")[0])
step("rem_async", sanlock.rem_lockspace, b"LS", 1, IDS.encode(), 0, wait=False)
time.sleep(2)
# (Not inq_lockspace: sanlock answers 0 for a lockspace whose removal
# waits, paxlock -EINPROGRESS.)
out.append(["status_while_orphan", "ok",
            [l.replace(D, "W") for l in cli("status")[1].splitlines() if l.startswith("s ")]])
rv("release_orphan_for_rem", c_release(fd, b"", "", REL_ORPHAN))
for _ in range(100):
    try:
        if sanlock.inq_lockspace(b"LS", 1, IDS.encode(), 0) is False:
            break
    except sanlock.SanlockException:
        pass
    time.sleep(0.1)
step("inq_after_orphan_released", sanlock.inq_lockspace, b"LS", 1, IDS.encode(), 0)
print(json.dumps(out))
