// BCM2835 clock manager ("CPRMAN"), DT compatible "brcm,bcm2835-cprman": at 0x3f101000
// (bus address 0x7e101000) on the Pi 2 and 3, a 0x2000-byte window. The CM registers
// (0x000-0x1ff: a CTL/DIV pair per clock generator, CM_PLLx, CM_LOCK) and the A2W
// registers (0x1000-0x1fff: each PLL's ANA, CTRL and FRAC, and each PLL channel's
// divider) that Linux's drivers/clk/bcm/clk-bcm2835.c programs.
//
// Broadcom documents only the general-purpose clocks (BCM2835 ARM Peripherals 6.3).
// The facts used come from:
//  - Linux v6.1 drivers/clk/bcm/clk-bcm2835.c: the register offsets, the password
//    0x5a in bits 31:24 of every write (CM_PASSWORD), CM_CTL's SRC [3:0], ENABLE (4),
//    KILL (5), BUSY (7), CM_PLLx's ANARST (8), CM_LOCK's FLOCKA..FLOCKH (8-12),
//    A2W_PLLx_CTRL's NDIV [9:0], PDIV [14:12], PWRDN (16), PRST_DISABLE (17), and the
//    driver's sequences: bcm2835_pll_on() clears PWRDN and ANARST and then polls
//    CM_LOCK for the PLL's FLOCK bit for 100 ms ("couldn't lock PLL" otherwise);
//    bcm2835_clock_off() clears ENABLE and waits for BUSY to clear;
//  - the register values a Raspberry Pi 3 Model B v1.2's firmware leaves, dumped with
//    Linux's clk debugfs and recorded in QEMU's hw/misc/bcm2835_cprman_internals.h
//    (the reset state below, one change noted there).
//
// What the model does: every register stores bits 23:0 of a write that carries the
// password; a CM_*CTL write sets BUSY to ENABLE and not KILL (a clock generator runs
// while enabled and stops at once when disabled); CM_LOCK reads FLOCKx set for each
// PLL that is powered (PWRDN clear), out of reset (ANARST clear) and has its dividers
// (NDIV, PDIV not 0) - a PLL locks at once; PLLB, which the Pi 3 dump leaves at 0 and
// Linux does not drive, reads unlocked. The firmware's state makes the clocks Linux derives from
// it: PLLC 2.4 GHz, PLLD 2 GHz, PLLD_PER 500 MHz, UART 47,999,625 Hz (the real Pi's "48 MHz"), VPU
// (core) 250 MHz, EMMC 200 MHz.
//
// Not modelled: the clocks themselves (no device here takes its rate from these
// registers: each takes it from piemu's board DT, whose fixed clocks give the same
// rates), PLL lock time, the dividers' MASH noise shaping, CM_OSCCOUNT, the DSI0/DSI1
// clock inputs, the BCM2711 registers.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Cprman final : public Device {
public:
    static constexpr uint32_t kMmioSize = 0x2000;
    static constexpr uint32_t kPassword = 0x5a000000;
    /// Offsets used by the model and its tests (clk-bcm2835.c's names).
    static constexpr uint32_t kCmVpuCtl = 0x008, kCmVpuDiv = 0x00c;
    static constexpr uint32_t kCmUartCtl = 0x0f0, kCmUartDiv = 0x0f4;
    static constexpr uint32_t kCmEmmcCtl = 0x1c0, kCmEmmcDiv = 0x1c4;
    static constexpr uint32_t kCmPllA = 0x104, kCmPllC = 0x108, kCmPllD = 0x10c, kCmPllH = 0x110,
                              kCmPllB = 0x170;
    static constexpr uint32_t kCmLock = 0x114;
    static constexpr uint32_t kA2wPllACtrl = 0x1100, kA2wPllCCtrl = 0x1120, kA2wPllDCtrl = 0x1140,
                              kA2wPllHCtrl = 0x1160, kA2wPllBCtrl = 0x11e0;
    static constexpr uint32_t kA2wPllDFrac = 0x1240, kA2wPllDPer = 0x1540;

    explicit Bcm2835Cprman(std::string name);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// The state the Pi firmware leaves (see the header comment).
    void reset() override;

private:
    uint32_t read_reg(uint32_t offset) const;
    void write_reg(uint32_t offset, uint32_t value);
    uint32_t lock_bits() const;

    std::array<uint32_t, kMmioSize / 4> regs_{};
};

} // namespace piemu
