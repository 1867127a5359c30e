// BCM2835 system timer. See bcm2835_systimer.hpp for the source and what is not
// modelled.
//
// Modelling choices, with their evidence:
//
//  - A match is an event, not a level: channel n matches when the counter *becomes*
//    equal to Cn in its low 32 bits, i.e. at the counter increment that makes them
//    equal (BCM2835 ARM Peripherals 12.1: Cn "is compared against the 32 least
//    significant bits of the free running counter ... When the two values match, the
//    system timer peripheral generates a signal"). So:
//      * clearing CS.Mn while CLO still equals Cn does not set it again; the next
//        match is one counter wrap (2^32 us, about 71.6 minutes) later;
//      * writing a Cn that is already behind the counter, or equal to CLO now, matches
//        only after the counter wraps round to it.
//    QEMU (hw/timer/bcm2835_systmr.c) schedules a Cn equal to CLO at once (delay 0).
//    No Linux guest sees the difference: bcm2835_timer.c writes CLO + delta with
//    min_delta 0xf (clockevents_config_and_register(..., 0xf, 0xffffffff)).
//  - CS.Mn is sticky: a match while it is set keeps it set (no count, no overrun
//    flag), and only a 1 written to CS bit n clears it ("Write a one to clear this
//    bit. The corresponding interrupt request line is also cleared"). A Cn write does
//    not clear it: the Linux handler acks through CS (writel(match_mask, control)).
//  - Match line n is CS.Mn as a level, recomputed by update() after every write and
//    match (STYLE.md rule 5).
//  - Exact timing: the counter is floor(cycles * 1 MHz / cpu_hz), so the match for
//    counter value T is at clock.ticks_to_cycles(T, 1 MHz), the first cycle at which
//    the counter reads T. After a match the channel re-arms itself for T + 2^32 from
//    the stored T, not from now(), so a late run_due() never drifts the next match.
//  - Sub-word accesses act on the containing register, as in pl011.cpp: a narrow read
//    returns its lanes; a narrow write merges into the register (into 0 for CS, so
//    only the written 1 bits clear flags). Linux and the usual bare-metal code use
//    32-bit accesses only.
#include "devices/bcm2835_systimer.hpp"

#include <cassert>

namespace piemu {

namespace {

using Reg = Bcm2835Systimer::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

constexpr uint32_t kCsMatchMask = 0xf; // M3..M0
constexpr uint64_t kWrap = uint64_t(1) << 32;

// The compare register of channel n, or -1 when `offset` is not one.
int compare_channel(uint32_t offset) {
    if (offset < off(Reg::C0) || offset > off(Reg::C3))
        return -1;
    return static_cast<int>((offset - off(Reg::C0)) / 4);
}

} // namespace

Bcm2835Systimer::Bcm2835Systimer(std::string name, VirtualClock& clock)
    : Device(std::move(name)),
      clock_(clock), match_timer_{make_match_timer(0), make_match_timer(1), make_match_timer(2),
                                  make_match_timer(3)} {
    Bcm2835Systimer::reset();
}

TimerEvent Bcm2835Systimer::make_match_timer(unsigned channel) {
    return TimerEvent(clock_, name() + ".m" + std::to_string(channel),
                      [this, channel] { match(channel); });
}

void Bcm2835Systimer::reset() {
    cs_ = 0;
    compare_.fill(0);
    for (unsigned n = 0; n < kChannels; ++n)
        arm_compare(n);
    update();
}

std::vector<IrqLine*> Bcm2835Systimer::irq_outputs() {
    return {&irq_[0], &irq_[1], &irq_[2], &irq_[3]};
}

IrqLine& Bcm2835Systimer::irq(unsigned channel) {
    assert(channel < kChannels);
    return irq_[channel];
}

// ---- MMIO ----

uint32_t Bcm2835Systimer::read(uint32_t offset, unsigned size) {
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Systimer::write(uint32_t offset, uint32_t value, unsigned size) {
    write_register_lane(
        *this, offset, value, size, kMmioSize,
        [this](uint32_t aligned) { return merge_base(aligned); },
        [this](uint32_t aligned, uint32_t v) { write_reg(aligned, v); });
}

uint32_t Bcm2835Systimer::read_reg(uint32_t offset) const {
    if (int n = compare_channel(offset); n >= 0)
        return compare_[n];
    switch (static_cast<Reg>(offset)) {
    case Reg::Cs:
        return cs_;
    case Reg::Clo:
        return static_cast<uint32_t>(counter());
    case Reg::Chi:
        return static_cast<uint32_t>(counter() >> 32);
    default:
        log_guest_error(*this, offset, "read of unknown register");
        return 0;
    }
}

void Bcm2835Systimer::write_reg(uint32_t offset, uint32_t value) {
    if (int n = compare_channel(offset); n >= 0) {
        compare_[n] = value;
        arm_compare(static_cast<unsigned>(n));
        update();
        return;
    }
    switch (static_cast<Reg>(offset)) {
    case Reg::Cs:
        cs_ &= ~(value & kCsMatchMask);
        break;
    case Reg::Clo:
    case Reg::Chi:
        log_guest_error(*this, offset, "write to the read-only counter ignored");
        return;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        return;
    }
    update();
}

uint32_t Bcm2835Systimer::merge_base(uint32_t offset) const {
    if (int n = compare_channel(offset); n >= 0)
        return compare_[n];
    return 0; // CS clears only the written 1 bits; the rest ignore writes
}

// Drives each match line from its CS flag. Ends every state change.
void Bcm2835Systimer::update() {
    for (unsigned n = 0; n < kChannels; ++n)
        irq_[n].set((cs_ >> n) & 1);
}

// ---- matches ----

// Schedules channel n for the next counter value, strictly after now, whose low word
// equals Cn: 1 to 2^32 counts ahead.
void Bcm2835Systimer::arm_compare(unsigned channel) {
    uint64_t now = counter();
    uint64_t ahead = static_cast<uint32_t>(compare_[channel] - static_cast<uint32_t>(now));
    if (ahead == 0)
        ahead = kWrap;
    next_match_[channel] = now + ahead;
    match_timer_[channel].arm_at(clock_.ticks_to_cycles(next_match_[channel], kCounterHz));
}

void Bcm2835Systimer::match(unsigned channel) {
    cs_ |= 1u << channel;
    next_match_[channel] += kWrap;
    match_timer_[channel].arm_at(clock_.ticks_to_cycles(next_match_[channel], kCounterHz));
    update();
}

} // namespace piemu
