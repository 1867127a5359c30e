#include "machine/semihosting.hpp"

#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

#include "piemu/clock.hpp"

namespace piemu {

namespace {
// Operation numbers (semihosting specification, section 5).
enum Op : uint32_t {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITEC = 0x03,
    SYS_WRITE0 = 0x04,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_READC = 0x07,
    SYS_ISERROR = 0x08,
    SYS_ISTTY = 0x09,
    SYS_SEEK = 0x0a,
    SYS_FLEN = 0x0c,
    SYS_CLOCK = 0x10,
    SYS_TIME = 0x11,
    SYS_ERRNO = 0x13,
    SYS_GET_CMDLINE = 0x15,
    SYS_HEAPINFO = 0x16,
    SYS_EXIT = 0x18,
    SYS_EXIT_EXTENDED = 0x20,
    SYS_ELAPSED = 0x30,
    SYS_TICKFREQ = 0x31,
};
constexpr uint32_t ADP_Stopped_ApplicationExit = 0x20026;
constexpr uint32_t kEBADF = 9;
// SYS_ELAPSED ticks at 1 MHz: fine enough, and the same on every board.
constexpr uint64_t kTickHz = 1'000'000;
} // namespace

bool Semihosting::is_semihosting_call(const ArmCore& core, const StopInfo& stop) {
    if (stop.reason != StopReason::Svc)
        return false;
    if ((core.cpsr() & psr::M) == uint32_t(CpuMode::Usr))
        return false;
    if (stop.thumb)
        return stop.insn_size == 2 && (stop.insn & 0xff) == 0xab;
    return (stop.insn & 0x00ffffff) == 0x123456;
}

bool Semihosting::read_u32(const ArmCore& core, uint32_t va, uint32_t& out) const {
    uint8_t b[4];
    if (!core.read_virt(va, b))
        return false;
    std::memcpy(&out, b, 4);
    return true;
}

std::optional<int> Semihosting::handle(ArmCore& core) {
    uint32_t op = core.reg(0);
    uint32_t arg = core.reg(1);
    uint32_t result = 0xffffffffu;
    uint32_t a[4] = {};
    auto args = [&](unsigned n) {
        for (unsigned i = 0; i < n; ++i)
            if (!read_u32(core, arg + 4 * i, a[i]))
                return false;
        return true;
    };

    switch (op) {
    case SYS_WRITEC: {
        uint8_t c;
        if (core.read_virt(arg, {&c, 1})) {
            note(std::fputc(c, console_) != EOF);
            result = 0;
        }
        break;
    }
    case SYS_WRITE0: {
        uint8_t c;
        for (uint32_t p = arg; core.read_virt(p, {&c, 1}) && c; ++p)
            note(std::fputc(c, console_) != EOF);
        result = 0;
        break;
    }
    case SYS_WRITE: { // {handle, buffer, length} -> bytes NOT written
        if (!args(3))
            break;
        FILE* out = a[0] < handles_.size() && handles_[a[0]] == Stream::Out   ? console_
                    : a[0] < handles_.size() && handles_[a[0]] == Stream::Err ? stderr
                                                                              : nullptr;
        if (!out) {
            result = a[2];
            break;
        }
        uint32_t left = a[2];
        uint8_t buf[256];
        for (uint32_t p = a[1]; left;) {
            uint32_t n = std::min<uint32_t>(left, sizeof buf);
            if (!core.read_virt(p, {buf, n}))
                break;
            bool ok = std::fwrite(buf, 1, n, out) == n;
            if (out == console_)
                note(ok);
            p += n;
            left -= n;
        }
        result = left;
        break;
    }
    case SYS_OPEN: { // {name, mode, length}: only ":tt", the console
        if (!args(3) || a[2] != 3)
            break;
        char name[4] = {};
        if (!core.read_virt(a[0], {reinterpret_cast<uint8_t*>(name), 3}) ||
            std::strcmp(name, ":tt") != 0)
            break;
        // Modes 0-3 ("r...") are stdin, 4-7 ("w...") stdout, 8-11 ("a...") stderr,
        // as the specification's SH_EXT_STDOUT_STDERR extension says. Handles are
        // allocated from 1 upwards, as QEMU does.
        Stream st = a[1] < 4 ? Stream::In : a[1] < 8 ? Stream::Out : Stream::Err;
        result = uint32_t(handles_.size());
        handles_.push_back(st);
        break;
    }
    case SYS_CLOSE:
        if (args(1) && a[0] < handles_.size() && handles_[a[0]] != Stream::Closed) {
            handles_[a[0]] = Stream::Closed;
            result = 0;
        }
        break;
    case SYS_ISTTY:
        result = (args(1) && a[0] < handles_.size() && handles_[a[0]] != Stream::Closed) ? 1 : 0;
        break;
    case SYS_READ: // {handle, buffer, length} -> bytes NOT read: console input is empty
        if (args(3))
            result = a[2];
        break;
    case SYS_READC:
        result = 0xffffffffu;
        break;
    case SYS_ISERROR:
        result = int32_t(arg) < 0 ? 1 : 0;
        break;
    case SYS_SEEK:
    case SYS_FLEN:
        result = 0xffffffffu;
        break;
    case SYS_ERRNO:
        result = kEBADF;
        break;
    case SYS_CLOCK:
        result = uint32_t(clock_.ticks_at(100));
        break; // centiseconds
    case SYS_TIME:
        result = uint32_t(clock_.ticks_at(1));
        break; // virtual epoch 0
    case SYS_ELAPSED: {
        uint64_t t = clock_.ticks_at(kTickHz);
        uint32_t w[2] = {uint32_t(t), uint32_t(t >> 32)};
        if (core.write_virt(arg, {reinterpret_cast<uint8_t*>(w), 8}))
            result = 0;
        break;
    }
    case SYS_TICKFREQ:
        result = uint32_t(kTickHz);
        break;
    case SYS_GET_CMDLINE: { // {buffer, length}: an empty command line
        if (!args(2) || a[1] < 1)
            break;
        uint8_t nul = 0;
        uint32_t zero = 0;
        if (core.write_virt(a[0], {&nul, 1}) &&
            core.write_virt(arg + 4, {reinterpret_cast<uint8_t*>(&zero), 4}))
            result = 0;
        break;
    }
    case SYS_HEAPINFO: { // four zero words: "the program decides"
        uint32_t z[4] = {};
        uint32_t block;
        if (read_u32(core, arg, block) &&
            core.write_virt(block, {reinterpret_cast<uint8_t*>(z), sizeof z}))
            result = 0;
        break;
    }
    case SYS_EXIT: // AArch32: r1 is the reason itself, not a pointer
        note(std::fflush(console_) != EOF);
        return arg == ADP_Stopped_ApplicationExit ? 0 : 1;
    case SYS_EXIT_EXTENDED:
        note(std::fflush(console_) != EOF);
        if (!args(2))
            return 1;
        return a[0] == ADP_Stopped_ApplicationExit ? int(a[1] & 0xff) : 1;
    default:
        spdlog::warn("guest error: unsupported semihosting operation 0x{:02x}", op);
        break;
    }
    core.set_reg(0, result);
    return std::nullopt;
}

} // namespace piemu
