"""read_resource_owners while this process holds leases, against the daemon
at $SANLOCK_RUN_DIR (lockspace LS already joined as host 1).

usage: owners.py RES_EX RES_SH
Acquires R1 (exclusive, lease at RES_EX:0) and R2 (shared, RES_SH:0),
reads the owners and versions of both, releases, reads again. Prints a JSON
list; timestamps are printed as "ts" (non-zero) or 0, as they differ
between runs.
"""

import json
import sys

import sanlock

ex, sh = sys.argv[1], sys.argv[2]
out = []


def hosts(lst):
    return [[h["host_id"], h["generation"], "ts" if h["timestamp"] else 0] for h in lst]


def step(name, f, *a, **kw):
    try:
        v = f(*a, **kw)
        if isinstance(v, list):
            v = hosts(v)
        elif isinstance(v, dict):
            v = {k: (x.decode() if isinstance(x, bytes) else x) for k, x in sorted(v.items())}
        out.append([name, "ok", v])
    except sanlock.SanlockException as e:
        out.append([name, "err", e.errno])


fd = sanlock.register()
step("owners_free", sanlock.read_resource_owners, b"LS", b"R1", [(ex, 0)])
step("acquire_ex", sanlock.acquire, b"LS", b"R1", [(ex, 0)], slkfd=fd)
step("acquire_sh", sanlock.acquire, b"LS", b"R2", [(sh, 0)], slkfd=fd, shared=True)
step("owners_ex", sanlock.read_resource_owners, b"LS", b"R1", [(ex, 0)])
step("owners_sh", sanlock.read_resource_owners, b"LS", b"R2", [(sh, 0)])
step("read_ex", sanlock.read_resource, ex)
step("read_sh", sanlock.read_resource, sh)
step("release_ex", sanlock.release, b"LS", b"R1", [(ex, 0)], slkfd=fd)
step("release_sh", sanlock.release, b"LS", b"R2", [(sh, 0)], slkfd=fd)
step("owners_ex_after", sanlock.read_resource_owners, b"LS", b"R1", [(ex, 0)])
step("owners_sh_after", sanlock.read_resource_owners, b"LS", b"R2", [(sh, 0)])
step("read_ex_after", sanlock.read_resource, ex)
print(json.dumps(out))
