// BCM2835 power management watchdog. See bcm2835_pm_wdt.hpp for the sources and what
// is not modelled.
//
// Modelling choices, with their evidence:
//
//  - Password: a write takes effect only if bits 31:24 are 0x5a, on every register
//    (QEMU checks every write; Linux's bcm2835-power.c PM_WRITE() and bcm2835_wdt.c
//    add PM_PASSWORD to every write). Other writes are ignored and logged as guest
//    errors. The stored value is bits 23:0 (QEMU keeps value & ~0xff000000), so reads
//    never return the password: Linux's read-modify-write of RSTS and RSTC ORs it in
//    again.
//  - Only 32-bit writes: the password lives in the top byte, so a byte or halfword
//    write cannot carry it together with the value; narrow writes are ignored and
//    logged. Narrow reads return their lanes.
//  - The countdown runs at 65536 Hz: SECS_TO_WDOG_TICKS(x) = x << 16 and "10 ticks
//    (~150us)" in bcm2835_wdt.c. A load is 20 bits (PM_WDOG_TIME_SET 0x000fffff: at
//    most 16 s less one tick); bits 23:20 are dropped.
//  - It runs while RSTC bit 5 is set, which is exactly Linux's bcm2835_wdt_is_running()
//    (cur & PM_RSTC_WRCFG_FULL_RESET). So:
//      * a PM_WDOG write while running restarts the countdown from the new load (Linux's
//        keepalive ping is its start(): a WDOG write, then an RSTC write);
//      * an RSTC write that keeps bit 5 set does not restart it, one that sets it starts
//        the countdown from the held load, and one that clears it (Linux's stop(),
//        PM_RSTC_RESET 0x102) cancels the expiry and holds the ticks left;
//      * so both orders seen in guests, WDOG then RSTC (Linux) or RSTC then WDOG
//        (common bare-metal reboot code), expire one load after the later write.
//    Nothing documents whether a stopped count still runs down; holding it is the
//    choice that keeps PM_WDOG meaningful to a guest that stops and restarts.
//  - Expiry: the count is checked once per tick, the first tick one period after the
//    start, so a load of N ticks expires ticks_to_cycles(max(N, 1)) cycles after the
//    start. The max(N, 1) only matters to guests that arm before loading: the reset
//    value of PM_WDOG is 0, and such a guest gets one tick (~15 us) to load it.
//  - On expiry the count is 0 and stops (RSTC keeps its value); the handler is called
//    once with PowerOff when the RSTS partition is 63, Reset otherwise. The partition
//    is decoded from bits 0, 2, 4, 6, 8, 10 as the driver's comment defines it, so the
//    odd reset-cause bits do not matter: RSTS 0x1575 (HADPOR and HADWRF set,
//    partition 63) is a power off. QEMU instead compares (RSTS & 0xfff) == 0x555.
//  - QEMU's bcm2835_powermgt.c (qemu/qemu 12d1a768) resets at once on an RSTC write
//    with bit 5 set, with no countdown. Linux's restart loads 10 ticks (152.6 us) and
//    then spins in mdelay(1), so under both it never returns from the restart path.
#include "devices/bcm2835_pm_wdt.hpp"

#include <algorithm>

namespace piemu {

namespace {

using Reg = Bcm2835PmWdt::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

constexpr uint32_t kPasswordMask = 0xff000000;
constexpr uint32_t kValueMask = 0x00ffffff;      // what a register stores
constexpr uint32_t kWdogTimeMask = 0x000fffff;   // PM_WDOG_TIME_SET
constexpr uint32_t kRstcWrcfgMask = 0x00000030;  // PM_RSTC_WRCFG_SET
constexpr uint32_t kRstcWrcfgFull = 0x00000020;  // PM_RSTC_WRCFG_FULL_RESET
constexpr uint32_t kRstcWrcfgQuick = 0x00000010; // WRCFG 1, by the RSTS HADWRQ naming
constexpr unsigned kHaltPartition = 63;          // PM_RSTS_RASPBERRYPI_HALT 0x555

// Reset values (QEMU bcm2835_powermgt_reset, after elinux.org/BCM2835_registers#PM).
constexpr uint32_t kRstcReset = 0x00000102; // = PM_RSTC_RESET: WRCFG 0, stopped
constexpr uint32_t kRstsReset = 0x00001000; // PM_RSTS_HADPOR_SET: had power-on reset

} // namespace

Bcm2835PmWdt::Bcm2835PmWdt(std::string name, VirtualClock& clock)
    : Device(std::move(name)), clock_(clock),
      expiry_(clock, this->name() + ".expiry", [this] { expire(); }) {
    Bcm2835PmWdt::reset();
}

void Bcm2835PmWdt::reset() {
    expiry_.cancel();
    gnric_ = 0;
    audio_ = 0;
    status_ = 0;
    rstc_ = kRstcReset;
    rsts_ = kRstsReset;
    wdog_ = 0;
    counting_ = false;
    start_cycle_ = 0;
    // NOTE: no update(): the device has no output lines; the only derived state, the
    // pending expiry, is cancelled above.
}

uint32_t Bcm2835PmWdt::remaining_ticks() const {
    if (!counting_)
        return wdog_;
    uint64_t elapsed = clock_.cycles_to_ticks(clock_.now() - start_cycle_, kTickHz);
    return elapsed >= wdog_ ? 0 : wdog_ - static_cast<uint32_t>(elapsed);
}

unsigned Bcm2835PmWdt::reset_partition() const {
    unsigned p = 0;
    for (unsigned bit = 0; bit < 6; ++bit)
        p |= ((rsts_ >> (2 * bit)) & 1u) << bit;
    return p;
}

// ---- MMIO ----

uint32_t Bcm2835PmWdt::read(uint32_t offset, unsigned size) {
    if ((size != 1 && size != 2 && size != 4) || offset % size != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "misaligned or odd-sized read");
        return 0;
    }
    uint32_t v = read_reg(offset & ~3u) >> ((offset & 3) * 8);
    return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

void Bcm2835PmWdt::write(uint32_t offset, uint32_t value, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "write not a 32-bit word with the password: ignored");
        return;
    }
    write_reg(offset, value);
}

uint32_t Bcm2835PmWdt::read_reg(uint32_t offset) const {
    switch (static_cast<Reg>(offset)) {
    case Reg::Gnric:
        log_unimplemented(*this, offset, "power domains (PM_GNRIC stored only)");
        return gnric_;
    case Reg::Audio:
        log_unimplemented(*this, offset, "power domains (PM_AUDIO stored only)");
        return audio_;
    case Reg::Status:
        log_unimplemented(*this, offset, "power domains (PM_STATUS stored only)");
        return status_;
    case Reg::Rstc:
        return rstc_;
    case Reg::Rsts:
        return rsts_;
    case Reg::Wdog:
        return remaining_ticks();
    default:
        log_guest_error(*this, offset, "read of unknown register");
        return 0;
    }
}

void Bcm2835PmWdt::write_reg(uint32_t offset, uint32_t value) {
    if ((value & kPasswordMask) != kPassword) {
        log_guest_error(*this, offset, "write without the 0x5a password ignored");
        return;
    }
    value &= kValueMask;
    switch (static_cast<Reg>(offset)) {
    case Reg::Gnric:
        log_unimplemented(*this, offset, "power domains (PM_GNRIC stored only)");
        gnric_ = value;
        break;
    case Reg::Audio:
        log_unimplemented(*this, offset, "power domains (PM_AUDIO stored only)");
        audio_ = value;
        break;
    case Reg::Status:
        log_unimplemented(*this, offset, "power domains (PM_STATUS stored only)");
        status_ = value;
        break;
    case Reg::Rstc:
        write_rstc(value);
        break;
    case Reg::Rsts:
        rsts_ = value;
        break;
    case Reg::Wdog:
        write_wdog(value & kWdogTimeMask);
        break;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        break;
    }
}

void Bcm2835PmWdt::write_rstc(uint32_t value) {
    bool was_armed = armed();
    rstc_ = value;
    uint32_t wrcfg = rstc_ & kRstcWrcfgMask;
    if (wrcfg == kRstcWrcfgMask || wrcfg == kRstcWrcfgQuick)
        log_unimplemented(*this, off(Reg::Rstc),
                          "watchdog quick/hard reset config (hard = full, quick = off)");
    if (armed() && !was_armed)
        start();
    else if (!armed() && was_armed)
        stop();
}

void Bcm2835PmWdt::write_wdog(uint32_t ticks) {
    wdog_ = ticks;
    if (armed())
        start(); // a stopped watchdog just holds the new load
}

// ---- countdown ----

bool Bcm2835PmWdt::armed() const {
    return (rstc_ & kRstcWrcfgFull) != 0;
}

// Runs the countdown from wdog_ ticks, now.
void Bcm2835PmWdt::start() {
    counting_ = true;
    start_cycle_ = clock_.now();
    uint64_t ticks = std::max<uint64_t>(wdog_, 1);
    expiry_.arm_at(start_cycle_ + clock_.ticks_to_cycles(ticks, kTickHz));
}

// Holds the ticks left and cancels the expiry.
void Bcm2835PmWdt::stop() {
    wdog_ = remaining_ticks();
    counting_ = false;
    expiry_.cancel();
}

void Bcm2835PmWdt::expire() {
    wdog_ = 0;
    counting_ = false;
    ResetKind kind = reset_partition() == kHaltPartition ? ResetKind::PowerOff : ResetKind::Reset;
    if (handler_)
        handler_(kind); // last: the handler may reset this device
}

} // namespace piemu
