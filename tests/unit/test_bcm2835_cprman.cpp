// BCM2835 clock manager register-level tests: the firmware's state as Linux's
// clk-bcm2835 reads it (the rates it derives), the PLL lock Linux polls for, BUSY
// following ENABLE, the password, and narrow accesses. Expected values are numbers
// (the driver's arithmetic done by hand), not the model's constants.
#include <gtest/gtest.h>

#include "devices/bcm2835_cprman.hpp"

using namespace piemu;

namespace {

constexpr uint32_t kPw = 0x5a000000;

class CprmanTest : public ::testing::Test {
protected:
    Bcm2835Cprman cm{"cprman@7e101000"};
    uint32_t rd(uint32_t off) { return cm.read(off, 4); }
    void wr(uint32_t off, uint32_t v) { cm.write(off, v, 4); }

    // clk-bcm2835.c's arithmetic on the registers, for a 19.2 MHz oscillator.
    uint64_t pll_hz(uint32_t ctrl_off, uint32_t frac_off, uint32_t ana1_off) {
        uint32_t ctrl = rd(ctrl_off);
        uint64_t ndiv = ctrl & 0x3ff, pdiv = (ctrl >> 12) & 7, fdiv = rd(frac_off) & 0xfffff;
        if (rd(ana1_off) & (1u << 14)) { // FB_PREDIV
            ndiv *= 2;
            fdiv *= 2;
        }
        return pdiv ? ((19'200'000ull * ((ndiv << 20) + fdiv)) >> 20) / pdiv : 0;
    }
};

} // namespace

// The UART's chain as the kernel finds it: PLLD 2 GHz, PLLD_PER / 4, then the UART
// generator from source 6 (PLLD_PER) through 10.4167: the real Pi's 47,999,625 Hz.
TEST_F(CprmanTest, FirmwareStateGivesTheUartItsFortyEightMegahertz) {
    uint64_t plld = pll_hz(0x1140, 0x1240, 0x1054);
    EXPECT_EQ(plld, 2'000'000'024u);
    uint32_t per = rd(0x1540);
    EXPECT_FALSE(per & 0x100) << "PLLD_PER enabled";
    uint64_t plld_per = plld / (per & 0xff);
    EXPECT_EQ(plld_per, 500'000'006u);
    uint32_t ctl = rd(0x0f0), div = rd(0x0f4);
    EXPECT_EQ(ctl & 0xf, 6u) << "source PLLD_PER";
    EXPECT_TRUE(ctl & 0x10) << "ENABLE";
    EXPECT_TRUE(ctl & 0x80) << "BUSY: running";
    EXPECT_EQ((plld_per << 12) / (div & 0xffffff), 47'999'625u);
    // The VPU: source 6 (PLLD_CORE, 500 MHz) / 2.
    EXPECT_EQ(rd(0x008) & 0xf, 6u);
    EXPECT_EQ(plld / (rd(0x1440) & 0xff) * 256 / (rd(0x00c) >> 4), 250'000'003u);
    // PLLC 2.4 GHz.
    EXPECT_EQ(pll_hz(0x1120, 0x1220, 0x1034), 2'400'000'000u);
}

// bcm2835_pll_on(): clear PWRDN in A2W_PLLx_CTRL, clear ANARST in CM_PLLx, then poll
// CM_LOCK for the PLL's bit. bcm2835_pll_off(): set ANARST, set PWRDN.
TEST_F(CprmanTest, PllLocksWhenPoweredAndOutOfReset) {
    struct Pll {
        uint32_t cm, ctrl, bit;
    };
    for (Pll p : {Pll{0x104, 0x1100, 1u << 8}, Pll{0x108, 0x1120, 1u << 10},
                  Pll{0x10c, 0x1140, 1u << 11}, Pll{0x110, 0x1160, 1u << 12}}) {
        SCOPED_TRACE(testing::Message() << "CM_PLL at 0x" << std::hex << p.cm);
        EXPECT_TRUE(rd(0x114) & p.bit) << "the firmware left it running";
        wr(p.cm, kPw | rd(p.cm) | 0x100);
        wr(p.ctrl, kPw | rd(p.ctrl) | 0x10000);
        EXPECT_FALSE(rd(0x114) & p.bit) << "off";
        wr(p.ctrl, kPw | (rd(p.ctrl) & ~0x10000u));
        EXPECT_FALSE(rd(0x114) & p.bit) << "powered but in reset";
        wr(p.cm, kPw | (rd(p.cm) & ~0x100u));
        EXPECT_TRUE(rd(0x114) & p.bit) << "locked";
    }
    wr(0x114, kPw);
    EXPECT_EQ(rd(0x114), 0x1d00u) << "CM_LOCK is read-only (PLLB stays off: never set up)";
}

TEST_F(CprmanTest, BusyFollowsEnableAndKill) {
    wr(0x0f0, kPw | 0x206); // bcm2835_clock_off(): ENABLE cleared
    EXPECT_EQ(rd(0x0f0), 0x206u) << "BUSY clears at once";
    wr(0x0f0, kPw | 0x216 | 0x80);
    EXPECT_EQ(rd(0x0f0), 0x296u);
    wr(0x0f0, kPw | 0x236); // KILL
    EXPECT_EQ(rd(0x0f0), 0x236u);
    wr(0x0f4, kPw | 0x80); // a DIV register has no BUSY bit
    EXPECT_EQ(rd(0x0f4), 0x80u);
}

TEST_F(CprmanTest, WritesNeedThePasswordAndAWholeWord) {
    wr(0x0f4, 0x00001000);
    EXPECT_EQ(rd(0x0f4), 0xa6abu) << "no password: ignored";
    wr(0x0f4, 0xa5001000);
    EXPECT_EQ(rd(0x0f4), 0xa6abu) << "wrong password: ignored";
    cm.write(0x0f4, 0x5a, 1);
    EXPECT_EQ(rd(0x0f4), 0xa6abu) << "byte write: ignored";
    wr(0x0f4, kPw | 0x001000);
    EXPECT_EQ(rd(0x0f4), 0x1000u) << "bits 23:0 stored, read without the password";
    EXPECT_EQ(cm.read(0x0f5, 1), 0x10u) << "byte read of bits 15:8";
    EXPECT_EQ(rd(0x1ffc), 0u);
    cm.write(0x2000, kPw | 1, 4);
    EXPECT_EQ(cm.read(0x2000, 4), 0u) << "outside the window";
    cm.reset();
    EXPECT_EQ(rd(0x0f4), 0xa6abu);
}
