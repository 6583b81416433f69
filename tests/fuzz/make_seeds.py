#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes tests/fuzz/seeds/: what GDB 13 sends when it attaches to kstub
and works a little (its qSupported, the qXfer reads, registers, memory,
breakpoints, resumes, monitor commands), as packets and as the bytes on
the wire, and one reply of each kind for the framers. The first byte of
each seed picks the harness's mode (see fuzz_packet.c and fuzz_rsp.c)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

ATTACH = [
    "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;"
    "exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386",
    "vMustReplyEmpty", "QStartNoAckMode", "Hgp0.0", "qXfer:features:read:target.xml:0,ffb",
    "qXfer:features:read:target.xml:ffb,ffb", "qTStatus", "?", "qXfer:threads:read::0,ffb",
    "qXfer:threads:read::ffb,ffb", "qAttached", "Hc-1", "qC", "qOffsets", "g",
    "qXfer:libraries:read::0,ffb", "m ffffffff81000000,40", "qSymbol::", "qfThreadInfo",
    "qsThreadInfo", "qThreadExtraInfo,26", "Hg4c", "g", "p10", "P5=0000000000000000", "T4c",
    "Z0,ffffffff81000200,1", "vCont?", "vCont;c:p1.-1", "z0,ffffffff81000200,1",
    "vCont;s:1", "M ffffffff81000300,4:deadbeef", "X ffffffff81000310,4:abcd",
    "qRcmd,6c736d6f64", "qRcmd,626967", "qRcmd,6563686f203c263e", "qRcmd,6661696c", "c", "s",
    "D",
]


def frame(p):
    return b"$" + p + b"#%02x" % (sum(p) & 0xff)


def write(name, data):
    path = os.path.join(HERE, "seeds", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    wire = (b"+" + b"+".join(frame(p.encode()) for p in ATTACH[:20]) + b"+\x03"
            + frame(b"vCont;c") + b"-" + b"$bad#00")
    write("rsp/gdb-attach", b"\x00" + "\n".join(ATTACH).encode() + b"\n")
    write("rsp/gdb-attach-big", b"\x06" + "\n".join(ATTACH).encode() + b"\n")
    write("rsp/gdb-wire", b"\x01" + wire)
    write("packet/rx", b"\x00" + wire)
    write("packet/frame", b"\x01" + b"OK" + b"\0" * 40 + b"$#}*" + b"a" * 200)
    write("packet/hex", b"\x03" + bytes(range(256)) + b"\xff" * 300)
    write("packet/output", b"\x05kstub: ready on uart ttyS1\n")


if __name__ == "__main__":
    main()
