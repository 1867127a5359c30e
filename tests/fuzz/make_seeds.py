#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) from
readable descriptions, so every checked-in seed can be regenerated and reviewed.
Run from anywhere: make_seeds.py BUILD_DIR (a normal build: its firmware and board
DTBs are seeds too). Inputs the fuzzers found and that were kept as regression
seeds (named crash-* or regress-*) are not touched."""
import os
import pathlib
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
REPO = HERE.parent.parent


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(bytes(data))


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


# ---- mmio_*: fuzz_mmio.cpp's op encoding
def w32(off, value):
    return bytes([0x10]) + u16(off) + u32(value)


def w8(off, value, size_code=0):  # op & 1: a one-byte value; size 1 << size_code
    return bytes([0x01 | size_code << 3]) + u16(off) + bytes([value & 0xFF])


def r(off, size_code=2):
    return bytes([0x02 | size_code << 3]) + u16(off)


def advance(cycles16, shift=0):
    return bytes([0x04 | shift << 3]) + u16(cycles16)


def ram(addr, value):
    return bytes([0x05]) + u16(addr // 16) + u32(value)


def outside(op_bits, byte):
    return bytes([0x06 | op_bits]) + bytes([byte])


def sweep(window, value):
    """Every register of the first `window` bytes written with `value` at each width
    and read back."""
    out = b""
    for off in range(0, window, 4):
        out += w32(off, value) + r(off) + r(off, 0) + r(off + 2, 1)
        out += w8(off + 1, value >> 8, 0) + w8(off + 2, value >> 16, 1)
    return out + advance(0xFFFF, 4)


def mmio_seeds():
    windows = {"pl011": 0x100, "systimer": 0x20, "armctrl": 0x30, "local_intc": 0x100,
               "dma": 0x100, "mbox": 0x40, "vchiq": 0x40, "pm_wdt": 0x28, "aux": 0x80,
               "sdhost": 0x60, "sdhci": 0x100, "usb": 0x200}
    for dev, window in windows.items():
        put(f"mmio_{dev}", "sweep-ones", b"\x00" + sweep(window, 0xFFFFFFFF))
        put(f"mmio_{dev}", "sweep-pattern", b"\x01" + sweep(window, 0x5A5AA5A5))
    # PL011: enable, unmask everything, send, receive, overrun the RX FIFO.
    s = w32(0x30, 0x301) + w32(0x38, 0x7FF) + w32(0x2C, 0x70)
    s += b"".join(w8(0x00, c) for c in b"hello") + advance(0x4000, 2) + r(0x40)
    s += b"".join(outside(0, c) for c in range(40)) + r(0x18) + r(0x00) + r(0x40)
    s += outside(0x10, 0) + outside(0x08, 0) + r(0x3C) + w32(0x44, 0x7FF) + r(0x40)
    put("mmio_pl011", "tx-rx-overrun", b"\x00" + s)
    # System timer: compare 1 and 3 a little ahead, time passes, clear.
    s = r(0x04) + w32(0x10, 50) + w32(0x18, 120) + advance(0xFFFF, 2) + r(0x00)
    s += w32(0x00, 0x2) + r(0x00) + advance(0xFFFF, 3) + w32(0x00, 0xF) + r(0x00)
    put("mmio_systimer", "compare-match", b"\x00" + s)
    # DMA: a control block at 0x1000 copying 0x100 bytes from 0x2000 to 0x3000,
    # with INTEN, chained to a second CB pointing outside RAM.
    cb = [0x1 | 0x100 | 0x10, 0x2000, 0x3000, 0x100, 0, 0x1020, 0, 0]
    cb2 = [0x1, 0xFFFFF000, 0x7E201000, 0x10000, 0, 0, 0, 0]
    s = b"".join(ram(0x1000 + 4 * i, v) for i, v in enumerate(cb + cb2))
    s += w32(0xFF0, 0x7FFF) + w32(0x04, 0x1000) + w32(0x00, 0x1) + advance(0xFFFF, 2)
    s += r(0x00) + r(0xFE0) + w32(0x00, 0x6) + r(0x00) + r(0x20)
    put("mmio_dma", "chained-cbs", b"\x00" + s)
    # Mailbox: a property buffer at 0x1000 (get board revision), and one crossing
    # the end of RAM.
    buf = [7 * 4, 0, 0x00010002, 4, 0, 0, 0]
    s = b"".join(ram(0x1000 + 4 * i, v) for i, v in enumerate(buf))
    s += w32(0x1C, 0x1) + w32(0x20, 0xC0001000 | 8) + advance(0xFFFF, 2) + r(0x18) + r(0x00)
    s += w32(0x20, 0x00FFFFF8 | 8) + advance(0xFFFF, 2) + r(0x00) + r(0x00)
    put("mmio_mbox", "property-buffers", b"\x00" + s)
    # SD hosts with a card: reset, CMD0, CMD8, ACMD41, CMD2, CMD3, CMD7, CMD17.
    s = b""
    for cmd, arg in [(0, 0), (8, 0x1AA), (55, 0), (41, 0x40FF8000), (2, 0), (3, 0),
                     (7, 0x45670000), (17, 0), (24, 1)]:
        s += w32(0x04, arg) + w32(0x00, 0x8000 | cmd) + advance(0x4000) + r(0x00) + r(0x10)
        s += r(0x40) + r(0x20) + r(0x34)
    put("mmio_sdhost", "card-commands", b"\x01" + s)
    s = w32(0x2C, 0x0E0007) + w32(0x34, 0xFFFFFFFF) + w32(0x38, 0xFFFFFFFF)
    for cmd, arg, flags in [(0, 0, 0), (8, 0x1AA, 0x1A), (55, 0, 0x1A), (41, 0x40FF8000, 0x02),
                            (2, 0, 0x09), (3, 0, 0x1A), (7, 0x45670000, 0x1B),
                            (17, 0, 0x3A)]:
        s += w32(0x08, arg) + w32(0x04, 0x00010200) + w32(0x0C, cmd << 24 | flags << 16 | 0x10)
        s += advance(0x4000) + r(0x30) + r(0x10) + r(0x20) + w32(0x30, 0xFFFFFFFF)
    put("mmio_sdhci", "card-commands", b"\x01" + s)


# ---- syscall: fuzz_syscall.cpp's encoding
def raw(v):
    return bytes([0]) + u32(v)


def small(v):
    return bytes([1, v & 0xFF])


def ptr(off):
    return bytes([2, off // 2])


def fn(i):  # 0 ret1, 1 ret0, 2 spin, 3 sleeper (msleep in a handler), 4 data, 5 NULL
    return bytes([3 | i << 2])


def call(nr, *args):
    args = list(args) + [small(0)] * (6 - len(args))
    return b"".join(args) + bytes([nr])


def syscall_seeds():
    # format at 0, a name at 40, zeroed words at 16-39 (tasklet, work, completion)
    area = b"fuzz %d %x %s %pS %c %5u %-08x %%\n\0".ljust(40, b"\0") + b"name\0"
    area = area.ljust(64, b"\0")
    head = bytes([0, len(area) // 2]) + area
    put("syscall", "request-sleep-free", head + call(1, small(31), fn(0), fn(5), small(0x80), ptr(40), raw(0x1234))
        + call(9, small(20)) + call(8, small(31), ptr(48)) + call(2, small(31), raw(0x1234)))
    put("syscall", "printk", head + call(7, ptr(0), small(5), raw(0xDEADBEEF), ptr(40), ptr(0))
        + call(7, raw(0xFFFFFFF0)) + call(7, raw(0)))
    put("syscall", "threaded-oneshot", bytes([2]) + head[1:] +
        call(1, small(87), fn(0), fn(1), small(0x2000), ptr(40), raw(1)) + call(4, small(87))
        + call(3, small(87)) + call(9, small(30)))
    put("syscall", "kthreads", head + call(12, fn(1), raw(0), ptr(40)) + call(10)
        + call(21, small(7), fn(1)) + call(22, small(7)) + call(25, ptr(16)) + call(28, ptr(24))
        + call(29, ptr(24)) + call(17, ptr(32)))
    put("syscall", "handler-sleeps", bytes([4]) + head[1:] +
        call(1, small(31), fn(3), fn(5), small(0x80), ptr(40), raw(7)) + call(9, small(50)))
    put("syscall", "bad-numbers", head + call(0) + call(36) + call(38) + call(11, small(3)))
    put("syscall", "firmware-mmc", bytes([1]) + head[1:] + call(33, raw(0x00010002), ptr(0), small(8))
        + call(34, small(0), small(0), small(1), ptr(0)) + call(34, small(1), raw(0xFFFFFFFF),
                                                              raw(0x10000), raw(0x3FFFFFF0)))


# ---- gdb_packet
def checksum(p):
    return b"$" + p + b"#" + b"%02x" % (sum(p) & 0xFF)


def gdb_seeds():
    packets = [b"qSupported:multiprocess+;swbreak+", b"g", b"m8000,40", b"M8000,4:deadbeef",
               b"X8000,4:ab}]c\x7dd", b"p19", b"P19=78563412", b"Z0,8000,4", b"vCont;c:1;s:2",
               b"qXfer:features:read:target.xml:0,fff", b"qRcmd,68656c70", b"c", b"D"]
    put("gdb_packet", "session", b"\x40+" + b"".join(checksum(p) + b"+" for p in packets)
        + b"\x03" + b"$g#00" + b"-" + b"$m80$g#67")
    put("gdb_packet", "oversize", b"\x00" + checksum(b"M8000,100:" + b"ab" * 256))


# ---- trace
def trace_seeds():
    golden = (REPO / "tests/golden/trace_idle_raspi3b.txt").read_bytes()
    lines = golden.split(b"\n")
    changed = b"\n".join(lines[:20] + [lines[20].replace(b"irq=17", b"irq=18")] + lines[21:])
    put("trace", "same", b"\x00" + golden)
    put("trace", "differ", b"\x13" + golden + b"\0" + changed)
    put("trace", "filtered", b"\x26" + golden + b"\0" + b"\n".join(lines[:15]))
    hand = (b"# tracer: nop\n#\nCPU:1 [LOST 12 EVENTS]\n##### CPU 2 buffer started ####\n"
            b"  sh-42 [001] d..1 12.000001: sched_switch: prev_comm=sh prev_pid=42 "
            b"prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120\n"
            b"  <idle>-0 [001] d.h. 12.5: handle_irq <-gic_handle_irq\n  x-1 [0] .... 1.0: foo\n")
    put("trace", "hand-written", b"\x01" + hand)
    # `piemu trace plot`'s inputs: every lane (tests/data/plot_small.trace), and a
    # kernel-model trace with IRQ threads and softirqs.
    put("trace", "plot-small", b"\x00" + (REPO / "tests/data/plot_small.trace").read_bytes())
    put("trace", "plot-threaded",
        b"\x30" + (REPO / "tests/golden/trace_kernel_km_threaded.txt").read_bytes())


# ---- elf and dtb: built files
def built_seeds(build):
    for name in ["km_usr.elf", "km_bug.elf"]:
        p = build / "firmware" / name
        if p.exists():
            put("elf", name, p.read_bytes())
    for board in ["raspi2b", "raspi3b"]:
        p = build / "boards" / f"{board}.dtb"
        if p.exists():
            dtb = p.read_bytes()
            put("dtb", board, b"\x01" + dtb)
            put("dtb", board + "-linux", b"\xc3" + dtb)


def main():
    build = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build"
    mmio_seeds()
    syscall_seeds()
    gdb_seeds()
    trace_seeds()
    built_seeds(build)


if __name__ == "__main__":
    main()
