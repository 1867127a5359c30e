// Printer: the TP_printk side of the event table. One print function per event is
// generated from src/trace/events.def; its format string and arguments are the
// table's, checked by GCC's printf format checking, and the helpers the arguments
// call (str, softirq_name, task_state, ...) are members, so the table reads like
// the kernel's TP_printk lines.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "piemu/trace.hpp"

namespace piemu::trace {

class Printer {
public:
    explicit Printer(const StringTable& strings) : strings_(strings) {}

    /// Appends the fields of a record of event `id` (its ev:: struct at `payload`)
    /// as the event's TP_printk prints them.
    void print(EventId id, const void* payload, std::string& out);

    // ---- helpers of the table's arguments; each returns text valid until the next
    // print() call.

    /// An interned string.
    const char* str(StrId id) const { return strings_.c_str(id); }
    /// show_softirq_name(): HI TIMER NET_TX NET_RX BLOCK IRQ_POLL TASKLET SCHED
    /// HRTIMER RCU, else __print_symbolic's "0x%lx".
    const char* softirq_name(std::uint32_t vec);
    /// sched_switch's prev_state: __print_flags(state & (TASK_REPORT_MAX - 1), "|",
    /// S D T t X Z P I) or "R" when no bit is set.
    const char* task_state(std::int32_t state);
    /// __get_bitmask() of a cpumask on 32-bit ARM: one long, "%08x".
    const char* cpumask(std::uint32_t mask);
    /// arch/arm/kernel/smp.c ipi_types[reason], else "IPI%u".
    const char* ipi_reason(std::uint32_t reason);
    /// The vector (offset / 4): reset undef svc pabt dabt hyp irq fiq.
    const char* vector_name(std::uint32_t vector);
    /// The mode in CPSR bits [4:0]: usr fiq irq svc mon abt hyp und sys, else "0x%02x".
    const char* mode_name(std::uint32_t cpsr);
    /// A character: printable ASCII as itself, \n \r \t \\ and \xNN otherwise.
    const char* char_repr(std::uint32_t ch);

private:
#define FIELD(type, name)
#define PIEMU_TRACE_EVENT(subsystem, name, fields, format, ...)                                    \
    void print_##name(const ev::name& e, std::string& out) {                                       \
        emit(out, format, __VA_ARGS__);                                                            \
    }
#include "trace/events.def"
#undef PIEMU_TRACE_EVENT
#undef FIELD

    void emit(std::string& out, const char* format, ...) __attribute__((format(printf, 3, 4)));
    /// A scratch string for a helper's result (cycled; reset by print()).
    std::string& scratch();

    const StringTable& strings_;
    std::array<std::string, 8> scratch_;
    std::size_t next_scratch_ = 0;
};

} // namespace piemu::trace
