// The print helpers of the event table, with the kernel's symbol tables.
#include "trace/printer.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace piemu::trace {

namespace {

// include/trace/events/irq.h softirq_name() list, in enum order (4.14).
constexpr std::array<const char*, 10> kSoftirqNames = {
    "HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
};

// sched_switch's __print_flags table (include/trace/events/sched.h, 4.14).
struct StateFlag {
    std::int32_t mask;
    const char* name;
};
constexpr std::array<StateFlag, 8> kTaskStates = {{
    {0x01, "S"},
    {0x02, "D"},
    {0x04, "T"},
    {0x08, "t"},
    {0x10, "X"},
    {0x20, "Z"},
    {0x40, "P"},
    {0x80, "I"},
}};

// arch/arm/kernel/smp.c ipi_types[] (4.14): also the /proc/interrupts IPI labels.
constexpr std::array<const char*, 7> kIpiTypes = {
    "CPU wakeup interrupts",    "Timer broadcast interrupts", "Rescheduling interrupts",
    "Function call interrupts", "CPU stop interrupts",        "IRQ work interrupts",
    "completion interrupts",
};

// The ARM exception vectors, by offset / 4 (entry-armv.S vector_rst .. vector_fiq;
// 0x14 is the Hyp trap entry of the virtualization extensions).
constexpr std::array<const char*, 8> kVectors = {
    "reset", "undef", "svc", "pabt", "dabt", "hyp", "irq", "fiq",
};

// CPSR.M names, as entry-armv.S suffixes its handlers (__irq_usr, __irq_svc).
struct Mode {
    std::uint32_t bits;
    const char* name;
};
constexpr std::array<Mode, 9> kModes = {{
    {0x10, "usr"},
    {0x11, "fiq"},
    {0x12, "irq"},
    {0x13, "svc"},
    {0x16, "mon"},
    {0x17, "abt"},
    {0x1a, "hyp"},
    {0x1b, "und"},
    {0x1f, "sys"},
}};

} // namespace

void Printer::print(EventId id, const void* payload, std::string& out) {
    next_scratch_ = 0;
    switch (id) {
#define FIELD(type, name)
#define PIEMU_TRACE_EVENT(subsystem, name, ...)                                                    \
    case EventId::name: {                                                                          \
        ev::name e;                                                                                \
        std::memcpy(&e, payload, sizeof e);                                                        \
        print_##name(e, out);                                                                      \
        return;                                                                                    \
    }
#include "trace/events.def"
#undef PIEMU_TRACE_EVENT
#undef FIELD
    }
}

void Printer::emit(std::string& out, const char* format, ...) {
    char buf[256];
    std::va_list ap;
    va_start(ap, format);
    std::va_list again;
    va_copy(again, ap);
    int n = std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    if (n < 0) {
        va_end(again);
        return;
    }
    if (static_cast<std::size_t>(n) < sizeof buf) {
        out.append(buf, static_cast<std::size_t>(n));
    } else {
        std::size_t at = out.size();
        out.resize(at + static_cast<std::size_t>(n) + 1);
        std::vsnprintf(out.data() + at, static_cast<std::size_t>(n) + 1, format, again);
        out.resize(at + static_cast<std::size_t>(n));
    }
    va_end(again);
}

std::string& Printer::scratch() {
    std::string& s = scratch_[next_scratch_ % scratch_.size()];
    ++next_scratch_;
    s.clear();
    return s;
}

const char* Printer::softirq_name(std::uint32_t vec) {
    if (vec < kSoftirqNames.size())
        return kSoftirqNames[vec];
    std::string& s = scratch();
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", vec);
    return s.assign(buf).c_str();
}

const char* Printer::task_state(std::int32_t state) {
    // trace_print_flags_seq(): the names of the set bits in table order, joined by
    // the delimiter, then any bits left over as "0x%lx".
    std::int32_t flags = state & (TASK_REPORT_MAX - 1);
    if (!flags)
        return "R";
    std::string& s = scratch();
    for (const StateFlag& f : kTaskStates) {
        if ((flags & f.mask) != f.mask)
            continue;
        if (!s.empty())
            s += '|';
        s += f.name;
        flags &= ~f.mask;
    }
    if (flags) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "0x%x", static_cast<unsigned>(flags));
        if (!s.empty())
            s += '|';
        s += buf;
    }
    return s.c_str();
}

const char* Printer::cpumask(std::uint32_t mask) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", mask);
    return scratch().assign(buf).c_str();
}

const char* Printer::ipi_reason(std::uint32_t reason) {
    if (reason < kIpiTypes.size())
        return kIpiTypes[reason];
    char buf[16];
    std::snprintf(buf, sizeof buf, "IPI%u", reason);
    return scratch().assign(buf).c_str();
}

const char* Printer::vector_name(std::uint32_t vector) {
    if (vector < kVectors.size())
        return kVectors[vector];
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", vector * 4);
    return scratch().assign(buf).c_str();
}

const char* Printer::mode_name(std::uint32_t cpsr) {
    for (const Mode& m : kModes)
        if (m.bits == (cpsr & 0x1f))
            return m.name;
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%02x", cpsr & 0x1f);
    return scratch().assign(buf).c_str();
}

const char* Printer::char_repr(std::uint32_t ch) {
    std::string& s = scratch();
    switch (ch) {
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\\':
        return "\\\\";
    default:
        break;
    }
    if (ch > 0x20 && ch < 0x7f) {
        s += static_cast<char>(ch);
        return s.c_str();
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\x%02x", ch & 0xff);
    return s.assign(buf).c_str();
}

} // namespace piemu::trace
