#!/usr/bin/python3
"""Capture the exact request bytes that the real sanlock clients send.

paxlock's own tool (not derived from sanlock code).  It runs a *fake*
sanlock daemon on $SANLOCK_RUN_DIR/sanlock.sock that records every request
byte for byte and answers just enough for the client to finish, then drives
the real clients against it:

  * the `sanlock client ...` CLI (sanlock 3.8.5),
  * python3-sanlock (`import sanlock`, only importable by /usr/bin/python3),
  * libsanlock.so.1 through ctypes for calls python3-sanlock does not expose
    (restrict, convert, examine, set_config, version, rindex, release flags,
    acquire with options, ...).

Usage (from the crate directory):

    /usr/bin/python3 testdata/capture.py [--out testdata/requests]

Every captured request becomes one file `<scenario>.<k>.hex`: `#` comment
lines (client, command, sizes), then the bytes as hex, 16 per line.  It also
writes `strerror.txt` (libsanlock's sanlock_strerror() for every sanlock
code, and Python's os.strerror() for the errno values the daemon returns).

How a request is delimited: the fake daemon reads the 32-byte header, then
every byte that arrives until the client goes quiet for IDLE seconds (or
closes).  It never uses header.length to frame, so quirks where the header
lies about the payload are recorded as the client really behaves.  REGISTER
has no payload and no reply, so nothing more is read for it.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SM_MAGIC = 0x04282010
HDR = struct.Struct("<8I")
IDLE = 0.25

CMD_NAMES = {
    1: "REGISTER", 2: "ADD_LOCKSPACE", 3: "REM_LOCKSPACE", 4: "SHUTDOWN",
    5: "STATUS", 6: "LOG_DUMP", 7: "ACQUIRE", 8: "RELEASE", 9: "INQUIRE",
    10: "RESTRICT", 11: "REQUEST", 12: "ALIGN", 13: "EXAMINE_LOCKSPACE",
    14: "EXAMINE_RESOURCE", 15: "HOST_STATUS", 16: "INQ_LOCKSPACE",
    17: "KILLPATH", 18: "WRITE_LOCKSPACE", 19: "WRITE_RESOURCE",
    20: "READ_LOCKSPACE", 21: "READ_RESOURCE", 22: "GET_LOCKSPACES",
    23: "GET_HOSTS", 24: "READ_RESOURCE_OWNERS", 25: "SET_LVB", 26: "GET_LVB",
    27: "CONVERT", 28: "VERSION", 29: "SHUTDOWN_WAIT", 30: "REG_EVENT",
    31: "END_EVENT", 32: "SET_EVENT", 33: "SET_CONFIG", 34: "RENEWAL",
    35: "FORMAT_RINDEX", 36: "UPDATE_RINDEX", 37: "LOOKUP_RINDEX",
    38: "CREATE_RESOURCE", 39: "DELETE_RESOURCE", 40: "REBUILD_RINDEX",
}

# ---------------------------------------------------------------- fake daemon


class Spool:
    """Numbered records written to a directory, shared with the driver."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.seq = 0

    def write(self, conn_id, kind, data):
        with self.lock:
            self.seq += 1
            name = os.path.join(self.path, "%06d" % self.seq)
            with open(name + ".bin.tmp", "wb") as f:
                f.write(data)
            with open(name + ".json.tmp", "w") as f:
                json.dump({"conn": conn_id, "kind": kind}, f)
            os.rename(name + ".bin.tmp", name + ".bin")
            os.rename(name + ".json.tmp", name + ".json")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def recv_until_idle(sock):
    buf = b""
    sock.settimeout(IDLE)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    finally:
        sock.settimeout(None)
    return buf


def reply_header(h, data=0, data2=0, length=32, cmd_flags=None):
    magic, version, cmd, flags, _length, seq, _data, _data2 = h
    if cmd_flags is not None:
        flags = cmd_flags
    return HDR.pack(SM_MAGIC, 1, cmd, flags, length, seq,
                    data & 0xffffffff, data2 & 0xffffffff)


def lockspace_struct(name, host_id, path, offset):
    return (name.ljust(48, b"\0") + struct.pack("<QII", host_id, 0, 0)
            + path.ljust(1024, b"\0") + struct.pack("<QII", offset, 0, 0))


def answer(sock, h, payload):
    """Send what the client waits for; return False to close the connection."""
    cmd = h[2]
    if cmd in (1,):
        return True
    if cmd == 4:  # SHUTDOWN: no reply
        return False
    if cmd == 5:  # STATUS: header, records, EOF
        out = reply_header(h)
        if h[6] == 3:  # level 3 (host_status without -s): one lockspace
            text = b"list=spaces\0"
            out += struct.pack("<IIIIQ48sII", 3, 0, 0, 0, 1, b"LS", len(text), 0)
            out += text
            out += lockspace_struct(b"LS", 1, b"/var/lib/paxlock/ls.img", 0)
        sock.sendall(out)
        return False
    if cmd in (15, 34, 6):  # HOST_STATUS, RENEWAL, LOG_DUMP: empty
        sock.sendall(reply_header(h))
        return False
    if cmd == 9:  # INQUIRE: no leases
        sock.sendall(reply_header(h))
        return True
    if cmd == 22:  # GET_LOCKSPACES: one lockspace so `gets -h 1` asks hosts
        ls = lockspace_struct(b"LS", 1, b"/var/lib/paxlock/ls.img", 0)
        sock.sendall(reply_header(h, data2=1, length=32 + len(ls)) + ls)
        return False
    if cmd == 23:  # GET_HOSTS: one live host
        host = struct.pack("<QQQII", 1, 1, 220, 10, 3)
        sock.sendall(reply_header(h, data2=1, length=64) + host)
        return False
    if cmd == 20:  # READ_LOCKSPACE: echo the struct, io_timeout 10
        ls = payload[:1104].ljust(1104, b"\0")
        sock.sendall(reply_header(h, data2=10, length=32 + 1104) + ls)
        return False
    if cmd == 21:  # READ_RESOURCE: echo the 128-byte struct
        res = payload[:128].ljust(128, b"\0")
        sock.sendall(reply_header(h, length=160) + res)
        return False
    if cmd == 24:  # READ_RESOURCE_OWNERS: echo, no owners
        res = payload[:128].ljust(128, b"\0")
        sock.sendall(reply_header(h, length=160) + res)
        return False
    if cmd == 26:  # GET_LVB: 512 bytes
        lvb = b"hello-lvb".ljust(512, b"\0")
        sock.sendall(reply_header(h, length=32 + 512) + lvb)
        return False
    if cmd == 28:  # VERSION
        hh = HDR.pack(SM_MAGIC, 1, 28, 0, 32, 0, 0, 0x03080500)
        sock.sendall(hh)
        return True
    if cmd in (36, 37, 38, 39):  # rindex ops: header + rentry
        re = payload[1104:1168].ljust(64, b"\0")
        sock.sendall(reply_header(h, length=96) + re)
        return False
    if cmd == 30:  # REG_EVENT: keep the connection as an event fd
        sock.sendall(reply_header(h))
        return True
    sock.sendall(reply_header(h))
    # registered-connection commands may be followed by more requests
    return cmd in (7, 8, 10, 17, 27)


def serve_conn(sock, conn_id, spool):
    try:
        while True:
            hdr = recv_exact(sock, 32)
            if not hdr:
                break
            if len(hdr) < 32:
                spool.write(conn_id, "partial", hdr)
                break
            h = HDR.unpack(hdr)
            if h[0] != SM_MAGIC:
                rest = recv_until_idle(sock)
                spool.write(conn_id, "garbage", hdr + rest)
                break
            if h[2] == 1:
                spool.write(conn_id, "request", hdr)
                continue
            payload = recv_until_idle(sock)
            spool.write(conn_id, "request", hdr + payload)
            if not answer(sock, h, payload):
                break
    except OSError as e:
        spool.write(conn_id, "error", str(e).encode())
    finally:
        sock.close()


def run_daemon(run_dir, spool_dir):
    path = os.path.join(run_dir, "sanlock.sock")
    if os.path.exists(path):
        os.unlink(path)
    spool = Spool(spool_dir)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o660)
    srv.listen(16)
    with open(os.path.join(run_dir, "ready"), "w") as f:
        f.write("ready\n")
    conn_id = 0
    while True:
        s, _ = srv.accept()
        conn_id += 1
        threading.Thread(target=serve_conn, args=(s, conn_id, spool),
                         daemon=True).start()


# ---------------------------------------------------------------- scenarios

D = "/var/lib/paxlock"
LS = f"LS:1:{D}/ls.img:0"
RES = f"LS:R1:{D}/res.img:0"

CLI = [
    ("cli_add_lockspace", ["add_lockspace", "-s", LS]),
    ("cli_add_lockspace_io_timeout", ["add_lockspace", "-o", "20", "-s",
                                      f"LS2:7:{D}/ls\\:colon.img:1048576"]),
    ("cli_inq_lockspace", ["inq_lockspace", "-s", LS]),
    ("cli_rem_lockspace", ["rem_lockspace", "-s", LS]),
    ("cli_status", ["status"]),
    ("cli_status_debug", ["status", "-D"]),
    ("cli_host_status", ["host_status", "-s", "LS"]),
    ("cli_host_status_all", ["host_status"]),
    ("cli_renewal", ["renewal", "-s", "LS"]),
    ("cli_log_dump", ["log_dump"]),
    ("cli_shutdown", ["shutdown"]),
    ("cli_shutdown_force_wait", ["shutdown", "-f", "1", "-w", "1"]),
    ("cli_acquire_pid", ["acquire", "-r", RES, "-p", "4242"]),
    ("cli_acquire_lver", ["acquire", "-r", f"LS:R1:{D}/res.img:1048576:5", "-p", "4242"]),
    ("cli_acquire_shared", ["acquire", "-r", f"{RES}:SH", "-p", "4242"]),
    ("cli_acquire_two_disks", ["acquire", "-r", f"LS:R1:{D}/a.img:0:{D}/b.img:1048576", "-p", "4242"]),
    ("cli_acquire_two_resources", ["acquire", "-r", RES, "-r", f"LS:R2:{D}/res2.img:0", "-p", "4242"]),
    ("cli_acquire_orphan_persistent", ["acquire", "-O", "1", "-P", "1", "-n", "3", "-r", RES, "-p", "4242"]),
    ("cli_release_name_only", ["release", "-r", "LS:R1", "-p", "4242"]),
    ("cli_release_with_disk", ["release", "-r", RES, "-p", "4242"]),
    ("cli_release_orphans_of_lockspace", ["release", "-O", "1", "-s", "LS", "-p", "4242"]),
    ("cli_inquire", ["inquire", "-p", "4242"]),
    ("cli_convert", ["convert", "-r", f"{RES}:SH", "-p", "4242"]),
    ("cli_request", ["request", "-r", f"{RES}:10", "-f", "1"]),
    ("cli_examine_resource", ["examine", "-r", RES]),
    ("cli_examine_lockspace", ["examine", "-s", LS]),
    ("cli_set_event", ["set_event", "-s", "LS", "-i", "3", "-g", "2", "-e", "66", "-d", "153"]),
    ("cli_set_config_used", ["set_config", "-s", "LS", "-u", "1"]),
    ("cli_set_config_unused_by_orphans", ["set_config", "-s", "LS", "-O", "0"]),
    ("cli_gets", ["gets", "-h", "1"]),
    ("cli_init_lockspace", ["init", "-s", f"LS:0:{D}/ls.img:0"]),
    ("cli_init_lockspace_4k_8m", ["init", "-s", f"LS:0:{D}/ls.img:0", "-Z", "4096", "-A", "8M", "-m", "250", "-o", "20"]),
    ("cli_init_resource", ["init", "-r", RES]),
    ("cli_init_resource_clear", ["init", "-r", RES, "-z", "1", "-n", "4", "-m", "8", "-Z", "512", "-A", "1M"]),
    ("cli_read_lockspace", ["read", "-s", f"LS:0:{D}/ls.img:0"]),
    ("cli_read_resource", ["read", "-r", RES]),
    ("cli_align", ["align", "-s", f"LS:0:{D}/ls.img:0"]),
    ("cli_version", ["version"]),
    ("cli_format_rindex", ["format", "-x", f"LS:{D}/rindex.img:0"]),
    ("cli_format_rindex_4k", ["format", "-x", f"LS:{D}/rindex.img:0", "-Z", "4096", "-A", "2M"]),
    ("cli_rebuild_rindex", ["rebuild", "-x", f"LS:{D}/rindex.img:0"]),
    ("cli_create_resource", ["create", "-x", f"LS:{D}/rindex.img:0", "-e", "R9"]),
    ("cli_delete_resource", ["delete", "-x", f"LS:{D}/rindex.img:0", "-e", "R9:3145728"]),
    ("cli_lookup_rindex", ["lookup", "-x", f"LS:{D}/rindex.img:0", "-e", "R9:0"]),
    ("cli_lookup_rindex_all", ["lookup", "-x", f"LS:{D}/rindex.img:0"]),
    ("cli_update_rindex_add", ["update", "-x", f"LS:{D}/rindex.img:0", "-e", "R9:3145728"]),
    ("cli_update_rindex_rem", ["update", "-x", f"LS:{D}/rindex.img:0", "-e", "R9:3145728", "-z", "1"]),
    ("cli_command", ["command", "-r", RES, "-c", "/bin/true"]),
]

PY_PRELUDE = f"""
import ctypes, os, sanlock, struct, sys
D = {D!r}
disks = [(D + "/res.img", 0)]
lib = ctypes.CDLL("libsanlock.so.1")

class Disk(ctypes.Structure):
    _fields_ = [("path", ctypes.c_char * 1024), ("offset", ctypes.c_uint64),
                ("pad1", ctypes.c_uint32), ("pad2", ctypes.c_uint32)]

class Lockspace(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 48), ("host_id", ctypes.c_uint64),
                ("flags", ctypes.c_uint32), ("host_id_disk", Disk)]

def Resource(n):
    class R(ctypes.Structure):
        _fields_ = [("lockspace_name", ctypes.c_char * 48), ("name", ctypes.c_char * 48),
                    ("lver", ctypes.c_uint64), ("data64", ctypes.c_uint64),
                    ("data32", ctypes.c_uint32), ("unused", ctypes.c_uint32),
                    ("flags", ctypes.c_uint32), ("num_disks", ctypes.c_uint32),
                    ("disks", Disk * n)]
    return R

def res(ls, name, paths, flags=0, lver=0, data32=0, data64=0, num_disks=None):
    r = Resource(max(len(paths), 1))()
    r.lockspace_name = ls; r.name = name; r.flags = flags; r.lver = lver
    r.data32 = data32; r.data64 = data64
    r.num_disks = len(paths) if num_disks is None else num_disks
    for i, (p, o) in enumerate(paths):
        r.disks[i].path = p; r.disks[i].offset = o
    return r

def resp(*rs):
    arr = (ctypes.c_void_p * len(rs))(*[ctypes.addressof(r) for r in rs])
    return arr

class Options(ctypes.Structure):
    _fields_ = [("owner_name", ctypes.c_char * 48), ("flags", ctypes.c_uint32),
                ("len", ctypes.c_uint32)]

class Rindex(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint32), ("max_resources", ctypes.c_uint32),
                ("unused", ctypes.c_uint64), ("lockspace_name", ctypes.c_char * 48),
                ("disk", Disk)]

class Rentry(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 48), ("offset", ctypes.c_uint64),
                ("flags", ctypes.c_uint32), ("unused", ctypes.c_uint32)]

class HostEvent(ctypes.Structure):
    _fields_ = [("host_id", ctypes.c_uint64), ("generation", ctypes.c_uint64),
                ("event", ctypes.c_uint64), ("data", ctypes.c_uint64)]

def check(rv):
    if rv < 0:
        print("rv", rv); sys.exit(1)

def rindex():
    rx = Rindex(); rx.lockspace_name = b"LS"
    rx.disk.path = (D + "/rindex.img").encode(); rx.disk.offset = 0
    return rx
"""

PY = [
    ("py_register", "fd = sanlock.register(); os.close(fd)"),
    ("py_acquire_fd", "fd = sanlock.register(); sanlock.acquire(b'LS', b'R1', disks, slkfd=fd)"),
    ("py_acquire_fd_shared", "fd = sanlock.register(); sanlock.acquire(b'LS', b'R1', disks, slkfd=fd, shared=True)"),
    ("py_acquire_fd_version", "fd = sanlock.register(); sanlock.acquire(b'LS', b'R1', disks, slkfd=fd, version=7)"),
    ("py_acquire_fd_lvb", "fd = sanlock.register(); sanlock.acquire(b'LS', b'R1', disks, slkfd=fd, lvb=True)"),
    ("py_acquire_pid", "sanlock.acquire(b'LS', b'R1', [(D + '/res.img', 1048576), (D + '/res-b.img', 2097152)], pid=4242)"),
    ("py_release_fd", "fd = sanlock.register(); sanlock.release(b'LS', b'R1', disks, slkfd=fd)"),
    ("py_release_pid", "sanlock.release(b'LS', b'R1', disks, pid=4242)"),
    ("py_inquire_fd", "fd = sanlock.register(); print(sanlock.inquire(slkfd=fd))"),
    ("py_inquire_pid", "print(sanlock.inquire(pid=4242))"),
    ("py_killpath", "fd = sanlock.register(); sanlock.killpath('/bin/echo', ['killpath-arg1', 'arg 2', 'back\\\\slash'], fd)"),
    ("py_add_lockspace", "sanlock.add_lockspace(b'LS', 1, D + '/ls.img')"),
    ("py_add_lockspace_iotimeout_async", "sanlock.add_lockspace(b'LS', 2000, D + '/ls.img', 1048576, iotimeout=5, wait=False)"),
    ("py_inq_lockspace_wait", "sanlock.inq_lockspace(b'LS', 1, D + '/ls.img', wait=True)"),
    ("py_rem_lockspace_unused_async", "sanlock.rem_lockspace(b'LS', 1, D + '/ls.img', wait=False, unused=True)"),
    ("py_get_lockspaces", "print(sanlock.get_lockspaces())"),
    ("py_get_hosts", "print(sanlock.get_hosts(b'LS', 2))"),
    ("py_write_lockspace", "sanlock.write_lockspace(b'LS', D + '/ls.img', offset=0, max_hosts=250, iotimeout=20, align=2097152, sector=4096)"),
    ("py_write_resource", "sanlock.write_resource(b'LS', b'R1', [(D + '/res.img', 0), (D + '/res-b.img', 1048576)], max_hosts=2000, num_hosts=3, clear=True, align=8388608, sector=4096)"),
    ("py_read_lockspace", "print(sanlock.read_lockspace(D + '/ls.img', 0, align=4194304, sector=4096))"),
    ("py_read_resource", "print(sanlock.read_resource(D + '/res.img', 1048576))"),
    ("py_read_resource_owners", "print(sanlock.read_resource_owners(b'LS', b'R1', disks))"),
    ("py_request_force_version", "sanlock.request(b'LS', b'R1', disks, action=sanlock.REQ_FORCE, version=9)"),
    ("py_request_graceful", "sanlock.request(b'LS', b'R1', disks)"),
    ("py_set_lvb", "sanlock.set_lvb(b'LS', b'R1', disks, b'hello-lvb')"),
    ("py_get_lvb", "print(sanlock.get_lvb(b'LS', b'R1', disks, 16))"),
    ("py_reg_event", "fd = sanlock.reg_event(b'LS'); os.close(fd)"),
    ("py_end_event", "fd = sanlock.reg_event(b'LS'); sanlock.end_event(fd, b'LS')"),
    ("py_set_event", "sanlock.set_event(b'LS', 1, 0, 0x42, data=0x99, flags=sanlock.SETEV_CUR_GENERATION)"),
    ("py_set_event_all_hosts", "sanlock.set_event(b'LS', 5, 3, 7, flags=sanlock.SETEV_ALL_HOSTS | sanlock.SETEV_REPLACE_EVENT)"),
    # libsanlock through ctypes: calls python3-sanlock does not expose.
    ("c_restrict", "fd = sanlock.register(); check(lib.sanlock_restrict(fd, 0x1 | 0x4))"),
    ("c_convert_fd", "fd = sanlock.register(); r = res(b'LS', b'R1', [(b'/var/lib/paxlock/res.img', 0)], flags=0x4); check(lib.sanlock_convert(fd, -1, 0, ctypes.byref(r)))"),
    ("c_convert_pid_nowait", "r = res(b'LS', b'R1', [], num_disks=0); check(lib.sanlock_convert(-1, 4242, 0x8, ctypes.byref(r)))"),
    ("c_examine_resource", "r = res(b'LS', b'R1', [(b'/var/lib/paxlock/res.img', 0)]); check(lib.sanlock_examine(0, None, ctypes.byref(r)))"),
    ("c_examine_lockspace", "ls = Lockspace(); ls.name = b'LS'; ls.host_id = 1; ls.host_id_disk.path = b'/var/lib/paxlock/ls.img'; check(lib.sanlock_examine(0, ctypes.byref(ls), None))"),
    ("c_set_config_used", "check(lib.sanlock_set_config(b'LS', 0, 1, None))"),
    ("c_set_config_used_by_orphans", "check(lib.sanlock_set_config(b'LS', 0, 4, None))"),
    ("c_version", "v = ctypes.c_uint32(); p = ctypes.c_uint32(); check(lib.sanlock_version(0, ctypes.byref(v), ctypes.byref(p))); print(hex(v.value), p.value)"),
    ("c_release_all", "check(lib.sanlock_release(-1, 4242, 0x1, 0, None))"),
    ("c_release_rename", "a = res(b'LS', b'R1', []); b = res(b'LS', b'R1-new', []); check(lib.sanlock_release(-1, 4242, 0x2, 2, resp(a, b)))"),
    ("c_release_orphan", "a = res(b'LS', b'', []); check(lib.sanlock_release(-1, 4242, 0x4, 1, resp(a)))"),
    ("c_release_eight", "rs = [res(b'LS', b'R%d' % i, [], num_disks=1) for i in range(8)]; check(lib.sanlock_release(-1, 4242, 0, 8, resp(*rs)))"),
    ("c_acquire_options", "r = res(b'LS', b'R1', [(b'/var/lib/paxlock/res.img', 0)], flags=0x1 | 0x2, lver=12, data32=5); o = Options(); o.owner_name = b'vm-owner-name'; o.flags = 0; o.len = 5; check(lib.sanlock_acquire(-1, 4242, 0x8, 1, resp(r), ctypes.byref(o)))"),
    ("c_acquire_eight_mixed_disks", "rs = [res(b'LS', b'R%d' % i, [(b'/var/lib/paxlock/d%d.img' % j, j * 1048576) for j in range(1 + i % 4)]) for i in range(8)]; check(lib.sanlock_acquire(-1, 4242, 0x2 | 0x4, 8, resp(*rs), None))"),
    ("c_acquire_full_names", "n = b'x' * 48; r = res(n, b'y' * 48, [(b'/' + b'p' * 1022, 0xfffffffffffff000)]); check(lib.sanlock_acquire(-1, 4242, 0, 1, resp(r), None))"),
    ("c_add_lockspace_timeout", "ls = Lockspace(); ls.name = b'LS'; ls.host_id = 3; ls.host_id_disk.path = b'/var/lib/paxlock/ls.img'; ls.host_id_disk.offset = 4096; check(lib.sanlock_add_lockspace_timeout(ctypes.byref(ls), 0x1, 40))"),
    ("c_rem_lockspace_async_unused", "ls = Lockspace(); ls.name = b'LS'; ls.host_id = 3; ls.host_id_disk.path = b'/var/lib/paxlock/ls.img'; check(lib.sanlock_rem_lockspace(ctypes.byref(ls), 0x1 | 0x2))"),
    ("c_get_lvb", "r = res(b'LS', b'R1', [(b'/var/lib/paxlock/res.img', 0)]); buf = ctypes.create_string_buffer(64); check(lib.sanlock_get_lvb(0, ctypes.byref(r), buf, 64))"),
    ("c_set_lvb_4096", "r = res(b'LS', b'R1', [(b'/var/lib/paxlock/res.img', 0)]); buf = ctypes.create_string_buffer(b'L' * 4096, 4096); check(lib.sanlock_set_lvb(0, ctypes.byref(r), buf, 4096))"),
    ("c_create_resource", "rx = rindex(); re = Rentry(); re.name = b'R9'; check(lib.sanlock_create_resource(ctypes.byref(rx), 0, ctypes.byref(re), 2000, 4))"),
    ("c_lookup_rindex_no_lockspace", "rx = rindex(); re = Rentry(); re.name = b'R9'; check(lib.sanlock_lookup_rindex(ctypes.byref(rx), 0x1, ctypes.byref(re)))"),
    ("c_format_rindex_max", "rx = rindex(); rx.flags = 0x200 | 0x80; rx.max_resources = 1000; check(lib.sanlock_format_rindex(ctypes.byref(rx), 0))"),
    ("c_request_next_lver", "r = res(b'LS', b'R1', [(b'/var/lib/paxlock/res.img', 0), (b'/var/lib/paxlock/res-b.img', 0)]); check(lib.sanlock_request(0x1, 2, ctypes.byref(r)))"),
    ("c_reg_event_flags", "he = HostEvent(); he.host_id = 9; he.event = 1; fd = lib.sanlock_reg_event(b'LS', ctypes.byref(he), 0); check(fd); os.close(fd)"),
    ("c_write_lockspace", "ls = Lockspace(); ls.name = b'LS'; ls.host_id_disk.path = b'/var/lib/paxlock/ls.img'; ls.flags = 0x100 | 0x10; check(lib.sanlock_write_lockspace(ctypes.byref(ls), 2000, 0, 0))"),
    ("c_align", "d = Disk(); d.path = b'/var/lib/paxlock/ls.img'; d.offset = 512; check(lib.sanlock_align(ctypes.byref(d)))"),
]


def hexdump(data):
    lines = []
    for i in range(0, len(data), 16):
        lines.append(" ".join("%02x" % b for b in data[i:i + 16]))
    return "\n".join(lines)


def collect(spool_dir, after):
    out = []
    for name in sorted(os.listdir(spool_dir)):
        if not name.endswith(".json"):
            continue
        seq = int(name[:6])
        if seq <= after:
            continue
        with open(os.path.join(spool_dir, name)) as f:
            meta = json.load(f)
        with open(os.path.join(spool_dir, name[:6] + ".bin"), "rb") as f:
            data = f.read()
        out.append((seq, meta, data))
    return out


def describe(data):
    if len(data) < 32:
        return "raw %d bytes (not a header)" % len(data)
    h = HDR.unpack(data[:32])
    name = CMD_NAMES.get(h[2], "?")
    return ("cmd %d %s cmd_flags 0x%x header.length %d sent %d (payload %d) data %d data2 %d"
            % (h[2], name, h[3], h[4], len(data), len(data) - 32,
               struct.unpack("<i", struct.pack("<I", h[6]))[0],
               struct.unpack("<i", struct.pack("<I", h[7]))[0]))


def write_strerror(out_dir):
    import ctypes
    lib = ctypes.CDLL("libsanlock.so.1")
    lib.sanlock_strerror.restype = ctypes.c_char_p
    with open(os.path.join(out_dir, "strerror.txt"), "w") as f:
        f.write("# sanlock_strerror(rv) from libsanlock.so.1 (3.8.5), then os.strerror(e)\n")
        f.write("# format: sanlock <rv> <text> | errno <e> <text>\n")
        for rv in [1, 0, -1, -2, -199, -200] + list(range(-201, -280, -1)):
            f.write("sanlock %d %s\n" % (rv, lib.sanlock_strerror(rv).decode()))
        for e in [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 16, 17, 19, 22, 25, 28, 32, 34, 38, 50,
                  79, 80, 81, 107, 110, 111, 115, 116, 117]:
            f.write("errno %d %s\n" % (e, os.strerror(e)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "requests"))
    ap.add_argument("--only", default=None, help="substring filter on scenario names")
    ap.add_argument("--strerror-only", action="store_true", help="only rewrite strerror.txt")
    ap.add_argument("--daemon", nargs=2, metavar=("RUN_DIR", "SPOOL"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.daemon:
        run_daemon(*args.daemon)
        return
    if args.strerror_only:
        write_strerror(os.path.dirname(args.out.rstrip("/")) or ".")
        return

    work = tempfile.mkdtemp(prefix="pxl-capture-")
    run_dir = os.path.join(work, "run")
    spool = os.path.join(work, "spool")
    os.makedirs(run_dir)
    os.makedirs(spool)
    daemon = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--daemon", run_dir, spool])
    try:
        for _ in range(100):
            if os.path.exists(os.path.join(run_dir, "ready")):
                break
            time.sleep(0.05)
        else:
            sys.exit("fake daemon did not start")

        env = dict(os.environ, SANLOCK_RUN_DIR=run_dir)
        os.makedirs(args.out, exist_ok=True)
        if not args.only:
            for name in os.listdir(args.out):
                if name.endswith(".hex"):
                    os.unlink(os.path.join(args.out, name))
        last = 0
        summary = []
        scenarios = [(n, ["sanlock", "client"] + a, "sanlock client " + " ".join(a)) for n, a in CLI]
        scenarios += [(n, ["/usr/bin/python3", "-c", PY_PRELUDE + "\n" + code], "python3: " + code) for n, code in PY]
        for name, argv, label in scenarios:
            if args.only and args.only not in name:
                continue
            p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=30)
            time.sleep(IDLE * 3)  # no-reply requests are recorded after the idle gap
            recs = [r for r in collect(spool, last)]
            if recs:
                last = max(r[0] for r in recs)
            reqs = [r for r in recs if r[1]["kind"] in ("request", "partial")]
            odd = [r for r in recs if r[1]["kind"] not in ("request", "partial")]
            if odd or not reqs:
                print("!! %s: rc %d, odd %r, output:\n%s" % (name, p.returncode, odd, p.stdout.decode()))
            conns = {}
            for k, (seq, meta, data) in enumerate(reqs):
                conns.setdefault(meta["conn"], len(conns))
                fname = "%s.%d.hex" % (name, k)
                with open(os.path.join(args.out, fname), "w") as f:
                    f.write("# client: %s\n" % label.replace("\n", " "))
                    f.write("# exit status %d; output: %s\n" % (p.returncode, p.stdout.decode().strip().replace("\n", " | ")[:300]))
                    f.write("# request %d on connection %d: %s\n" % (k, conns[meta["conn"]], describe(data)))
                    f.write(hexdump(data) + "\n")
                summary.append("%-40s %s" % (fname, describe(data)))
        print("\n".join(summary))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()
        shutil.rmtree(work, ignore_errors=True)
    write_strerror(os.path.dirname(args.out.rstrip("/")) or ".")


if __name__ == "__main__":
    main()
