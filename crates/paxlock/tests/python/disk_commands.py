"""python3-sanlock (and libsanlock through ctypes) disk commands against
the daemon at $SANLOCK_RUN_DIR: init/read of lockspaces and resources,
read_resource_owners, align and the resource index without a lockspace.

usage: disk_commands.py DIR
DIR holds fresh files (made by the test): ls.img 2M, res.img 8M, z.img 1M
(zeros), tiny.img (empty), rx.img 8M. Prints a JSON list of
[step, "ok", value] or [step, "err", errno]; DIR is printed as "W".
"""

import ctypes
import json
import os
import sys

import sanlock

D = sys.argv[1]
MIB = 1024 * 1024
out = []


def p(name):
    return os.path.join(D, name)


def clean(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace").replace(D, "W")
    if isinstance(v, str):
        return v.replace(D, "W")
    if isinstance(v, dict):
        return {k: clean(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    return v


def step(name, f, *a, **kw):
    try:
        out.append([name, "ok", clean(f(*a, **kw))])
    except sanlock.SanlockException as e:
        out.append([name, "err", e.errno])


# ---- lockspaces
step("write_ls", sanlock.write_lockspace, b"LS", p("ls.img"))
step("write_ls_iotimeout", sanlock.write_lockspace, b"LS2", p("ls.img"), offset=MIB, iotimeout=5)
step("read_ls", sanlock.read_lockspace, p("ls.img"))
step("read_ls_2", sanlock.read_lockspace, p("ls.img"), offset=MIB)
step("read_ls_wrong_sector", sanlock.read_lockspace, p("ls.img"), sector=4096)
step("read_ls_uninit", sanlock.read_lockspace, p("z.img"))
step("read_ls_missing", sanlock.read_lockspace, p("nope.img"))
step("read_ls_bad_offset", sanlock.read_lockspace, p("ls.img"), offset=1000)
step("read_ls_past_end", sanlock.read_lockspace, p("ls.img"), offset=4 * MIB)
step("write_ls_missing", sanlock.write_lockspace, b"LS", p("nope.img"))
step("write_ls_bad_offset", sanlock.write_lockspace, b"LS", p("z.img"), offset=1000)
step("write_ls_bad_geometry", sanlock.write_lockspace, b"LS", p("z.img"), align=2 * MIB, sector=512)
step("write_ls_grows_file", sanlock.write_lockspace, b"LS3", p("tiny.img"))
step("read_ls_grown", sanlock.read_lockspace, p("tiny.img"))
step("write_ls_4k", sanlock.write_lockspace, b"LS4", p("res.img"), offset=4 * MIB, align=2 * MIB, sector=4096)
step("read_ls_4k", sanlock.read_lockspace, p("res.img"), offset=4 * MIB, align=2 * MIB, sector=4096)
step("read_ls_4k_default_flags", sanlock.read_lockspace, p("res.img"), offset=4 * MIB)

# ---- resources
res = p("res.img")
step("write_res", sanlock.write_resource, b"LS", b"R1", [(res, 0)])
step("write_res_hosts", sanlock.write_resource, b"LS", b"R2", [(res, MIB)], max_hosts=7)
step("write_res_clear", sanlock.write_resource, b"LS", b"R3", [(res, 2 * MIB)], clear=True)
step("write_res_4k", sanlock.write_resource, b"LS", b"R4", [(res, 3 * MIB)], sector=4096)
step("write_res_missing", sanlock.write_resource, b"LS", b"R5", [(p("nope.img"), 0)])
step("write_res_one_of_two_missing", sanlock.write_resource, b"LS", b"R5",
     [(p("z.img"), 0), (p("nope.img"), 0)])
step("write_res_bad_offset", sanlock.write_resource, b"LS", b"R5", [(p("z.img"), 1000)])
step("write_res_bad_geometry", sanlock.write_resource, b"LS", b"R5", [(p("z.img"), 0)], align=4 * MIB)
step("read_res", sanlock.read_resource, res)
step("read_res_hosts", sanlock.read_resource, res, offset=MIB)
step("read_res_cleared", sanlock.read_resource, res, offset=2 * MIB)
step("read_res_4k", sanlock.read_resource, res, offset=3 * MIB, sector=4096)
step("read_res_4k_as_512", sanlock.read_resource, res, offset=3 * MIB)
step("read_res_512_as_4k", sanlock.read_resource, res, sector=4096)
step("read_res_uninit", sanlock.read_resource, p("z.img"))
step("read_res_missing", sanlock.read_resource, p("nope.img"))
step("read_res_lockspace", sanlock.read_resource, p("ls.img"))
step("read_res_past_end", sanlock.read_resource, res, offset=8 * MIB)
step("owners", sanlock.read_resource_owners, b"LS", b"R1", [(res, 0)])
step("owners_4k", sanlock.read_resource_owners, b"LS", b"R4", [(res, 3 * MIB)], sector=4096)
step("owners_4k_as_512", sanlock.read_resource_owners, b"LS", b"R4", [(res, 3 * MIB)])
step("owners_wrong_name", sanlock.read_resource_owners, b"LS", b"RX", [(res, 0)])
step("owners_wrong_lockspace", sanlock.read_resource_owners, b"XX", b"R1", [(res, 0)])
step("owners_uninit", sanlock.read_resource_owners, b"LS", b"R1", [(p("z.img"), 0)])
step("owners_cleared", sanlock.read_resource_owners, b"LS", b"R3", [(res, 2 * MIB)])
step("owners_missing", sanlock.read_resource_owners, b"LS", b"R1", [(p("nope.img"), 0)])
step("get_alignment", sanlock.get_alignment, res)

# ---- libsanlock through ctypes: align and the resource index
lib = ctypes.CDLL("libsanlock.so.1")


class Disk(ctypes.Structure):
    _fields_ = [("path", ctypes.c_char * 1024), ("offset", ctypes.c_uint64),
                ("pad1", ctypes.c_uint32), ("pad2", ctypes.c_uint32)]


class Rindex(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint32), ("max_resources", ctypes.c_uint32),
                ("unused", ctypes.c_uint64), ("lockspace_name", ctypes.c_char * 48),
                ("disk", Disk)]


class Rentry(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 48), ("offset", ctypes.c_uint64),
                ("flags", ctypes.c_uint32), ("unused", ctypes.c_uint32)]


NO_LS = 0x1
RXUP_ADD = 0x10000
RXUP_REM = 0x20000


def align(path):
    d = Disk(path.encode(), 0)
    out.append(["align " + clean(path), "rv", lib.sanlock_align(ctypes.byref(d))])


def rx(name, fn, ls, path, off, flags, ename=b"", eoff=0, extra=(), ri_flags=0, max_res=0):
    ri = Rindex(ri_flags, max_res, 0, ls, Disk(path.encode(), off))
    re = Rentry(ename, eoff)
    if fn in ("format", "rebuild"):
        rv = getattr(lib, "sanlock_%s_rindex" % fn)(ctypes.byref(ri), flags)
        out.append([name, "rv", rv])
    else:
        f = {"lookup": lib.sanlock_lookup_rindex, "update": lib.sanlock_update_rindex,
             "create": lib.sanlock_create_resource, "delete": lib.sanlock_delete_resource}[fn]
        rv = f(ctypes.byref(ri), flags, ctypes.byref(re), *extra)
        out.append([name, "rv", rv, clean(re.name), re.offset])


align(res)
align(p("nope.img"))
x = p("rx.img")
rx("format", "format", b"LS", x, 0, 0)
rx("format_4k_2m", "format", b"LS", p("z.img"), 0, 0, ri_flags=0x200 | 0x20, max_res=100)
rx("format_bad_flags", "format", b"LS", p("z.img"), 0, 0, ri_flags=0x200)
rx("format_missing", "format", b"LS", p("nope.img"), 0, 0)
rx("lookup_free", "lookup", b"LS", x, 0, NO_LS)
rx("lookup_needs_lockspace", "lookup", b"LS", x, 0, 0)
rx("update_add", "update", b"LS", x, 0, NO_LS | RXUP_ADD, b"A1", 2 * MIB)
rx("update_add2", "update", b"LS", x, 0, NO_LS | RXUP_ADD, b"A2", 4 * MIB)
rx("update_add_far", "update", b"LS", x, 0, NO_LS | RXUP_ADD, b"A3", 100 * MIB)
rx("update_no_op", "update", b"LS", x, 0, NO_LS, b"A1", 2 * MIB)
rx("update_misaligned", "update", b"LS", x, 0, NO_LS | RXUP_ADD, b"A1", 2 * MIB + 512)
rx("lookup_name", "lookup", b"LS", x, 0, NO_LS, b"A2")
rx("lookup_offset", "lookup", b"LS", x, 0, NO_LS, b"", 4 * MIB)
rx("lookup_offset_empty", "lookup", b"LS", x, 0, NO_LS, b"", 3 * MIB)
rx("lookup_name_offset", "lookup", b"LS", x, 0, NO_LS, b"A1", 2 * MIB)
rx("lookup_name_offset_diff", "lookup", b"LS", x, 0, NO_LS, b"A1", 4 * MIB)
rx("lookup_free_after", "lookup", b"LS", x, 0, NO_LS)
rx("lookup_missing", "lookup", b"LS", x, 0, NO_LS, b"ZZ")
rx("lookup_wrong_lockspace", "lookup", b"XX", x, 0, NO_LS)
rx("lookup_wrong_offset", "lookup", b"LS", x, MIB, NO_LS)
rx("lookup_uninit", "lookup", b"LS", p("ls.img"), 0, NO_LS)
rx("lookup_no_file", "lookup", b"LS", p("nope.img"), 0, NO_LS)
rx("update_rem", "update", b"LS", x, 0, NO_LS | RXUP_REM, b"", 2 * MIB)
rx("create_needs_lockspace", "create", b"LS", x, 0, 0, b"C1", 0, (0, 0))
rx("delete_needs_lockspace", "delete", b"LS", x, 0, 0, b"A2", 0)
rx("rebuild_needs_lockspace", "rebuild", b"LS", x, 0, 0)
# a lease where the index says nothing, then rebuild finds it (and drops A2)
step("write_res_in_rx", sanlock.write_resource, b"LS", b"B7", [(x, 7 * MIB)])
rx("rebuild", "rebuild", b"LS", x, 0, NO_LS)
rx("lookup_rebuilt", "lookup", b"LS", x, 0, NO_LS, b"B7")
rx("lookup_gone", "lookup", b"LS", x, 0, NO_LS, b"A2")
rx("rebuild_uninit", "rebuild", b"LS", p("ls.img"), 0, NO_LS)

print(json.dumps(out))
