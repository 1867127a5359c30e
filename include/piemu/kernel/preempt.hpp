// preempt_count: the per-CPU counter that says which context a CPU is in, with the
// layout of Linux 4.14 (include/linux/preempt.h) and the predicates of
// include/linux/preempt.h / hardirq.h.
//
//         PREEMPT_MASK:  0x000000ff   preempt_disable() depth
//         SOFTIRQ_MASK:  0x0000ff00   bit 8: serving a softirq, bits 9-15: bh disabled
//         HARDIRQ_MASK:  0x000f0000   hard interrupt nesting (irq_enter/irq_exit)
//             NMI_MASK:  0x00100000
// PREEMPT_NEED_RESCHED:  0x80000000   (not used on ARM: TIF_NEED_RESCHED is a flag)
//
// Inside a hard interrupt handler the count is 0x00010000, as the reference's
// "in_interrupt: 0x00010000" line from bcm2835_sdhost_irq shows.
//
// The live value sits behind one accessor interface (PreemptCountStore) so that the
// kernel model can keep it in host memory now and, later, in the guest-visible
// thread_info (sp & ~0x1fff, offset 4) without changing any caller.
#pragma once

#include <cstdint>
#include <vector>

namespace piemu::kernel {

inline constexpr std::uint32_t PREEMPT_BITS = 8;
inline constexpr std::uint32_t SOFTIRQ_BITS = 8;
inline constexpr std::uint32_t HARDIRQ_BITS = 4;
inline constexpr std::uint32_t NMI_BITS = 1;

inline constexpr std::uint32_t PREEMPT_SHIFT = 0;
inline constexpr std::uint32_t SOFTIRQ_SHIFT = PREEMPT_SHIFT + PREEMPT_BITS; // 8
inline constexpr std::uint32_t HARDIRQ_SHIFT = SOFTIRQ_SHIFT + SOFTIRQ_BITS; // 16
inline constexpr std::uint32_t NMI_SHIFT = HARDIRQ_SHIFT + HARDIRQ_BITS;     // 20

inline constexpr std::uint32_t PREEMPT_MASK = ((1u << PREEMPT_BITS) - 1) << PREEMPT_SHIFT;
inline constexpr std::uint32_t SOFTIRQ_MASK = ((1u << SOFTIRQ_BITS) - 1) << SOFTIRQ_SHIFT;
inline constexpr std::uint32_t HARDIRQ_MASK = ((1u << HARDIRQ_BITS) - 1) << HARDIRQ_SHIFT;
inline constexpr std::uint32_t NMI_MASK = ((1u << NMI_BITS) - 1) << NMI_SHIFT;

inline constexpr std::uint32_t PREEMPT_OFFSET = 1u << PREEMPT_SHIFT;
inline constexpr std::uint32_t SOFTIRQ_OFFSET = 1u << SOFTIRQ_SHIFT;
inline constexpr std::uint32_t HARDIRQ_OFFSET = 1u << HARDIRQ_SHIFT;
inline constexpr std::uint32_t NMI_OFFSET = 1u << NMI_SHIFT;
/// local_bh_disable() adds this, so that SOFTIRQ_OFFSET alone means "serving".
inline constexpr std::uint32_t SOFTIRQ_DISABLE_OFFSET = 2 * SOFTIRQ_OFFSET;
inline constexpr std::uint32_t PREEMPT_NEED_RESCHED = 0x80000000u;

static_assert(PREEMPT_MASK == 0x000000ff && SOFTIRQ_MASK == 0x0000ff00);
static_assert(HARDIRQ_MASK == 0x000f0000 && NMI_MASK == 0x00100000);
static_assert(HARDIRQ_OFFSET == 0x00010000 && SOFTIRQ_OFFSET == 0x00000100);

// The kernel's predicates, on a preempt_count value.
constexpr std::uint32_t hardirq_count(std::uint32_t pc) {
    return pc & HARDIRQ_MASK;
}
constexpr std::uint32_t softirq_count(std::uint32_t pc) {
    return pc & SOFTIRQ_MASK;
}
constexpr std::uint32_t irq_count(std::uint32_t pc) {
    return pc & (HARDIRQ_MASK | SOFTIRQ_MASK | NMI_MASK);
}
/// in_irq(): in hard interrupt context.
constexpr bool in_irq(std::uint32_t pc) {
    return hardirq_count(pc) != 0;
}
/// in_softirq(): serving a softirq or with bottom halves disabled.
constexpr bool in_softirq(std::uint32_t pc) {
    return softirq_count(pc) != 0;
}
/// in_serving_softirq(): running a softirq handler.
constexpr bool in_serving_softirq(std::uint32_t pc) {
    return (softirq_count(pc) & SOFTIRQ_OFFSET) != 0;
}
/// in_interrupt(): hard irq, softirq (serving or bh-disabled) or NMI.
constexpr bool in_interrupt(std::uint32_t pc) {
    return irq_count(pc) != 0;
}
constexpr bool in_nmi(std::uint32_t pc) {
    return (pc & NMI_MASK) != 0;
}
/// in_task(): process context (bh-disabled process context counts as a task).
constexpr bool in_task(std::uint32_t pc) {
    return (pc & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)) == 0;
}
/// in_atomic() of 4.14 (CONFIG_PREEMPT_COUNT): any count at all.
constexpr bool in_atomic(std::uint32_t pc) {
    return pc != 0;
}

/// Where each CPU's preempt_count lives. The one accessor every kernel-model layer
/// uses; a later implementation reads and writes the guest's thread_info.
class PreemptCountStore {
public:
    virtual ~PreemptCountStore() = default;
    virtual std::uint32_t get(unsigned cpu) const = 0;
    virtual void set(unsigned cpu, std::uint32_t value) = 0;

    /// preempt_count_add(): the kernel's non-atomic read-modify-write.
    void add(unsigned cpu, std::uint32_t val) { set(cpu, get(cpu) + val); }
    /// preempt_count_sub().
    void sub(unsigned cpu, std::uint32_t val) { set(cpu, get(cpu) - val); }
};

/// preempt_count kept in host memory, one word per CPU, all zero at reset.
class HostPreemptCounts final : public PreemptCountStore {
public:
    explicit HostPreemptCounts(unsigned nr_cpus);
    std::uint32_t get(unsigned cpu) const override;
    void set(unsigned cpu, std::uint32_t value) override;

private:
    std::vector<std::uint32_t> counts_;
};

} // namespace piemu::kernel
