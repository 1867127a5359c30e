// The ARM generic timer of one core (ARM ARM DDI 0406C, chapter B8): the system
// counter, the physical (CNTP), virtual (CNTV) and Hyp (CNTHP) timers, and the
// access rules of their cp15 c14 registers.
//
// Unicorn's own generic timer follows host time and drops writes to CTL/CVAL
// (unicorn-facts.md), so ArmCore intercepts every c14 access and calls access()
// here. The counter counts at the board's crystal frequency from the virtual clock,
// so every value is deterministic.
//
// Outputs, numbered as the BCM2836 local controller's timer inputs: CNTPS (secure
// physical: never asserted, piemu has no Secure state), CNTPNS (CNTP_*), CNTHP, CNTV.
// (The DT `timer` node lists them in the binding's order: secure, non-secure,
// virtual, hypervisor; the board builder maps that order onto these indices.)
// Not modelled: event streams (CNTKCTL.EVNTEN), the memory-mapped counter module.
#pragma once

#include <array>
#include <cstdint>

#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

/// One c14 access as decoded from MRC/MCR (is64 = false) or MRRC/MCRR (is64 = true).
struct CpAccess {
    bool is64 = false;
    bool read = false;
    unsigned opc1 = 0, crn = 14, crm = 0, opc2 = 0;
    unsigned rt = 0, rt2 = 0;
};

class GenericTimer {
public:
    enum Output : unsigned { kCntps = 0, kCntpns = 1, kCnthp = 2, kCntv = 3 };
    enum class Result { Ok, Undefined };

    GenericTimer(unsigned core, VirtualClock& clock, uint64_t counter_hz);

    /// Performs a c14 access from `mode` (CPSR.M). For reads the value is returned
    /// in `value` (64-bit registers whole, 32-bit ones in the low half).
    Result access(const CpAccess& a, uint32_t mode, uint64_t& value);

    uint64_t physical_count() const { return clock_.ticks_at(counter_hz_); }
    uint64_t virtual_count() const { return physical_count() - cntvoff_; }
    IrqLine& output(Output o) { return lines_[o]; }
    std::array<IrqLine*, 4> outputs() { return {&lines_[0], &lines_[1], &lines_[2], &lines_[3]}; }
    /// Documented reset values: CNTFRQ = the counter rate (as the Pi firmware sets
    /// it), timers disabled, CVALs 0, CNTVOFF 0, CNTKCTL 0, CNTHCTL 3 (PL1 access).
    void reset();

private:
    struct Timer {
        uint32_t ctl = 0; // ENABLE bit 0, IMASK bit 1 (ISTATUS bit 2 is computed)
        uint64_t cval = 0;
        TimerEvent* event = nullptr;
    };
    enum Which { kPhys, kVirt, kHyp };
    uint64_t count(Which w) const { return w == kVirt ? virtual_count() : physical_count(); }
    bool istatus(Which w) const { return (t_[w].ctl & 1) && count(w) >= t_[w].cval; }
    void reprogram(Which w);
    void update();

    VirtualClock& clock_;
    uint64_t counter_hz_;
    uint32_t cntfrq_ = 0;
    uint32_t cntkctl_ = 0;
    uint32_t cnthctl_ = 3;
    uint64_t cntvoff_ = 0;
    std::array<Timer, 3> t_{};
    TimerEvent phys_event_, virt_event_, hyp_event_;
    std::array<IrqLine, 4> lines_{};
};

} // namespace piemu
