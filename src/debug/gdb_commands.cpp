// The gdb stub's packets while the guest is stopped (see gdb_stub.hpp): what each
// one does and answers. Errors follow QEMU's gdbstub: E14 (EFAULT) for memory that
// cannot be read or written, E22 (EINVAL) for a malformed packet, E03 (ESRCH) for a
// thread that does not exist.
#include <algorithm>
#include <array>

#include <unicorn/unicorn.h>

#include <fmt/format.h>

#include "debug/gdb_registers.hpp"
#include "debug/gdb_stub.hpp"

namespace piemu::gdb {

namespace {

constexpr const char* kErrMemory = "E14";
constexpr const char* kErrInvalid = "E22";
constexpr const char* kErrThread = "E03";

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

/// "ADDR,LEN" (both hex, the address within 32 bits).
std::optional<std::pair<uint32_t, uint64_t>> parse_addr_len(std::string_view s) {
    size_t comma = s.find(',');
    if (comma == std::string_view::npos)
        return std::nullopt;
    auto addr = parse_hex(s.substr(0, comma));
    auto len = parse_hex(s.substr(comma + 1));
    if (!addr || !len || *addr > 0xffffffffu)
        return std::nullopt;
    return std::pair{uint32_t(*addr), *len};
}

/// A thread id as gdb writes it: hex, "-1" (all) or "0" (any). Process-qualified
/// ids (pPID.TID) are not used: piemu does not claim multiprocess support.
std::optional<int64_t> parse_thread(std::string_view s) {
    if (s == "-1")
        return -1;
    auto v = parse_hex(s);
    if (!v || *v > 0xffff)
        return std::nullopt;
    return int64_t(*v);
}

} // namespace

ArmCore* GdbStub::thread_core(uint64_t t) {
    // One thread per core that is online: a secondary parked in the firmware's boot
    // loop is not (as Linux's offline CPUs; under a debugger core 0 runs alone).
    if (t < 1 || t > machine_.core_count() || machine_.core_parked(unsigned(t - 1)))
        return nullptr;
    return &machine_.core(unsigned(t - 1));
}

GdbStub::Action GdbStub::handle_packet(std::string_view p) {
    using K = Action::Kind;
    auto reply = [](std::string r) { return Action{K::Reply, std::move(r)}; };
    if (p.empty())
        return reply("");
    switch (p[0]) {
    case '?':
        return reply(last_stop_);
    case 'g':
        if (p.size() != 1)
            return reply(kErrInvalid);
        return reply(read_registers(g_core()));
    case 'G':
        return reply(write_registers(g_core(), p.substr(1)) ? "OK" : kErrInvalid);
    case 'p': {
        auto n = parse_hex(p.substr(1));
        auto v = n && *n < 0x100 ? read_register(g_core(), unsigned(*n)) : std::nullopt;
        return reply(v ? *v : std::string(kErrInvalid));
    }
    case 'P': {
        size_t eq = p.find('=');
        auto n = eq == std::string_view::npos ? std::nullopt : parse_hex(p.substr(1, eq - 1));
        bool ok = n && *n < 0x100 && write_register(g_core(), unsigned(*n), p.substr(eq + 1));
        return reply(ok ? "OK" : kErrInvalid);
    }
    case 'm':
        return reply(read_memory(p.substr(1)));
    case 'M':
        return reply(write_memory(p.substr(1), false));
    case 'X':
        return reply(write_memory(p.substr(1), true));
    case 'Z':
    case 'z':
        return reply(breakpoint(p.substr(1), p[0] == 'Z'));
    case 'c':
    case 'C':
        return resume(p, false);
    case 's':
    case 'S':
        return resume(p, true);
    case 'H':
        return reply(set_thread(p.substr(1)));
    case 'T': {
        auto t = parse_thread(p.substr(1));
        return reply(t && *t > 0 && thread_core(uint64_t(*t)) ? "OK" : kErrThread);
    }
    case 'D':
        return Action{K::Detach, {}};
    case 'k':
        return Action{K::Kill, {}};
    case 'q':
    case 'Q':
        return query(p);
    case 'v':
        if (p == "vCont?")
            return reply("vCont;c;C;s;S;t");
        if (starts_with(p, "vCont;"))
            return vcont(p.substr(6));
        if (starts_with(p, "vKill"))
            return Action{K::Kill, {}};
        return reply(""); // vMustReplyEmpty and everything else
    default:
        return reply("");
    }
}

GdbStub::Action GdbStub::query(std::string_view p) {
    auto reply = [](std::string r) { return Action{Action::Kind::Reply, std::move(r)}; };
    if (starts_with(p, "qSupported"))
        return reply(fmt::format("PacketSize={:x};qXfer:features:read+;vContSupported+;"
                                 "QStartNoAckMode+",
                                 kMaxPacketSize));
    if (p == "QStartNoAckMode")
        return reply("OK");
    if (starts_with(p, "qXfer:features:read:"))
        return reply(read_target_xml(p.substr(20)));
    if (starts_with(p, "qAttached"))
        return reply("1"); // attached to a running machine: quitting gdb detaches
    if (p == "qC")
        return reply(fmt::format("QC{:02x}", g_thread_));
    if (p == "qfThreadInfo") {
        std::string r = "m";
        for (unsigned i = 1; i <= machine_.core_count(); ++i)
            if (thread_core(i))
                r += fmt::format("{}{:02x}", r.size() > 1 ? "," : "", i);
        return reply(r);
    }
    if (p == "qsThreadInfo")
        return reply("l");
    if (starts_with(p, "qThreadExtraInfo,")) {
        auto t = parse_hex(p.substr(17));
        ArmCore* c = t ? thread_core(*t) : nullptr;
        if (!c)
            return reply(kErrThread);
        return reply(to_hex(fmt::format("CPU#{} {}", c->index(), mode_name(c->mode()))));
    }
    if (starts_with(p, "qRcmd,"))
        return reply(monitor(p.substr(6)));
    if (starts_with(p, "qSymbol"))
        return reply("OK"); // no symbols wanted
    return reply("");
}

std::string GdbStub::read_target_xml(std::string_view p) const {
    // ANNEX:OFFSET,LENGTH; the reply is m (more follows) or l (last) and the data.
    size_t colon = p.find(':');
    if (colon == std::string_view::npos)
        return kErrInvalid;
    if (p.substr(0, colon) != "target.xml")
        return "E00"; // no such annex
    auto range = parse_addr_len(p.substr(colon + 1));
    if (!range)
        return kErrInvalid;
    const std::string& xml = target_xml();
    auto [offset, len] = *range;
    if (offset >= xml.size())
        return "l";
    // Escaping may double a byte: keep the reply within the packet size.
    size_t n = size_t(std::min<uint64_t>(len, kMaxPacketSize / 2 - 1));
    std::string_view chunk = std::string_view(xml).substr(offset, n);
    bool last = offset + chunk.size() >= xml.size();
    return (last ? "l" : "m") + escape_binary(chunk);
}

std::string GdbStub::set_thread(std::string_view p) {
    if (p.empty() || (p[0] != 'g' && p[0] != 'c'))
        return "";
    auto t = parse_thread(p.substr(1));
    if (!t)
        return kErrInvalid;
    // 0 (any) and -1 (all) pick the first core; Hc only checks: every resume runs
    // the machine as a whole.
    uint64_t thread = *t <= 0 ? 1 : uint64_t(*t);
    if (!thread_core(thread))
        return kErrThread;
    if (p[0] == 'g')
        g_thread_ = unsigned(thread);
    return "OK";
}

GdbStub::Action GdbStub::resume(std::string_view p, bool step) {
    // c [ADDR] / s [ADDR] / C SIG [;ADDR] / S SIG [;ADDR]. There are no signals to
    // deliver to a bare machine: SIG is accepted and ignored, as QEMU's does.
    std::string_view rest = p.substr(1);
    if (p[0] == 'C' || p[0] == 'S') {
        size_t semi = rest.find(';');
        if (!parse_hex(rest.substr(0, semi)))
            return Action{Action::Kind::Reply, kErrInvalid};
        rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    }
    if (!rest.empty()) {
        auto addr = parse_hex(rest);
        if (!addr || *addr > 0xffffffffu)
            return Action{Action::Kind::Reply, kErrInvalid};
        ArmCore& c = machine_.core(0);
        c.set_pc(uint32_t(*addr), c.thumb());
    }
    return Action{step ? Action::Kind::Step : Action::Kind::Continue, {}};
}

GdbStub::Action GdbStub::vcont(std::string_view p) {
    // ACTION[:THREAD] separated by ';'. For each thread the first action naming it
    // (or the default, without a thread) applies. Only core 0 runs today: the
    // machine steps if any thread steps, continues if any continues, and otherwise
    // (t, or no action for any thread) stays stopped.
    if (p.empty())
        return Action{Action::Kind::Reply, kErrInvalid}; // no action at all
    std::vector<char> action(machine_.core_count(), 0);
    while (!p.empty()) {
        size_t semi = p.find(';');
        std::string_view item = p.substr(0, semi);
        p = semi == std::string_view::npos ? std::string_view{} : p.substr(semi + 1);
        if (item.empty())
            return Action{Action::Kind::Reply, kErrInvalid};
        char a = item[0];
        std::string_view rest = item.substr(1);
        if (a == 'C' || a == 'S') { // a signal number, ignored
            size_t colon = rest.find(':');
            if (!parse_hex(rest.substr(0, colon)))
                return Action{Action::Kind::Reply, kErrInvalid};
            rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
            a = char(a - 'A' + 'a');
        }
        if (a != 'c' && a != 's' && a != 't')
            return Action{Action::Kind::Reply, kErrInvalid};
        std::optional<int64_t> thread = -1; // no thread: the default action
        if (!rest.empty()) {
            if (rest[0] != ':')
                return Action{Action::Kind::Reply, kErrInvalid};
            thread = parse_thread(rest.substr(1));
            if (!thread)
                return Action{Action::Kind::Reply, kErrInvalid};
        }
        for (unsigned i = 0; i < action.size(); ++i)
            if (!action[i] && (*thread <= 0 || uint64_t(*thread) == i + 1))
                action[i] = a;
    }
    if (std::find(action.begin(), action.end(), 's') != action.end())
        return Action{Action::Kind::Step, {}};
    if (std::find(action.begin(), action.end(), 'c') != action.end())
        return Action{Action::Kind::Continue, {}};
    return Action{Action::Kind::Stay, {}};
}

std::string GdbStub::read_memory(std::string_view p) {
    auto range = parse_addr_len(p);
    if (!range)
        return kErrInvalid;
    auto [addr, len] = *range;
    // The reply holds two hex digits per byte; gdb accepts fewer bytes than asked.
    len = std::min<uint64_t>({len, kMaxPacketSize / 2, 0x100000000ull - addr});
    std::string out;
    ArmCore& c = g_core();
    std::array<uint8_t, 0x400> buf;
    for (uint64_t done = 0; done < len;) {
        // A 1 KiB bus page is RAM or not as a whole: read page by page, stop at the
        // first that is not.
        uint32_t at = uint32_t(addr + done);
        size_t n = size_t(std::min<uint64_t>(len - done, 0x400 - (at & 0x3ff)));
        if (!c.read_virt(at, std::span(buf.data(), n)))
            break;
        out += to_hex(std::span<const uint8_t>(buf.data(), n));
        done += n;
    }
    return out.empty() && len ? kErrMemory : out;
}

std::string GdbStub::write_memory(std::string_view p, bool binary) {
    size_t colon = p.find(':');
    if (colon == std::string_view::npos)
        return kErrInvalid;
    auto range = parse_addr_len(p.substr(0, colon));
    auto data = binary ? unescape_binary(p.substr(colon + 1)) : from_hex(p.substr(colon + 1));
    if (!range || !data || data->size() != range->second)
        return kErrInvalid;
    uint32_t addr = range->first;
    if (data->empty())
        return "OK"; // gdb's probe for X
    if (uint64_t(addr) + data->size() > 0x100000000ull)
        return kErrMemory;
    if (!g_core().write_virt(addr, *data))
        return kErrMemory;
    // Code translated from the old bytes must not run again.
    for (unsigned i = 0; i < machine_.core_count(); ++i)
        uc_ctl_remove_cache(machine_.core(i).uc(), addr, uint64_t(addr) + data->size());
    return "OK";
}

std::string GdbStub::breakpoint(std::string_view p, bool insert) {
    // TYPE,ADDR,KIND[;conditions...]: conditions and commands are not claimed in
    // qSupported, so gdb evaluates them itself.
    p = p.substr(0, p.find(';'));
    if (p.size() < 2 || p[1] != ',')
        return kErrInvalid;
    char type = p[0];
    if (type < '0' || type > '4')
        return ""; // unsupported kinds
    auto range = parse_addr_len(p.substr(2));
    if (!range || range->second > 0xffffffffu)
        return kErrInvalid;
    auto [addr, kind_or_len] = *range;
    unsigned cores = machine_.core_count();
    if (type == '0' || type == '1') {
        // Software and hardware breakpoints are both piemu breakpoints: nothing is
        // written into guest memory.
        unsigned& n = breakpoints_[addr];
        if (insert && n++ == 0)
            for (unsigned i = 0; i < cores; ++i)
                machine_.core(i).add_breakpoint(addr);
        if (!insert) {
            if (n > 0 && --n == 0)
                for (unsigned i = 0; i < cores; ++i)
                    machine_.core(i).remove_breakpoint(addr);
            if (n == 0)
                breakpoints_.erase(addr);
        }
        return "OK";
    }
    if (kind_or_len == 0)
        return kErrInvalid;
    WatchKind kind = type == '2'   ? WatchKind::Write
                     : type == '3' ? WatchKind::Read
                                   : WatchKind::Access;
    auto key = std::tuple{addr, uint32_t(kind_or_len), int(kind)};
    unsigned& n = watchpoints_[key];
    if (insert && n++ == 0)
        for (unsigned i = 0; i < cores; ++i)
            machine_.core(i).add_watchpoint(addr, uint32_t(kind_or_len), kind);
    if (!insert) {
        if (n > 0 && --n == 0)
            for (unsigned i = 0; i < cores; ++i)
                machine_.core(i).remove_watchpoint(addr, uint32_t(kind_or_len), kind);
        if (n == 0)
            watchpoints_.erase(key);
    }
    return "OK";
}

} // namespace piemu::gdb
