// Raspbian's dwc_otg FIQ (dwc_otg_fiq_fsm) on the USB and MPHI models: the SOF
// acknowledged, the IRQ kicked through the MPHI once when periodic work is due and not
// again until the IRQ has run, other sources masked and passed on; then the kernel
// model's driver on both boards: the FIQ claimed, its stub at the FIQ vector and its
// banked registers on raspi3b (nothing of it on raspi2b), and IRQ 62 once per frame.
//
// The clock is 1.2 GHz: a microframe (125 us) is 150000 cycles.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "devices/bcm2835_mphi.hpp"
#include "devices/bcm2835_usb.hpp"
#include "kernel/drivers/dwc_otg_fiq_fsm.hpp"
#include "kernel/kernel_model.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"
#include "piemu/machine.hpp"

using namespace piemu;
using namespace piemu::kernel;

namespace {

constexpr uint64_t kMicroframe = 150000;
constexpr uint32_t kUsb = 0x3f980000, kMphi = 0x3f006000;
// Register offsets and bits, written out.
constexpr uint32_t GAHBCFG = 0x008, GINTSTS = 0x014, GINTMSK = 0x018, HFNUM = 0x408, HPRT0 = 0x440;
constexpr uint32_t kSof = 1u << 3, kPrtInt = 1u << 24;
constexpr uint32_t kPwr = 0x1000, kRst = 0x100, kConnDet = 0x2, kEnChng = 0x8;
constexpr uint32_t OUTDDA = 0x28, CTRL = 0x4c, INTSTAT = 0x50;

class DwcOtgFiqTest : public ::testing::Test {
protected:
    VirtualClock clock{1'200'000'000};
    Bus bus{0x10000};
    Bcm2835Usb usb{"usb@7e980000", clock};
    Bcm2835Mphi mphi{"usb@7e980000.mphi"};
    dwc_otg::fiq_state st;

    void SetUp() override {
        ASSERT_FALSE(bus.add_device(kUsb, usb).is_error());
        ASSERT_FALSE(bus.add_device(kMphi, mphi).is_error());
        st.dwc_regs_base = kUsb;
        st.mphi_base = kMphi;
        st.dummy_send = 0x1234;
        mphi.write(CTRL, 1u << 31, 4); // ENABLE, as hcd_init_fiq() leaves it
    }
    uint32_t rd(uint32_t off) { return usb.read(off, 4); }
    void wr(uint32_t off, uint32_t v) { usb.write(off, v, 4); }
    void microframes(unsigned n) {
        clock.set_now(clock.now() + n * kMicroframe);
        clock.run_due();
    }
    // The root port powered, reset and enabled, its change bits cleared, interrupts
    // unmasked as `gintmsk` says and globally enabled.
    void start_port(uint32_t gintmsk) {
        wr(HPRT0, kPwr);
        wr(HPRT0, kPwr | kRst);
        wr(HPRT0, kPwr);
        wr(HPRT0, kPwr | kConnDet | kEnChng);
        wr(GINTSTS, ~0u);
        wr(GINTMSK, gintmsk);
        wr(GAHBCFG, 1);
    }
    void fiq() { dwc_otg::dwc_otg_fiq_fsm(st, 8, bus); }
    bool kicked() { return (mphi.read(INTSTAT, 4) & (1u << 16)) != 0; }
};

} // namespace

TEST(DwcOtgFiq, FrameNumbersCompareModulo14Bits) {
    using dwc_otg::dwc_frame_num_le;
    EXPECT_TRUE(dwc_frame_num_le(5, 5));
    EXPECT_TRUE(dwc_frame_num_le(5, 6));
    EXPECT_FALSE(dwc_frame_num_le(6, 5));
    EXPECT_TRUE(dwc_frame_num_le(0x3ff8, 0x0000)) << "across the wrap";
    EXPECT_FALSE(dwc_frame_num_le(0x0000, 0x3ff8));
    EXPECT_TRUE(dwc_frame_num_le(0, 0x1fff)) << "half the counter ahead";
    EXPECT_FALSE(dwc_frame_num_le(0, 0x2000));
    // next_sched_frame -1 (nothing known) is 0xffff, 0x3fff modulo the counter.
    EXPECT_TRUE(dwc_frame_num_le(uint16_t(-1), 0));
}

TEST_F(DwcOtgFiqTest, SofWithNothingDueIsAcknowledgedWithoutKick) {
    start_port(kSof);
    st.next_sched_frame = 8;
    microframes(1); // frame 0
    ASSERT_EQ(rd(HFNUM) & 0x3fff, 0u);
    ASSERT_TRUE(usb.irq().level());
    fiq();
    EXPECT_EQ(rd(GINTSTS) & kSof, 0u) << "SOF acknowledged";
    EXPECT_FALSE(usb.irq().level());
    EXPECT_FALSE(kicked());
    EXPECT_EQ(mphi.messages_sent(), 0u);
    EXPECT_EQ(st.gintmsk_saved, ~0u);
    EXPECT_EQ(rd(GINTMSK), kSof);
    EXPECT_EQ(st.fiq_done, 1u);
}

// The kick comes at the frame the schedule is due in. Until the IRQ has taken it
// (reset gintmsk_saved and said when the next work is due) every SOF sends the MPHI
// message again, as Raspbian's FIQ does (GINTMSK still differs from the saved mask),
// but the MPHI interrupt is a level: one IRQ. Then nothing until the next frame: one
// IRQ per 1 ms frame for a schedule due every frame, whatever the SOFs in between.
TEST_F(DwcOtgFiqTest, PeriodicWorkDueKicksTheIrqOncePerFrame) {
    start_port(kSof);
    st.next_sched_frame = 0;
    microframes(1); // frame 0: due
    fiq();
    EXPECT_TRUE(kicked());
    EXPECT_TRUE(mphi.irq().level()) << "GPU IRQ 32: IRQ 62";
    EXPECT_EQ(mphi.read(OUTDDA, 4), 0x1234u) << "the dummy message";
    EXPECT_EQ(st.mphi_int_count, 1u);
    EXPECT_EQ(st.gintmsk_saved, ~kSof) << "SOF is the IRQ's now";
    EXPECT_EQ(rd(GINTMSK), kSof) << "but never masked: the FIQ needs every SOF";
    EXPECT_EQ(rd(GINTSTS) & kSof, 0u);

    microframes(1); // frame 1: the IRQ has not run yet
    fiq();
    EXPECT_EQ(mphi.messages_sent(), 2u) << "the message again";
    EXPECT_EQ(st.mphi_int_count, 2u);
    EXPECT_EQ(mphi.read(INTSTAT, 4), 1u << 16) << "one interrupt pending";

    // dwc_otg_hcd_handle_intr(): the saved mask reset, the next frame's start due,
    // the MPHI acknowledged.
    st.gintmsk_saved = ~0u;
    st.next_sched_frame = 8;
    mphi.write(INTSTAT, 1u << 16, 4);
    EXPECT_FALSE(mphi.irq().level());
    for (unsigned frame = 2; frame < 8; ++frame) {
        microframes(1);
        fiq();
        EXPECT_FALSE(kicked()) << "frame " << frame;
    }
    EXPECT_EQ(mphi.messages_sent(), 2u);
    microframes(1); // frame 8
    fiq();
    EXPECT_TRUE(kicked());
    EXPECT_EQ(mphi.messages_sent(), 3u);
    EXPECT_EQ(st.fiq_done, 9u);
}

TEST_F(DwcOtgFiqTest, SourcesTheFiqDoesNotOwnAreMaskedAndPassedToTheIrq) {
    start_port(kSof | kPrtInt);
    st.next_sched_frame = 8;
    wr(HPRT0, kPwr | kEnChng); // a port change: PrtInt
    wr(HPRT0, kPwr);
    wr(HPRT0, kPwr | kRst);
    wr(HPRT0, kPwr); // enabled again: PortEnChng
    ASSERT_NE(rd(GINTSTS) & kPrtInt, 0u);
    ASSERT_TRUE(usb.irq().level());
    fiq();
    EXPECT_EQ(rd(GINTMSK), kSof) << "PrtInt masked, SOF kept";
    EXPECT_EQ(st.gintmsk_saved, ~kPrtInt);
    EXPECT_NE(rd(GINTSTS) & kPrtInt, 0u) << "not acknowledged: the IRQ's";
    EXPECT_FALSE(usb.irq().level()) << "the FIQ line drops";
    EXPECT_TRUE(kicked());
    EXPECT_EQ(st.mphi_int_count, 1u);
}

// ---- the kernel model's dwc_otg driver -----------------------------------------

namespace {

std::unique_ptr<Machine> make(const char* board, uint64_t duration_ns, unsigned maxcpus = 0) {
    MachineOptions o;
    o.board = board;
    o.maxcpus = maxcpus;
    o.uart = "none";
    o.kernel_model = true;
    o.duration_ns = duration_ns;
    auto m = Machine::create(o);
    EXPECT_FALSE(m.is_error()) << (m.is_error() ? m.error().message : "");
    return m.release_value();
}

std::vector<uint8_t> read_phys(Machine& m, uint32_t addr, uint32_t len) {
    std::vector<uint8_t> out(len);
    EXPECT_TRUE(m.bus().read_phys(addr, out));
    return out;
}

} // namespace

// With several CPUs online Raspbian's hcd_init_fiq runs on CPU 1 and enable_fiq() routes
// the GPU FIQ to core 1 (routing register bits 3:2 = 1); with one, both stay on core 0.
TEST(DwcOtgDriver, Raspi3bClaimsTheFiqForTheUsbCore) {
    for (unsigned maxcpus : {1u, 4u}) {
        SCOPED_TRACE(maxcpus);
        const unsigned fiq_cpu = maxcpus > 1 ? 1 : 0;
        auto m = make("raspi3b", 0, maxcpus);
        KernelModel& km = *m->kernel_model();
        Bus& bus = m->bus();
        // enable_fiq(): GPU IRQ 9 selected and enabled, the GPU FIQ routed to its core.
        EXPECT_EQ(bus.mmio_read(0x3f00b20c, 4), 0x89u);
        EXPECT_EQ(bus.mmio_read(0x4000000c, 4), fiq_cpu << 2);
        // set_fiq_handler(): the stub's 36 bytes at the FIQ vector.
        uint32_t stub = vector_page_symbol("_dwc_otg_fiq_stub");
        uint32_t len = vector_page_symbol("_dwc_otg_fiq_stub_end") - stub;
        EXPECT_EQ(len, 36u);
        EXPECT_EQ(read_phys(*m, 0xffff001c, len), read_phys(*m, stub, len));
        EXPECT_EQ(km.symbolize(0xffff001c), "_dwc_otg_fiq_stub+0x0/0x24");
        EXPECT_EQ(km.symbolize(0xffff003c), "_dwc_otg_fiq_stub+0x20/0x24");
        EXPECT_NE(km.irq().show_interrupts().find("FIQ:              usb_fiq\n"),
                  std::string::npos);
        // set_fiq_regs(): FIQ mode's banked registers (the current mode's are untouched).
        ArmCore& c = m->core(fiq_cpu);
        uint32_t cpsr = c.cpsr(), pc = c.pc(), svc_r8 = c.reg(8);
        c.set_cpsr((cpsr & ~psr::M) | 0x11 | 0xc0);
        uint32_t r8 = c.reg(8), r9 = c.reg(9), fp = c.reg(11), sp = c.reg(13);
        c.set_cpsr(cpsr);
        c.set_pc(pc, false);
        EXPECT_EQ(c.reg(8), svc_r8);
        EXPECT_EQ(r9, 8u) << "host channels";
        EXPECT_EQ(fp, vector_page_symbol("dwc_otg_fiq_fsm"));
        EXPECT_GE(r8, 0x3e800000u) << "struct fiq_state in kernel-model memory";
        EXPECT_EQ(sp % 4, 0u);
        EXPECT_GT(sp, r8);
        // The core is up: DMA, INCR4, global interrupts on; the port powered; the MPHI on.
        EXPECT_EQ(bus.mmio_read(0x3f980008, 4), 0x27u);
        EXPECT_NE(bus.mmio_read(0x3f980440, 4) & kPwr, 0u);
        EXPECT_EQ(bus.mmio_read(kMphi + CTRL, 4) & (1u << 31), 1u << 31);
    }
}

TEST(DwcOtgDriver, Raspi2bHasNoFiqAndLeavesThePortAlone) {
    auto m = make("raspi2b", 0);
    KernelModel& km = *m->kernel_model();
    EXPECT_EQ(m->bus().mmio_read(0x3f00b20c, 4), 0u);
    auto image = vector_page_image();
    std::vector<uint8_t> vec(image.begin() + 0x1c, image.begin() + 0x20);
    EXPECT_EQ(read_phys(*m, 0xffff001c, 4), vec) << "the default FIQ vector";
    EXPECT_EQ(km.irq().show_interrupts().find("FIQ:"), std::string::npos);
    EXPECT_EQ(m->bus().mmio_read(0x3f980008, 4), 0u) << "GAHBCFG untouched";
    EXPECT_EQ(m->bus().mmio_read(0x3f980440, 4), 0u) << "the port unpowered";
}

// Regression: IRQ 62 must run at the reference's rate, once per 1 ms frame, and every
// time the HCD (the third action) handles it. 100 ms idle: the connection at boot, the
// port enabled after the 60 ms reset at the 7th tick (70 ms), then the frames starting
// at 70.125, 71.125, ... 99.125 ms: 2 + 30.
TEST(DwcOtgDriver, Raspi3bIrq62RunsOncePerFrame) {
    auto m = make("raspi3b", 100'000'000);
    m->start_idle();
    EXPECT_EQ(m->run().kind, RunOutcome::Kind::Duration);
    KernelModel& km = *m->kernel_model();
    EXPECT_EQ(km.irq().kstat_irqs_cpu(62, 0), 32u);
    irq_desc* desc = km.irq().irq_to_desc(62);
    ASSERT_NE(desc, nullptr);
    EXPECT_EQ(desc->irqs_unhandled, 0u) << "dwc_otg_hcd:usb1 handled every one";
    EXPECT_NE(km.log().dmesg().find("Indeed it is in host mode hprt0 = 00001501\n"),
              std::string::npos)
        << km.log().dmesg();
    EXPECT_EQ(m->bus().mmio_read(kMphi + INTSTAT, 4), 0u) << "the last kick acknowledged";
}
