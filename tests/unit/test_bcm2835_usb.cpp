// dwc_otg USB host controller and MPHI register-level tests: identification and reset
// values, core soft reset, GINTSTS write-1-to-clear and the interrupt line, the root
// port (power and connect, reset to an enabled high-speed port, disable), SOFs every
// 125 us of virtual time only while the port is enabled, channel transactions to the
// unanswering hub (XactErr | ChHltd after 5.1 us, HAINT, HChInt), channel halts, the
// board without a device on the port, bad accesses; the MPHI kick and acknowledge; the
// raspi3b and raspi2b boards' usb nodes built and wired end to end. Expected values are
// numbers, not the model's constants.
//
// The clock is 1.2 GHz (the Pi 3's): a microframe is 150000 cycles, the failing
// transaction 6120 cycles.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "board/board_builder.hpp"
#include "board/device_registry.hpp"
#include "devices/bcm2835_mphi.hpp"
#include "devices/bcm2835_usb.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"

using namespace piemu;

namespace {

constexpr uint64_t kMicroframe = 150000; // 125 us at 1.2 GHz
constexpr uint64_t kNoResponse = 6120;   // 5.1 us at 1.2 GHz

// Register offsets, written out.
constexpr uint32_t GOTGCTL = 0x000, GAHBCFG = 0x008, GUSBCFG = 0x00c, GRSTCTL = 0x010,
                   GINTSTS = 0x014, GINTMSK = 0x018, GRXSTSP = 0x020, GRXFSIZ = 0x024,
                   GNPTXFSIZ = 0x028, GNPTXSTS = 0x02c, GSNPSID = 0x040, GHWCFG1 = 0x044,
                   GHWCFG2 = 0x048, GHWCFG3 = 0x04c, GHWCFG4 = 0x050, HPTXFSIZ = 0x100,
                   HCFG = 0x400, HFIR = 0x404, HFNUM = 0x408, HPTXSTS = 0x410, HAINT = 0x414,
                   HAINTMSK = 0x418, HPRT0 = 0x440;
constexpr uint32_t HCCHAR(unsigned n) {
    return 0x500 + 0x20 * n;
}
constexpr uint32_t HCINT(unsigned n) {
    return 0x508 + 0x20 * n;
}
constexpr uint32_t HCINTMSK(unsigned n) {
    return 0x50c + 0x20 * n;
}
constexpr uint32_t HCTSIZ(unsigned n) {
    return 0x510 + 0x20 * n;
}
constexpr uint32_t HCDMA(unsigned n) {
    return 0x514 + 0x20 * n;
}

// HPRT0 bits.
constexpr uint32_t kConnSts = 0x1, kConnDet = 0x2, kEna = 0x4, kEnChng = 0x8, kRst = 0x100,
                   kPwr = 0x1000, kLineJ = 0x400;
// GINTSTS bits.
constexpr uint32_t kSof = 0x8, kPrtInt = 1u << 24, kHChInt = 1u << 25, kDisconn = 1u << 29;
constexpr uint32_t kGintstsIdle = 0x04000021; // PTxFEmp | NPTxFEmp | CurMod
// HCCHAR / HCINT bits.
constexpr uint32_t kChEna = 1u << 31, kChDis = 1u << 30, kChHltd = 0x2, kXactErr = 0x80;

class Bcm2835UsbTest : public ::testing::Test {
protected:
    VirtualClock clock{1'200'000'000};
    Bcm2835Usb usb{"usb@7e980000", clock};

    uint32_t rd(uint32_t off) { return usb.read(off, 4); }
    void wr(uint32_t off, uint32_t v) { usb.write(off, v, 4); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    void run_for(uint64_t cycles) { run_to(clock.now() + cycles); }
    bool line() { return usb.irq().level(); }
    // Power, reset and enable the root port as a driver does; change bits cleared.
    void enable_port() {
        wr(HPRT0, kPwr);
        wr(HPRT0, kPwr | kConnDet);
        wr(HPRT0, kPwr | kRst);
        wr(HPRT0, kPwr);
        wr(HPRT0, kPwr | kEnChng);
        ASSERT_EQ(rd(HPRT0), kPwr | kEna | kConnSts);
    }
};

// ---- identification and reset ----

TEST_F(Bcm2835UsbTest, IdentificationAndResetValues) {
    EXPECT_EQ(rd(GSNPSID), 0x4f54280au);
    EXPECT_EQ(rd(GHWCFG1), 0x00000000u);
    EXPECT_EQ(rd(GHWCFG2), 0x228ddd50u);
    EXPECT_EQ(rd(GHWCFG3), 0x0ff000e8u);
    EXPECT_EQ(rd(GHWCFG4), 0x1ff00020u);
    EXPECT_EQ(rd(GOTGCTL), 0x001c0000u);
    EXPECT_EQ(rd(GAHBCFG), 0u);
    EXPECT_EQ(rd(GUSBCFG), 0x00001400u);
    EXPECT_EQ(rd(GRSTCTL), 0x80000000u);
    EXPECT_EQ(rd(GINTSTS), 0x04000021u);
    EXPECT_EQ(rd(GINTMSK), 0u);
    EXPECT_EQ(rd(GRXSTSP), 0u);
    EXPECT_EQ(rd(GRXFSIZ), 0x1000u);
    EXPECT_EQ(rd(GNPTXFSIZ), 0x01001000u);
    EXPECT_EQ(rd(GNPTXSTS), 0x00080100u);
    EXPECT_EQ(rd(HPTXFSIZ), 0x02001100u);
    EXPECT_EQ(rd(HCFG), 0u);
    EXPECT_EQ(rd(HFIR), 60000u);
    EXPECT_EQ(rd(HFNUM), 0x00003fffu);
    EXPECT_EQ(rd(HPTXSTS), 0x00080200u);
    EXPECT_EQ(rd(HAINT), 0u);
    EXPECT_EQ(rd(HAINTMSK), 0u);
    EXPECT_EQ(rd(HPRT0), 0u);
    for (unsigned n = 0; n < 8; ++n)
        EXPECT_EQ(rd(HCCHAR(n)), 0u) << n;
    EXPECT_FALSE(line());
    EXPECT_FALSE(usb.sof_running());
    EXPECT_TRUE(usb.connected());
    EXPECT_EQ(usb.mmio_size(), 0x10000u);
    ASSERT_EQ(usb.irq_outputs().size(), 1u);
    EXPECT_EQ(usb.irq_outputs()[0], &usb.irq());
}

TEST_F(Bcm2835UsbTest, CoreSoftResetClearsMasksAndStateKeepsConfiguration) {
    wr(GAHBCFG, 0x21); // GlblIntrMsk | DMAEn
    wr(GUSBCFG, 0x20001700);
    wr(GINTMSK, 0x03000008);
    wr(HAINTMSK, 0xff);
    wr(HCINTMSK(0), 0x7ff);
    wr(HCFG, 0x1);
    enable_port();
    run_for(kMicroframe); // one SOF: GINTSTS.Sof latched
    wr(HCCHAR(0), kChEna | 0x40);
    ASSERT_EQ(rd(HCCHAR(0)), kChEna | 0x40);

    wr(GRSTCTL, 0x1);                    // CSftRst
    EXPECT_EQ(rd(GRSTCTL), 0x80000000u); // self-cleared, AHBIdle
    EXPECT_EQ(rd(GINTMSK), 0u);
    EXPECT_EQ(rd(HAINTMSK), 0u);
    EXPECT_EQ(rd(HCINTMSK(0)), 0u);
    EXPECT_EQ(rd(HCCHAR(0)), 0x40u); // disabled, characteristics kept
    EXPECT_EQ(rd(HCINT(0)), 0u);     // no halt interrupt
    EXPECT_EQ(rd(GAHBCFG), 0x21u);
    EXPECT_EQ(rd(GUSBCFG), 0x20001700u);
    EXPECT_EQ(rd(HCFG), 0x1u);
    // The port is disabled (still powered and connected), the frame counter restarts.
    EXPECT_EQ(rd(HPRT0), kPwr | kLineJ | kConnSts);
    EXPECT_EQ(rd(HFNUM), 0x00003fffu);
    EXPECT_FALSE(usb.sof_running());
    // Status bits are not cleared.
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle | kSof);
    EXPECT_FALSE(line()); // GINTMSK is 0
    // The started transaction was dropped.
    run_for(kNoResponse);
    EXPECT_EQ(rd(HCINT(0)), 0u);
}

TEST_F(Bcm2835UsbTest, GrstctlFlushesSelfClearAndKeepTxFNum) {
    wr(GRSTCTL, 0x7c0 | 0x20 | 0x10 | 0x8 | 0x2); // TxFNum 0x1f, TxFFlsh, RxFFlsh, ...
    EXPECT_EQ(rd(GRSTCTL), 0x800007c0u);
    wr(GRSTCTL, 0x4); // FrmCntrRst
    EXPECT_EQ(rd(GRSTCTL), 0x80000000u);
    EXPECT_EQ(rd(HFNUM), 0x00003fffu);
}

// ---- GINTSTS and the line ----

TEST_F(Bcm2835UsbTest, GintstsWriteOneToClearAndTheLine) {
    enable_port();
    run_for(kMicroframe);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle | kSof);
    EXPECT_FALSE(line()); // masked
    wr(GINTMSK, kSof);
    EXPECT_FALSE(line()); // GAHBCFG.GlblIntrMsk clear
    wr(GAHBCFG, 0x1);
    EXPECT_TRUE(line());
    wr(GAHBCFG, 0x0);
    EXPECT_FALSE(line());
    wr(GAHBCFG, 0x1);
    EXPECT_TRUE(line());
    // Writing 1 to every bit clears the latched ones only.
    wr(GINTSTS, 0xffffffff);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle);
    EXPECT_FALSE(line());
    // Writing 0 clears nothing.
    run_for(kMicroframe);
    EXPECT_TRUE(line());
    wr(GINTSTS, 0);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle | kSof);
    // A byte write to lane 0 clears Sof without touching the rest.
    usb.write(GINTSTS, kSof, 1);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle);
    EXPECT_FALSE(line());
}

// ---- the root port ----

TEST_F(Bcm2835UsbTest, PortPowerConnectsTheHub) {
    wr(GINTMSK, kPrtInt);
    wr(GAHBCFG, 0x1);
    wr(HPRT0, kPwr);
    EXPECT_EQ(rd(HPRT0), kPwr | kLineJ | kConnDet | kConnSts); // 0x1403
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle | kPrtInt);
    EXPECT_TRUE(line());
    wr(HPRT0, kPwr | kConnDet); // write 1 to clear
    EXPECT_EQ(rd(HPRT0), 0x1401u);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle);
    EXPECT_FALSE(line());
    // Power off: disconnect.
    wr(HPRT0, 0);
    EXPECT_EQ(rd(HPRT0), 0u);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle | kDisconn);
    wr(GINTSTS, kDisconn);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle);
}

TEST_F(Bcm2835UsbTest, PortResetEnablesAtHighSpeed) {
    wr(HPRT0, kPwr);
    wr(HPRT0, kPwr | kConnDet);
    wr(HPRT0, kPwr | kRst);
    EXPECT_EQ(rd(HPRT0), kPwr | kRst | kConnSts); // 0x1101: SE0 during reset
    EXPECT_FALSE(usb.sof_running());
    wr(HPRT0, kPwr);
    // Enabled, PrtEnChng, PrtSpd [18:17] = 0 (high speed), line SE0.
    EXPECT_EQ(rd(HPRT0), 0x0000100du);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle | kPrtInt);
    EXPECT_TRUE(usb.sof_running());
    wr(HPRT0, kPwr | kEnChng);
    EXPECT_EQ(rd(HPRT0), 0x00001005u);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle);
    // Writing PrtEna as 0 does nothing; a byte write to the power byte keeps the port.
    usb.write(HPRT0 + 1, kPwr >> 8, 1);
    EXPECT_EQ(rd(HPRT0), 0x00001005u);
    // Writing 1 to PrtEna disables the port: PrtEnChng again, SOFs stop.
    wr(HPRT0, kPwr | kEna);
    EXPECT_EQ(rd(HPRT0), kPwr | kLineJ | kEnChng | kConnSts); // 0x1409
    EXPECT_FALSE(usb.sof_running());
}

// ---- SOF ----

TEST_F(Bcm2835UsbTest, SofEveryMicroframeOfVirtualTime) {
    run_to(1000); // any start
    enable_port();
    uint64_t t0 = clock.now();
    wr(GINTMSK, kSof);
    wr(GAHBCFG, 0x1);
    run_to(t0 + kMicroframe - 1);
    EXPECT_EQ(usb.sof_count(), 0u);
    // Frame 0x3fff, 1 PHY clock (of 7500) left.
    EXPECT_EQ(rd(HFNUM), 0x00013fffu);
    EXPECT_FALSE(line());
    run_to(t0 + kMicroframe);
    EXPECT_EQ(usb.sof_count(), 1u);
    EXPECT_EQ(rd(HFNUM), 0x1d4c0000u); // frame 0, 7500 clocks left
    EXPECT_TRUE(line());
    wr(GINTSTS, kSof);
    EXPECT_FALSE(line());
    // 1 ms after enabling: 8 SOFs, frame 7.
    run_to(t0 + 8 * kMicroframe);
    EXPECT_EQ(usb.sof_count(), 8u);
    EXPECT_EQ(rd(HFNUM), 0x1d4c0007u);
    // Half-way through the next microframe: 3750 clocks left.
    run_to(t0 + 8 * kMicroframe + kMicroframe / 2);
    EXPECT_EQ(rd(HFNUM), 0x0ea60007u);
    // 10 ms: 80 SOFs, the driver clearing each.
    for (uint64_t k = 9; k <= 80; ++k) {
        run_to(t0 + k * kMicroframe);
        ASSERT_TRUE(line()) << k;
        wr(GINTSTS, kSof);
    }
    EXPECT_EQ(usb.sof_count(), 80u);
    EXPECT_EQ(rd(HFNUM) & 0xffff, 79u);
}

TEST_F(Bcm2835UsbTest, FrameNumberWrapsAt14Bits) {
    enable_port();
    uint64_t t0 = clock.now();
    run_to(t0 + 0x4000 * kMicroframe);
    EXPECT_EQ(usb.sof_count(), 0x4000u);
    EXPECT_EQ(rd(HFNUM) & 0xffff, 0x3fffu);
    run_to(t0 + 0x4001 * kMicroframe);
    EXPECT_EQ(rd(HFNUM) & 0xffff, 0u);
}

TEST_F(Bcm2835UsbTest, NoSofWhileThePortIsNotEnabled) {
    run_for(80 * kMicroframe); // unpowered
    wr(HPRT0, kPwr);           // powered and connected, not reset
    run_for(80 * kMicroframe);
    EXPECT_EQ(usb.sof_count(), 0u);
    EXPECT_FALSE(usb.sof_running());
    EXPECT_EQ(rd(HFNUM), 0x00003fffu);
    EXPECT_EQ(rd(GINTSTS) & kSof, 0u);
    // Enabled, then forced into device mode: CurMod 0 and no SOFs.
    wr(HPRT0, kPwr | kConnDet | kRst);
    wr(HPRT0, kPwr);
    run_for(2 * kMicroframe);
    EXPECT_EQ(usb.sof_count(), 2u);
    wr(GUSBCFG, 0x40001400); // ForceDevMode
    EXPECT_EQ(rd(GINTSTS) & 0x1, 0u);
    EXPECT_FALSE(usb.sof_running());
    run_for(8 * kMicroframe);
    EXPECT_EQ(usb.sof_count(), 2u);
    wr(GUSBCFG, 0x00001400); // host again: SOFs resume
    run_for(kMicroframe);
    EXPECT_EQ(usb.sof_count(), 3u);
    // Suspended: none; resumed: again.
    wr(HPRT0, kPwr | 0x80); // PrtSusp
    EXPECT_FALSE(usb.sof_running());
    wr(HPRT0, kPwr | 0x40); // PrtRes
    wr(HPRT0, kPwr);        // end of resume
    EXPECT_TRUE(usb.sof_running());
}

// ---- channels ----

TEST_F(Bcm2835UsbTest, TransactionToTheUnansweringHubFailsWithXactErr) {
    enable_port();
    wr(GINTMSK, kHChInt);
    wr(GAHBCFG, 0x21);
    wr(HAINTMSK, 1u << 3);
    wr(HCINTMSK(3), kChHltd);
    wr(HCTSIZ(3), (3u << 29) | (1u << 19) | 8); // SETUP, 1 packet, 8 bytes
    wr(HCDMA(3), 0x00001000);
    wr(HCCHAR(3), kChEna | 64); // control, EP 0, address 0, MPS 64
    EXPECT_EQ(rd(HCCHAR(3)), kChEna | 64);
    run_for(kNoResponse - 1);
    EXPECT_EQ(rd(HCINT(3)), 0u);
    EXPECT_EQ(rd(HAINT), 0u);
    EXPECT_FALSE(line());
    run_for(1);
    EXPECT_EQ(rd(HCINT(3)), kXactErr | kChHltd); // 0x82
    EXPECT_EQ(rd(HCCHAR(3)), 64u);
    EXPECT_EQ(rd(HCTSIZ(3)), 0x60080008u); // nothing moved
    EXPECT_EQ(rd(HCDMA(3)), 0x00001000u);
    EXPECT_EQ(rd(HAINT), 0x8u);
    EXPECT_EQ(rd(GINTSTS) & kHChInt, kHChInt);
    EXPECT_TRUE(line());
    // Clearing HCINT clears HAINT and HChInt.
    wr(HCINT(3), kXactErr | kChHltd);
    EXPECT_EQ(rd(HCINT(3)), 0u);
    EXPECT_EQ(rd(HAINT), 0u);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle | (rd(GINTSTS) & kSof));
    EXPECT_FALSE(line());
}

TEST_F(Bcm2835UsbTest, HaintFollowsHcintmskAndHChIntFollowsHaintmsk) {
    enable_port();
    wr(GINTMSK, kHChInt);
    wr(GAHBCFG, 0x1);
    wr(HCCHAR(5), kChEna | 8);
    run_for(kNoResponse);
    EXPECT_EQ(rd(HCINT(5)), 0x82u);
    EXPECT_EQ(rd(HAINT), 0u); // HCINTMSK(5) is 0
    wr(HCINTMSK(5), kXactErr);
    EXPECT_EQ(rd(HAINT), 0x20u);
    EXPECT_EQ(rd(GINTSTS) & kHChInt, 0u); // HAINTMSK is 0
    EXPECT_FALSE(line());
    wr(HAINTMSK, 0xffffffff);
    EXPECT_EQ(rd(HAINTMSK), 0xffu); // 8 channels
    EXPECT_EQ(rd(GINTSTS) & kHChInt, kHChInt);
    EXPECT_TRUE(line());
}

TEST_F(Bcm2835UsbTest, ChannelDisableHalts) {
    enable_port();
    wr(HCCHAR(1), kChEna | 512);
    run_for(kNoResponse / 2);
    wr(HCCHAR(1), kChEna | kChDis | 512); // dwc2_hc_halt()
    EXPECT_EQ(rd(HCINT(1)), kChHltd);
    EXPECT_EQ(rd(HCCHAR(1)), 512u);
    run_for(kNoResponse); // the dropped transaction reports nothing more
    EXPECT_EQ(rd(HCINT(1)), kChHltd);
    // Halting an idle channel reports ChHltd too.
    wr(HCINT(1), kChHltd);
    wr(HCCHAR(2), kChDis | 64);
    EXPECT_EQ(rd(HCINT(2)), kChHltd);
    EXPECT_EQ(rd(HCCHAR(2)), 64u);
    // Writing ChEna 0 to a running channel does not stop it.
    wr(HCCHAR(4), kChEna | 64);
    wr(HCCHAR(4), 64);
    EXPECT_EQ(rd(HCCHAR(4)), kChEna | 64);
    run_for(kNoResponse);
    EXPECT_EQ(rd(HCINT(4)), 0x82u);
}

// ---- no device on the port ----

TEST(Bcm2835UsbEmptyPort, NoConnectNoEnableNoSofTransfersFail) {
    VirtualClock clock{1'200'000'000};
    Bcm2835Usb usb{"usb", clock, false};
    EXPECT_FALSE(usb.connected());
    usb.write(HPRT0, kPwr, 4);
    EXPECT_EQ(usb.read(HPRT0, 4), kPwr); // no PrtConnSts, no PrtConnDet
    EXPECT_EQ(usb.read(GINTSTS, 4), kGintstsIdle);
    usb.write(HPRT0, kPwr | kRst, 4);
    usb.write(HPRT0, kPwr, 4);
    EXPECT_EQ(usb.read(HPRT0, 4), kPwr); // reset enables nothing
    clock.set_now(80 * kMicroframe);
    clock.run_due();
    EXPECT_EQ(usb.sof_count(), 0u);
    EXPECT_FALSE(usb.sof_running());
    usb.write(HCCHAR(0), kChEna | 64, 4);
    clock.set_now(clock.now() + kNoResponse);
    clock.run_due();
    EXPECT_EQ(usb.read(HCINT(0), 4), kXactErr | kChHltd);
    EXPECT_EQ(usb.read(HCCHAR(0), 4), 64u);
}

// ---- bad accesses ----

TEST_F(Bcm2835UsbTest, BadAccessesAreIgnored) {
    EXPECT_EQ(rd(0x0fc), 0u);            // unknown global register
    EXPECT_EQ(rd(0x600), 0u);            // channel 8 does not exist
    EXPECT_EQ(rd(0x518), 0u);            // channel 0 offset 0x18
    EXPECT_EQ(rd(0x800), 0u);            // device mode
    EXPECT_EQ(rd(0x1000), 0u);           // FIFO
    EXPECT_EQ(usb.read(0x10000, 4), 0u); // outside the window
    EXPECT_EQ(usb.read(0x042, 4), 0u);   // misaligned
    wr(GSNPSID, 0);
    EXPECT_EQ(rd(GSNPSID), 0x4f54280au);
    wr(HFNUM, 0x1234);
    EXPECT_EQ(rd(HFNUM), 0x00003fffu);
    wr(HAINT, 0xff);
    EXPECT_EQ(rd(HAINT), 0u);
    wr(0x600, kChEna);
    wr(0x800, 0xffffffff);
    wr(0x1000, 0xffffffff);
    wr(0x0fc, 0xffffffff);
    EXPECT_EQ(rd(GINTSTS), kGintstsIdle);
    EXPECT_FALSE(line());
    // GUSBCFG.CorruptTxPkt is dropped; MPS 0 still starts (and fails) the transaction.
    wr(GUSBCFG, 0x80001400);
    EXPECT_EQ(rd(GUSBCFG), 0x00001400u);
    wr(HCCHAR(0), kChEna);
    run_for(kNoResponse);
    EXPECT_EQ(rd(HCINT(0)), 0x82u);
    // HCINT bits above DataTglErr do not exist.
    wr(HCINTMSK(0), 0xffffffff);
    EXPECT_EQ(rd(HCINTMSK(0)), 0x7ffu);
}

// ---- MPHI ----

class Bcm2835MphiTest : public ::testing::Test {
protected:
    Bcm2835Mphi mphi{"usb@7e980000.mphi"};
    uint32_t rd(uint32_t off) { return mphi.read(off, 4); }
    void wr(uint32_t off, uint32_t v) { mphi.write(off, v, 4); }
    static constexpr uint32_t OUTDDA = 0x28, OUTDDB = 0x2c, CTRL = 0x4c, INTSTAT = 0x50;
};

TEST_F(Bcm2835MphiTest, ResetValues) {
    EXPECT_EQ(rd(CTRL), 0x08001000u);
    EXPECT_EQ(rd(INTSTAT), 0u);
    EXPECT_EQ(rd(OUTDDA), 0u);
    EXPECT_EQ(rd(OUTDDB), 0u);
    EXPECT_EQ(rd(0x40), 0x22u); // AXIPRIV
    EXPECT_FALSE(mphi.irq().level());
    EXPECT_EQ(mphi.mmio_size(), 0x1000u);
    ASSERT_EQ(mphi.irq_outputs().size(), 1u);
}

TEST_F(Bcm2835MphiTest, FiqKickRaisesTheLineAndIntstatClearLowersIt) {
    // Disabled: the message is dropped.
    wr(OUTDDA, 0x3f001000);
    wr(OUTDDB, 1u << 29);
    EXPECT_EQ(rd(INTSTAT), 0u);
    EXPECT_FALSE(mphi.irq().level());
    EXPECT_EQ(mphi.messages_sent(), 0u);
    // hcd_init_fiq(): enable.
    wr(CTRL, 0x80000000);
    EXPECT_EQ(rd(CTRL), 0x80000000u);
    // The FIQ's kick (dwc_otg_fiq_fsm): clear, address, send with TENDINT.
    wr(INTSTAT, 1u << 29);
    wr(OUTDDA, 0x3f001000);
    wr(OUTDDB, 1u << 29);
    EXPECT_EQ(rd(INTSTAT), 0x00010000u);
    EXPECT_EQ(rd(OUTDDB), 0x20000000u);
    EXPECT_EQ(rd(OUTDDA), 0x3f001000u);
    EXPECT_TRUE(mphi.irq().level());
    EXPECT_EQ(mphi.messages_sent(), 1u);
    // The IRQ handler's acknowledge.
    wr(INTSTAT, 1u << 16);
    EXPECT_EQ(rd(INTSTAT), 0u);
    EXPECT_FALSE(mphi.irq().level());
    // A message without TENDINT interrupts nobody.
    wr(OUTDDB, 0);
    EXPECT_EQ(rd(INTSTAT), 0u);
    EXPECT_EQ(mphi.messages_sent(), 2u);
}

TEST_F(Bcm2835MphiTest, SoftResetHandshake) {
    wr(CTRL, 0x80000000 | 0x10000);   // ENABLE | REQ_SOFT_RST
    EXPECT_EQ(rd(CTRL), 0x80030000u); // SOFT_RST_DNE
    wr(CTRL, 0x80000000);
    EXPECT_EQ(rd(CTRL), 0x80000000u);
    // Bad accesses: VERSION is read-only, unknown offsets read 0.
    wr(0x54, 0xffffffff);
    EXPECT_EQ(rd(0x54), 0u);
    EXPECT_EQ(rd(0x00), 0u);
    EXPECT_EQ(rd(0x800), 0u);
    wr(0x800, 1);
    wr(OUTDDB, 0xffffffff); // bits 31:30 do not exist; TENDINT set: interrupt
    EXPECT_EQ(rd(OUTDDB), 0x3fffffffu);
    EXPECT_EQ(rd(INTSTAT), 0x00010000u);
    mphi.reset();
    EXPECT_EQ(rd(INTSTAT), 0u);
    EXPECT_FALSE(mphi.irq().level());
}

// ---- the boards ----

std::vector<uint8_t> compile_board(const char* name) {
    std::string root = PIEMU_TEST_DATA_DIR;
    root.erase(root.rfind("/tests/data"));
    std::string cmd =
        "dtc -@ -q -I dts -O dtb -o - '" + root + "/boards/" + name + ".dts' 2>/dev/null";
    std::vector<uint8_t> out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p)
        return out;
    uint8_t buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        out.insert(out.end(), buf, buf + n);
    pclose(p);
    return out;
}

const BoardNode* node(const BuiltBoard& b, const std::string& path) {
    for (auto& n : b.nodes)
        if (n.path == path)
            return &n;
    return nullptr;
}

TEST(Bcm2835UsbBoard, Raspi3bMapsTheMphiAndWiresBothInterrupts) {
    auto dtb = compile_board("raspi3b");
    ASSERT_FALSE(dtb.empty());
    VirtualClock clock{1'200'000'000};
    Bus bus{64u << 20};
    CoreLines lines;
    auto board = build_board(dtb, bus, clock, 4, lines);
    ASSERT_FALSE(board.is_error()) << board.error().message;
    BuiltBoard& b = board.value();
    const std::string path = "/soc/usb@7e980000";
    ASSERT_NE(node(b, path), nullptr);
    EXPECT_EQ(node(b, path)->compatible, "brcm,bcm2708-usb");
    EXPECT_EQ(node(b, path)->model, "Bcm2835Usb");
    EXPECT_EQ(node(b, path)->address->base, 0x3f980000u);
    const std::vector<std::string> wiring = {"reg 1 0x3f006000-0x3f006fff: Bcm2835Mphi",
                                             "<2 0> -> intc bank 2 bit 0 (Bcm2835Armctrl input 32)",
                                             "<1 9> -> intc bank 1 bit 9 (Bcm2835Armctrl input 9)"};
    EXPECT_EQ(node(b, path)->wiring, wiring);
    auto* usb = b.find<Bcm2835Usb>(path);
    auto* mphi = b.find_model<Bcm2835Mphi>();
    ASSERT_NE(usb, nullptr);
    ASSERT_NE(mphi, nullptr);
    EXPECT_EQ(bus.find_device(0x3f980000)->device, usb);
    EXPECT_EQ(bus.find_device(0x3f006000)->device, mphi);
    EXPECT_EQ(bus.find_device(0x3f006000)->base, 0x3f006000u);
    EXPECT_EQ(mphi->name(), "usb@7e980000.mphi");
    std::string table = describe_board(b);
    EXPECT_NE(table.find("reg 1 0x3f006000-0x3f006fff: Bcm2835Mphi"), std::string::npos);

    // MPHI kick through the bus -> ARMCTRL IRQ pending 2 bit 0 (GPU IRQ 32).
    bus.mmio_write(0x3f00b214, 1u << 0, 4); // Enable IRQs 2
    bus.mmio_write(0x3f00604c, 0x80000000, 4);
    bus.mmio_write(0x3f00602c, 1u << 29, 4);
    EXPECT_EQ(bus.mmio_read(0x3f00b208, 4) & 1u, 1u);
    bus.mmio_write(0x3f006050, 1u << 16, 4);
    EXPECT_EQ(bus.mmio_read(0x3f00b208, 4) & 1u, 0u);

    // The core's line -> IRQ pending 1 bit 9 (GPU IRQ 9): a port connect interrupt.
    bus.mmio_write(0x3f00b210, 1u << 9, 4);  // Enable IRQs 1
    bus.mmio_write(0x3f980018, 1u << 24, 4); // GINTMSK.PrtInt
    bus.mmio_write(0x3f980008, 1, 4);        // GlblIntrMsk
    bus.mmio_write(0x3f980440, 0x1000, 4);   // PrtPwr
    EXPECT_EQ(bus.mmio_read(0x3f00b204, 4) & (1u << 9), 1u << 9);

    // Board reset reaches the MPHI too.
    bus.mmio_write(0x3f00602c, 1u << 29, 4);
    EXPECT_TRUE(mphi->irq().level());
    b.reset();
    EXPECT_FALSE(mphi->irq().level());
    EXPECT_EQ(bus.mmio_read(0x3f00604c, 4), 0x08001000u);
}

TEST(Bcm2835UsbBoard, Raspi2bIsMainlineShaped) {
    auto dtb = compile_board("raspi2b");
    ASSERT_FALSE(dtb.empty());
    VirtualClock clock{900'000'000};
    Bus bus{64u << 20};
    CoreLines lines;
    auto board = build_board(dtb, bus, clock, 4, lines);
    ASSERT_FALSE(board.is_error()) << board.error().message;
    BuiltBoard& b = board.value();
    const std::string path = "/soc/usb@7e980000";
    EXPECT_EQ(node(b, path)->compatible, "brcm,bcm2835-usb");
    EXPECT_EQ(node(b, path)->model, "Bcm2835Usb");
    const std::vector<std::string> wiring = {"<1 9> -> intc bank 1 bit 9 (Bcm2835Armctrl input 9)"};
    EXPECT_EQ(node(b, path)->wiring, wiring);
    EXPECT_NE(b.find<Bcm2835Usb>(path), nullptr);
    EXPECT_EQ(b.find_model<Bcm2835Mphi>(), nullptr);
    EXPECT_EQ(bus.find_device(0x3f006000), nullptr);
}

} // namespace

namespace {

// A factory asking for a reg entry the node lacks is a board error naming the node.
TEST(Bcm2835UsbBoard, WindowWithoutItsRegEntryIsAnError) {
    auto dtb = compile_board("raspi3b");
    ASSERT_FALSE(dtb.empty());
    DeviceRegistry registry = DeviceRegistry::builtin();
    DeviceEntry e;
    e.compatible = "brcm,bcm2708-usb";
    e.model = "Bcm2835Usb";
    e.create = [](const DeviceContext& ctx) -> ErrorOr<DeviceInstance> {
        EXPECT_EQ(ctx.regs.size(), 2u);
        EXPECT_EQ(ctx.regs.at(1).base, 0x3f006000u);
        EXPECT_EQ(ctx.regs.at(1).size, 0x1000u);
        auto usb = std::make_unique<Bcm2835Usb>(ctx.name, ctx.clock);
        auto mphi = std::make_unique<Bcm2835Mphi>(ctx.name + ".mphi");
        DeviceInstance inst;
        inst.outputs = {&mphi->irq(), &usb->irq()};
        inst.windows.push_back({2, "Bcm2835Mphi", std::move(mphi)});
        inst.device = std::move(usb);
        return inst;
    };
    registry.add(std::move(e));
    VirtualClock clock{1'200'000'000};
    Bus bus{64u << 20};
    CoreLines lines;
    auto board = build_board(dtb, bus, clock, 4, lines, registry);
    ASSERT_TRUE(board.is_error());
    EXPECT_EQ(board.error().message,
              "/soc/usb@7e980000: Bcm2835Usb needs reg entry 2 for its Bcm2835Mphi");
    EXPECT_TRUE(bus.devices().empty());
}

} // namespace
