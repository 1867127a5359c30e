#include "cpu/generic_timer.hpp"

#include <fmt/format.h>

namespace piemu {

namespace {
// CPSR.M values. (Not kHyp: in the member functions that name is the Which
// enumerator, 2, which no mode equals: Hyp's registers were undefined from Hyp.)
constexpr uint32_t kModeUsr = 0x10, kModeHyp = 0x1a;
constexpr uint32_t kCtlEnable = 1, kCtlImask = 2, kCtlIstatus = 4;
// CNTKCTL bits (B4.1.26): PL0 access to the counters and timers.
constexpr uint32_t kPl0pcten = 1u << 0, kPl0vcten = 1u << 1, kPl0vten = 1u << 8, kPl0pten = 1u << 9;
} // namespace

GenericTimer::GenericTimer(unsigned core, VirtualClock& clock, uint64_t counter_hz)
    : clock_(clock), counter_hz_(counter_hz),
      phys_event_(clock, fmt::format("cpu{}.cntp", core), [this] { update(); }),
      virt_event_(clock, fmt::format("cpu{}.cntv", core), [this] { update(); }),
      hyp_event_(clock, fmt::format("cpu{}.cnthp", core), [this] { update(); }) {
    t_[kPhys].event = &phys_event_;
    t_[kVirt].event = &virt_event_;
    t_[kHyp].event = &hyp_event_;
    reset();
}

void GenericTimer::reset() {
    cntfrq_ = uint32_t(counter_hz_);
    cntkctl_ = 0;
    cnthctl_ = 3; // PL1PCTEN, PL1PCEN: PL1 may use the physical counter and timer
    cntvoff_ = 0;
    for (Timer& t : t_) {
        t.ctl = 0;
        t.cval = 0;
        t.event->cancel();
    }
    update();
}

void GenericTimer::reprogram(Which w) {
    Timer& t = t_[w];
    t.event->cancel();
    if ((t.ctl & kCtlEnable) && count(w) < t.cval) {
        // The first cycle at which the counter reaches CVAL (virtual: CVAL + CNTVOFF).
        uint64_t target = w == kVirt ? t.cval + cntvoff_ : t.cval;
        if (w != kVirt || target >= t.cval) // no wrap of the 64-bit sum
            t.event->arm_at(clock_.ticks_to_cycles(target, counter_hz_));
    }
    update();
}

void GenericTimer::update() {
    auto level = [&](Which w) { return istatus(w) && !(t_[w].ctl & kCtlImask); };
    lines_[kCntps].set(false);
    lines_[kCntpns].set(level(kPhys));
    lines_[kCnthp].set(level(kHyp));
    lines_[kCntv].set(level(kVirt));
}

GenericTimer::Result GenericTimer::access(const CpAccess& a, uint32_t mode, uint64_t& value) {
    const bool usr = mode == kModeUsr, hyp = mode == kModeHyp;
    auto ctl_value = [&](Which w) { return uint64_t(t_[w].ctl | (istatus(w) ? kCtlIstatus : 0)); };
    auto tval = [&](Which w) { return uint64_t(uint32_t(t_[w].cval - count(w))); };
    auto set_tval = [&](Which w, uint64_t v) {
        // TVAL is a signed 32-bit view of CVAL - count (B8.1.5).
        t_[w].cval = count(w) + uint64_t(int64_t(int32_t(uint32_t(v))));
        reprogram(w);
    };
    auto set_ctl = [&](Which w, uint64_t v) {
        t_[w].ctl = uint32_t(v) & (kCtlEnable | kCtlImask);
        reprogram(w);
    };

    if (a.is64) {
        switch (a.opc1) {
        case 0: // CNTPCT
            if (!a.read || (usr && !(cntkctl_ & kPl0pcten)))
                return Result::Undefined;
            value = physical_count();
            return Result::Ok;
        case 1: // CNTVCT
            if (!a.read || (usr && !(cntkctl_ & kPl0vcten)))
                return Result::Undefined;
            value = virtual_count();
            return Result::Ok;
        case 2: // CNTP_CVAL
        case 3: // CNTV_CVAL
        {
            Which w = a.opc1 == 2 ? kPhys : kVirt;
            if (usr && !(cntkctl_ & (w == kPhys ? kPl0pten : kPl0vten)))
                return Result::Undefined;
            if (a.read) {
                value = t_[w].cval;
            } else {
                t_[w].cval = value;
                reprogram(w);
            }
            return Result::Ok;
        }
        case 4: // CNTVOFF: Hyp only
            if (!hyp)
                return Result::Undefined;
            if (a.read) {
                value = cntvoff_;
            } else {
                cntvoff_ = value;
                reprogram(kVirt);
            }
            return Result::Ok;
        case 6: // CNTHP_CVAL
            if (!hyp)
                return Result::Undefined;
            if (a.read) {
                value = t_[kHyp].cval;
            } else {
                t_[kHyp].cval = value;
                reprogram(kHyp);
            }
            return Result::Ok;
        default:
            return Result::Undefined;
        }
    }

    if (a.crn != 14)
        return Result::Undefined;
    if (a.opc1 == 4) { // Hyp registers
        if (!hyp)
            return Result::Undefined;
        if (a.crm == 1 && a.opc2 == 0) { // CNTHCTL
            if (a.read)
                value = cnthctl_;
            else
                cnthctl_ = uint32_t(value) & 0xff;
            return Result::Ok;
        }
        if (a.crm == 2 && a.opc2 <= 1) {
            if (a.opc2 == 0)
                a.read ? void(value = tval(kHyp)) : set_tval(kHyp, value);
            else
                a.read ? void(value = ctl_value(kHyp)) : set_ctl(kHyp, value);
            return Result::Ok;
        }
        return Result::Undefined;
    }
    if (a.opc1 != 0)
        return Result::Undefined;
    switch ((a.crm << 4) | a.opc2) {
    case 0x00: // CNTFRQ: writable only at the highest privilege (no EL3, so Hyp)
        if (usr && !(cntkctl_ & (kPl0pcten | kPl0vcten)))
            return Result::Undefined;
        if (a.read) {
            value = cntfrq_;
            return Result::Ok;
        }
        if (!hyp)
            return Result::Undefined;
        cntfrq_ = uint32_t(value);
        return Result::Ok;
    case 0x10: // CNTKCTL
        if (usr)
            return Result::Undefined;
        if (a.read)
            value = cntkctl_;
        else
            cntkctl_ = uint32_t(value) & 0x3ff;
        return Result::Ok;
    case 0x20: // CNTP_TVAL
    case 0x21: // CNTP_CTL
    case 0x30: // CNTV_TVAL
    case 0x31: // CNTV_CTL
    {
        Which w = a.crm == 2 ? kPhys : kVirt;
        if (usr && !(cntkctl_ & (w == kPhys ? kPl0pten : kPl0vten)))
            return Result::Undefined;
        if (a.opc2 == 0)
            a.read ? void(value = tval(w)) : set_tval(w, value);
        else
            a.read ? void(value = ctl_value(w)) : set_ctl(w, value);
        return Result::Ok;
    }
    default:
        return Result::Undefined;
    }
}

} // namespace piemu
