// BCM2835 power management block and watchdog, DT compatible "brcm,bcm2835-pm-wdt": at
// 0x3f100000 (bus address 0x7e100000) on the Pi 2 and 3; Linux 4.14's bcm283x.dtsi gives
// it `reg = <0x7e100000 0x28>`, which is the window modelled here.
//
// Broadcom publishes no datasheet for this block (BCM2835 ARM Peripherals leaves it
// out; Stephen Warren's restart commit for Linux says "the watchdog module is not
// documented"). The facts used come from:
//  - Linux v4.14 drivers/watchdog/bcm2835_wdt.c: PM_RSTC 0x1c, PM_RSTS 0x20, PM_WDOG
//    0x24, the password 0x5a in bits 31:24 of every write, PM_WDOG_TIME_SET 0x000fffff,
//    SECS_TO_WDOG_TICKS(x) = x << 16 (a 65536 Hz countdown: "10 ticks (~150us)"),
//    PM_RSTC_WRCFG_FULL_RESET 0x20 (its test of "running"), PM_RSTC_RESET 0x102 (stop),
//    and the boot partition spread over RSTS bits 0, 2, 4, 6, 8, 10, where partition 63
//    (PM_RSTS_RASPBERRYPI_HALT 0x555) tells the firmware to halt rather than reboot;
//  - Linux drivers/soc/bcm/bcm2835-power.c: PM_GNRIC 0x00, PM_AUDIO 0x04, PM_STATUS
//    0x18, and PM_WRITE(), which puts the password on every PM register write;
//  - QEMU hw/misc/bcm2835_powermgt.c: the reset values (from elinux.org's BCM2835
//    register list) and the password check on every write.
//
// What the model does: a PM_WDOG write loads the countdown; while PM_RSTC has the
// full-reset configuration the count runs down at 65536 Hz of virtual time, and when
// it expires (a TimerEvent at the exact cycle) the host's reset handler is called with
// ResetKind::PowerOff if the RSTS partition is 63, ResetKind::Reset otherwise. Reading
// PM_WDOG gives the ticks left. See bcm2835_pm_wdt.cpp for each choice's evidence.
//
// Not modelled:
//  - the power domains, the reset lines and the pads: PM_GNRIC, PM_AUDIO and PM_STATUS
//    store what is written and read it back (logged as unimplemented); the image and
//    pad registers beyond 0x28 are outside the window;
//  - what the reset itself does to other blocks: that is the handler's business;
//  - the RSTS reset-cause bits (HADPOR, HADWRF, ...) are not updated by an expiry: they
//    read as written, 0x1000 (HADPOR) after reset();
//  - quick and hard reset configurations (RSTC WRCFG 1 and 3): WRCFG 3 is treated as a
//    full reset, WRCFG 1 does not arm the watchdog; both are logged as unimplemented.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

/// What an expired watchdog asks of the machine.
enum class ResetKind {
    Reset,    ///< reboot: the guest's restart path
    PowerOff, ///< halt: RSTS carried partition 63, which the Pi firmware does not boot
};

class Bcm2835PmWdt final : public Device {
public:
    /// Register offsets. Every write must carry kPassword in bits 31:24; stored values
    /// keep bits 23:0 and read back without the password.
    enum class Reg : uint32_t {
        Gnric = 0x00,  ///< RW 24: power domain control (stored only)
        Audio = 0x04,  ///< RW 24: audio power domain (stored only)
        Status = 0x18, ///< RW 24: power status (stored only)
        Rstc = 0x1c,   ///< RW 24: reset control; WRCFG [5:4], 2 = full reset on expiry
        Rsts = 0x20,   ///< RW 24: reset status; boot partition in bits 0,2,4,6,8,10
        Wdog = 0x24,   ///< RW 20: write loads the countdown (1/65536 s ticks); read = ticks left
    };
    static constexpr uint32_t kMmioSize = 0x28;
    static constexpr uint32_t kPassword = 0x5a000000;
    /// The countdown's rate: SECS_TO_WDOG_TICKS(x) = x << 16.
    static constexpr uint64_t kTickHz = 65536;

    Bcm2835PmWdt(std::string name, VirtualClock& clock);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Power-on values (QEMU's, from elinux.org): RSTC 0x102 (watchdog stopped), RSTS
    /// 0x1000 (HADPOR, partition 0), WDOG 0, GNRIC/AUDIO/STATUS 0. No expiry pending.
    /// The reset handler is host wiring and survives. Safe to call from the handler.
    void reset() override;

    // NOTE: irq_outputs() stays the Device default, empty: the DT node has no
    // `interrupts`, and an expiry reaches the host through the reset handler.

    /// Called once per expiry, from the clock's run_due(), with the kind of reset the
    /// guest asked for. The handler may reset this device (or the whole machine).
    void set_reset_handler(std::function<void(ResetKind)> handler) {
        handler_ = std::move(handler);
    }

    /// True while the countdown runs towards a reset.
    bool running() const { return counting_; }
    /// Ticks left before expiry, as PM_WDOG reads.
    uint32_t remaining_ticks() const;
    /// The boot partition encoded in RSTS bits 0, 2, 4, 6, 8, 10 (0-63).
    unsigned reset_partition() const;

private:
    uint32_t read_reg(uint32_t offset) const;
    void write_reg(uint32_t offset, uint32_t value);
    void write_rstc(uint32_t value);
    void write_wdog(uint32_t ticks);

    bool armed() const;
    void start();
    void stop();
    void expire();

    VirtualClock& clock_;
    std::function<void(ResetKind)> handler_;
    TimerEvent expiry_;

    // Registers.
    uint32_t gnric_ = 0;
    uint32_t audio_ = 0;
    uint32_t status_ = 0;
    uint32_t rstc_ = 0;
    uint32_t rsts_ = 0;
    // The countdown: while counting_, wdog_ ticks were loaded at start_cycle_; while
    // stopped, wdog_ is the count held (what PM_WDOG reads).
    uint32_t wdog_ = 0;
    bool counting_ = false;
    uint64_t start_cycle_ = 0;
};

} // namespace piemu
