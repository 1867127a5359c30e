// BCM2835 clock manager. See bcm2835_cprman.hpp for the sources and what is not
// modelled.
#include "devices/bcm2835_cprman.hpp"

namespace piemu {

namespace {

constexpr uint32_t kPasswordMask = 0xff000000;
constexpr uint32_t kValueMask = 0x00ffffff;

// CM_*CTL bits (clk-bcm2835.c).
constexpr uint32_t kCtlEnable = 1u << 4, kCtlKill = 1u << 5, kCtlBusy = 1u << 7;
// CM_PLLx: ANARST; A2W_PLLx_CTRL: PWRDN.
constexpr uint32_t kCmPllAnarst = 1u << 8;
constexpr uint32_t kA2wPllPwrdn = 1u << 16, kA2wPllNdiv = 0x3ff, kA2wPllPdiv = 0x7000;

/// A clock generator's control register (its DIV follows at +4): the pairs from
/// CM_GNRICCTL (0x000) to CM_VECCTL (0x0f8), then the DSI1 and DFT pairs, PULSE, SDC,
/// ARM, AVEO, EMMC and EMMC2.
bool is_clock_ctl(uint32_t offset) {
    if (offset < 0x100)
        return offset % 8 == 0;
    switch (offset) {
    case 0x158: // CM_DSI1ECTL
    case 0x160: // CM_DSI1PCTL
    case 0x168: // CM_DFTCTL
    case 0x190: // CM_PULSECTL
    case 0x1a8: // CM_SDCCTL
    case 0x1b0: // CM_ARMCTL
    case 0x1b8: // CM_AVEOCTL
    case 0x1c0: // CM_EMMCCTL
    case 0x1d0: // CM_EMMC2CTL
        return true;
    default:
        return false;
    }
}

struct PllRegs {
    uint32_t cm, a2w_ctrl, lock_bit;
};
// FLOCKA 8, FLOCKB 9, FLOCKC 10, FLOCKD 11, FLOCKH 12.
constexpr PllRegs kPlls[] = {
    {Bcm2835Cprman::kCmPllA, Bcm2835Cprman::kA2wPllACtrl, 1u << 8},
    {Bcm2835Cprman::kCmPllB, Bcm2835Cprman::kA2wPllBCtrl, 1u << 9},
    {Bcm2835Cprman::kCmPllC, Bcm2835Cprman::kA2wPllCCtrl, 1u << 10},
    {Bcm2835Cprman::kCmPllD, Bcm2835Cprman::kA2wPllDCtrl, 1u << 11},
    {Bcm2835Cprman::kCmPllH, Bcm2835Cprman::kA2wPllHCtrl, 1u << 12},
};

struct ResetValue {
    uint32_t offset, value;
};

// What a Raspberry Pi 3 Model B v1.2's firmware leaves (QEMU's record of a clk debugfs
// dump, hw/misc/bcm2835_cprman_internals.h); registers not listed read 0. One change:
// the VPU (core clock) runs from PLLD_CORE / 2 = 250 MHz, the Pi 2's core_freq and the
// rate piemu's board DTs give every device (the Pi 3's firmware leaves PLLC_CORE0 / 3
// = 400 MHz).
constexpr ResetValue kResetValues[] = {
    // PLLA: CM, A2W CTRL (NDIV 58, PDIV 1, PRST_DISABLE), FRAC, ANA1 (FB_PREDIV), ANA3.
    {0x104, 0x0000008a},
    {0x1100, 0x0002103a},
    {0x1200, 0x00098000},
    {0x1014, 0x00144000},
    {0x101c, 0x00000100},
    // PLLC: NDIV 62 + FRAC 0.5, x2 pre-divider: 2.4 GHz.
    {0x108, 0x00000228},
    {0x1120, 0x0002103e},
    {0x1220, 0x00080000},
    {0x1034, 0x00144000},
    {0x103c, 0x00000100},
    // PLLD: NDIV 52 + FRAC 0.0833, x2: 2 GHz (2,000,000,024 Hz by the driver).
    {0x10c, 0x0000020a},
    {0x1140, 0x00021034},
    {0x1240, 0x00015556},
    {0x1054, 0x00144000},
    {0x105c, 0x00000100},
    // PLLH: NDIV 45.
    {0x1160, 0x0002102d},
    {0x1070, 0x00900000},
    {0x1074, 0x0000000c},
    // PLL channels: divider [7:0], DISABLE (8).
    {0x1300, 0x00000100}, // PLLA_DSI0
    {0x1400, 0x00000003}, // PLLA_CORE
    {0x1600, 0x00000100}, // PLLA_CCP2
    {0x1320, 0x00000100}, // PLLC_CORE2
    {0x1420, 0x00000100}, // PLLC_CORE1
    {0x1520, 0x00000002}, // PLLC_PER: 1.2 GHz
    {0x1620, 0x00000002}, // PLLC_CORE0: 1.2 GHz
    {0x1340, 0x00000100}, // PLLD_DSI0
    {0x1440, 0x00000004}, // PLLD_CORE: 500 MHz
    {0x1540, 0x00000004}, // PLLD_PER: 500 MHz
    {0x1640, 0x00000100}, // PLLD_DSI1
    {0x1360, 0x00000004}, // PLLH_AUX
    // Clock generators: CTL (SRC, ENABLE, BUSY, MASH), DIV (12.12).
    {0x008, 0x00000246}, // VPU: PLLD_CORE (the change above); no ENABLE: always on
    {0x00c, 0x00002000}, //   / 2: 250 MHz
    {0x028, 0x00000244}, // H264
    {0x02c, 0x00003000},
    {0x030, 0x00000244}, // ISP
    {0x034, 0x00003000},
    {0x070, 0x00000200}, // GP0
    {0x078, 0x00000096}, // GP1
    {0x07c, 0x00014000},
    {0x080, 0x00000291}, // GP2
    {0x084, 0x00249f00},
    {0x090, 0x00000091}, // OTP
    {0x094, 0x00004000},
    {0x098, 0x00000200}, // PCM
    {0x0a0, 0x00000200}, // PWM
    {0x0a8, 0x00000200}, // SLIM
    {0x0e0, 0x00000091}, // TSENS
    {0x0e4, 0x0000a000},
    {0x0e8, 0x00000291}, // TIMER
    {0x0ec, 0x00013333},
    {0x0f0, 0x00000296}, // UART: PLLD_PER, enabled, MASH 1
    {0x0f4, 0x0000a6ab}, //   / 10.4167: 47,999,625 Hz
    {0x0f8, 0x00000097}, // VEC
    {0x0fc, 0x00002000},
    {0x1a8, 0x00004006}, // SDC (SDRAM)
    {0x1ac, 0x00003000},
    {0x1c0, 0x00000295}, // EMMC: PLLC_PER, enabled
    {0x1c4, 0x00006000}, //   / 6: 200 MHz
};

} // namespace

Bcm2835Cprman::Bcm2835Cprman(std::string name) : Device(std::move(name)) {
    Bcm2835Cprman::reset();
}

void Bcm2835Cprman::reset() {
    regs_.fill(0);
    for (const ResetValue& r : kResetValues)
        regs_[r.offset / 4] = r.value;
}

uint32_t Bcm2835Cprman::lock_bits() const {
    uint32_t lock = 0;
    for (const PllRegs& p : kPlls) {
        uint32_t ctrl = regs_[p.a2w_ctrl / 4];
        bool configured = (ctrl & kA2wPllNdiv) && (ctrl & kA2wPllPdiv);
        if (configured && !(ctrl & kA2wPllPwrdn) && !(regs_[p.cm / 4] & kCmPllAnarst))
            lock |= p.lock_bit;
    }
    return lock;
}

uint32_t Bcm2835Cprman::read_reg(uint32_t offset) const {
    if (offset == kCmLock)
        return lock_bits();
    return regs_[offset / 4];
}

void Bcm2835Cprman::write_reg(uint32_t offset, uint32_t value) {
    if ((value & kPasswordMask) != kPassword) {
        log_guest_error(*this, offset, "write without the password 0x5a in bits 31:24 ignored");
        return;
    }
    if (offset == kCmLock) {
        log_guest_error(*this, offset, "write to the read-only CM_LOCK ignored");
        return;
    }
    value &= kValueMask;
    if (is_clock_ctl(offset)) {
        // The generator runs while enabled and stops at once when disabled or killed.
        value &= ~kCtlBusy;
        if ((value & kCtlEnable) && !(value & kCtlKill))
            value |= kCtlBusy;
    }
    regs_[offset / 4] = value;
}

uint32_t Bcm2835Cprman::read(uint32_t offset, unsigned size) {
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Cprman::write(uint32_t offset, uint32_t value, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        // The password lives in the top byte: a narrower write cannot carry it.
        log_guest_error(*this, offset, "write not a 32-bit word with the password: ignored");
        return;
    }
    write_reg(offset, value);
}

} // namespace piemu
