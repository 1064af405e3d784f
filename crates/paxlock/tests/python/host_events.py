"""Host events through python3-sanlock against the daemon at
$SANLOCK_RUN_DIR (lockspace LS already joined by the test).

usage:
  host_events.py listen SECS   reg_event, print "ready", collect events for
                               up to SECS (3 s after the first), end_event;
                               prints JSON {"events": [...unique...], "count": n}
  host_events.py send HOST EVENT DATA FLAGS
                               wait until HOST shows in get_hosts, set_event;
                               prints JSON [result or errno]
  host_events.py walk IDS      set_event/reg_event/end_event results and
                               errors, and our slot on disk; prints JSON
"""

import json
import os
import select
import struct
import sys
import time

import sanlock

mode = sys.argv[1]


def ev_key(e):
    return {k: e[k] for k in sorted(e)}


if mode == "listen":
    secs = float(sys.argv[2])
    fd = sanlock.reg_event(b"LS")
    print("ready", flush=True)
    seen, count = [], 0
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        for e in sanlock.get_event(fd):
            count += 1
            e = ev_key(e)
            if e not in seen:
                seen.append(e)
            end = min(end, time.monotonic() + 3)
    sanlock.end_event(fd, b"LS")
    print(json.dumps({"events": seen, "count": count}))

elif mode == "send":
    host, event, data, flags = (int(x) for x in sys.argv[2:6])
    for _ in range(200):
        try:
            if any(h["host_id"] == host and h["generation"] for h in sanlock.get_hosts(b"LS")):
                break
        except sanlock.SanlockException:
            pass
        time.sleep(0.1)
    try:
        sanlock.set_event(b"LS", host, 0, event, data=data, flags=flags)
        print(json.dumps([0]))
    except sanlock.SanlockException as e:
        print(json.dumps([e.errno]))

elif mode == "walk":
    ids = sys.argv[2]
    out = []

    def step(name, f, *a, **kw):
        try:
            out.append([name, "ok", f(*a, **kw)])
        except sanlock.SanlockException as e:
            out.append([name, "err", e.errno])

    S = sanlock
    step("set_unknown_ls", S.set_event, b"NOPE", 2, 0, 1)
    step("set_host_0", S.set_event, b"LS", 0, 0, 1)
    step("set_host_2001", S.set_event, b"LS", 2001, 0, 1)
    step("set_host_5", S.set_event, b"LS", 5, 0, 1, data=1)
    step("set_same_event_new_data", S.set_event, b"LS", 5, 0, 1, data=2)
    step("set_other_event_busy", S.set_event, b"LS", 6, 0, 2)
    step("set_other_event_replace", S.set_event, b"LS", 6, 0, 2, flags=S.SETEV_REPLACE_EVENT)
    step("set_zero_event", S.set_event, b"LS", 7, 0, 0)
    step("clear_event", S.set_event, b"LS", 5, 0, 0, flags=S.SETEV_CLEAR_EVENT)
    step("set_after_clear", S.set_event, b"LS", 5, 0, 3, data=4)
    step("clear_hostid_5", S.set_event, b"LS", 5, 0, 0, flags=S.SETEV_CLEAR_HOSTID)
    step("clear_hostid_6", S.set_event, b"LS", 6, 0, 0, flags=S.SETEV_CLEAR_HOSTID)
    step("clear_hostid_7", S.set_event, b"LS", 7, 0, 0, flags=S.SETEV_CLEAR_HOSTID)
    step("all_hosts_busy", S.set_event, b"LS", 1, 0, 8, flags=S.SETEV_ALL_HOSTS)
    step("cur_generation_unseen", S.set_event, b"LS", 9, 0, 3, data=9,
         flags=S.SETEV_CUR_GENERATION)
    step("reg_unknown_ls", S.reg_event, b"NOPE")
    step("end_unknown_ls", S.end_event, 99, b"NOPE")
    fds = []
    for i in range(32):
        try:
            fds.append(S.reg_event(b"LS"))
        except S.SanlockException as e:
            out.append(["reg_%d" % i, "err", e.errno])
    out.append(["registered", "ok", len(fds)])
    step("reg_33rd", S.reg_event, b"LS")
    step("get_event_none", S.get_event, fds[0])
    step("end_one", S.end_event, fds.pop(), b"LS")
    try:
        fds.append(S.reg_event(b"LS"))
        out.append(["reg_after_end", "ok", None])
    except S.SanlockException as e:
        out.append(["reg_after_end", "err", e.errno])
    for fd in fds:
        S.end_event(fd, b"LS")
    try:
        more = [S.reg_event(b"LS") for _ in range(32)]
        out.append(["reg_32_after_ending_all", "ok", len(more)])
        for fd in more:
            S.end_event(fd, b"LS")
    except S.SanlockException as e:
        out.append(["reg_32_after_ending_all", "err", e.errno])
    # What a renewal writes: the event fields and bitmap of host 1's slot.
    time.sleep(4.5)
    fd = os.open(ids, os.O_RDONLY)
    sector = os.pread(fd, 512, 0)
    os.close(fd)
    extra = struct.unpack_from("<QQQ", sector, 176)
    out.append(["slot_event", "ok", list(extra)])
    out.append(["slot_bitmap", "ok", sector[256:264].hex()])
    print(json.dumps(out))
