"""A stand-in VM process: registers with the daemon (SANLOCK_RUN_DIR picks
it), optionally sets a killpath, acquires LS:R1 on RES, then sleeps.
Every event is appended to MARKER ("acquired", "TERM"), so the test can
see what the daemon did to it.
Usage: /usr/bin/python3 holder.py RES MARKER [--killpath PROGRAM] [--ignore-term]"""
import os
import signal
import sys
import time

import sanlock

res, marker = sys.argv[1], sys.argv[2]
args = sys.argv[3:]


def note(what):
    with open(marker, "a") as f:
        f.write(what + "\n")


def on_term(signum, frame):
    note("TERM")
    if "--ignore-term" not in args:
        sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
fd = sanlock.register()
if "--killpath" in args:
    prog = args[args.index("--killpath") + 1]
    sanlock.killpath(prog, [marker + ".killpath", "arg two"], slkfd=fd)
try:
    sanlock.acquire(b"LS", b"R1", [(res.encode(), 0)], slkfd=fd)
except sanlock.SanlockException as e:
    note("acquire-failed %d" % e.errno)
    sys.exit(3)
note("acquired %d" % os.getpid())
while True:
    time.sleep(0.1)
