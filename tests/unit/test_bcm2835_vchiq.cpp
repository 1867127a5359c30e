// Register-level tests of the VCHIQ doorbells (Bcm2835Vchiq): BELL0 read-and-clear as
// vchiq_2835_arm.c's vchiq_doorbell_irq() relies on, BELL2 rings from the ARM, the
// interrupt level, sub-word and out-of-range accesses, reset.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "devices/bcm2835_vchiq.hpp"

using namespace piemu;
using Reg = Bcm2835Vchiq::Reg;

namespace {

struct RecordingSink : IrqSink {
    std::vector<std::pair<unsigned, bool>> calls;
    void set_irq_input(unsigned input, bool level) override { calls.emplace_back(input, level); }
};

class Bcm2835VchiqTest : public ::testing::Test {
protected:
    Bcm2835Vchiq vchiq{"mailbox@7e00b840"};
    RecordingSink sink;

    void SetUp() override { vchiq.irq().connect(&sink, 66); } // ARMCTRL basic bit 2
    uint32_t rd(uint32_t offset, unsigned size = 4) { return vchiq.read(offset, size); }
    void wr(uint32_t offset, uint32_t v, unsigned size = 4) { vchiq.write(offset, v, size); }
    static constexpr uint32_t kBell0 = static_cast<uint32_t>(Reg::Bell0);
    static constexpr uint32_t kBell2 = static_cast<uint32_t>(Reg::Bell2);
};

TEST_F(Bcm2835VchiqTest, QuietAtReset) {
    EXPECT_EQ(vchiq.mmio_size(), 0x3cu);
    EXPECT_EQ(rd(kBell0), 0u);
    EXPECT_FALSE(vchiq.irq().level());
    EXPECT_FALSE(vchiq.vc_doorbell_rung());
    EXPECT_EQ(vchiq.vc_doorbell_rings(), 0u);
    ASSERT_EQ(vchiq.irq_outputs().size(), 1u);
    EXPECT_EQ(vchiq.irq_outputs()[0], &vchiq.irq());
}

// vchiq_doorbell_irq(): `status = readl(g_regs + BELL0); if (status & 0x4)`.
TEST_F(Bcm2835VchiqTest, Bell0ReadReturnsTheRingAndClearsIt) {
    vchiq.ring_arm_doorbell();
    EXPECT_TRUE(vchiq.arm_doorbell_rung());
    EXPECT_TRUE(vchiq.irq().level());
    EXPECT_EQ(sink.calls, (std::vector<std::pair<unsigned, bool>>{{66, true}}));
    EXPECT_EQ(rd(kBell0), 0x4u);
    EXPECT_FALSE(vchiq.irq().level());
    EXPECT_FALSE(vchiq.arm_doorbell_rung());
    EXPECT_EQ(sink.calls, (std::vector<std::pair<unsigned, bool>>{{66, true}, {66, false}}));
    EXPECT_EQ(rd(kBell0), 0u); // a second read: not rung
}

TEST_F(Bcm2835VchiqTest, TwoRingsBeforeAReadAreOne) {
    vchiq.ring_arm_doorbell();
    vchiq.ring_arm_doorbell();
    EXPECT_EQ(rd(kBell0), 0x4u);
    EXPECT_EQ(rd(kBell0), 0u);
    EXPECT_FALSE(vchiq.irq().level());
}

// remote_event_signal(): `writel(0, g_regs + BELL2)`; the value does not matter.
TEST_F(Bcm2835VchiqTest, Bell2WriteRingsTheVideoCore) {
    wr(kBell2, 0);
    EXPECT_TRUE(vchiq.vc_doorbell_rung());
    EXPECT_EQ(vchiq.vc_doorbell_rings(), 1u);
    EXPECT_FALSE(vchiq.irq().level()); // the ARM's line is the other doorbell
    wr(kBell2, 0xffffffff);
    EXPECT_EQ(vchiq.vc_doorbell_rings(), 2u);
    EXPECT_TRUE(vchiq.take_vc_doorbell());
    EXPECT_FALSE(vchiq.vc_doorbell_rung());
    EXPECT_FALSE(vchiq.take_vc_doorbell());
    EXPECT_EQ(vchiq.vc_doorbell_rings(), 2u);
    EXPECT_TRUE(sink.calls.empty());
}

TEST_F(Bcm2835VchiqTest, ByteAccessesActOnTheRegister) {
    vchiq.ring_arm_doorbell();
    EXPECT_EQ(rd(kBell0, 1), 0x4u); // the lane holding bit 2, and the read clears
    EXPECT_FALSE(vchiq.irq().level());
    wr(kBell2 + 3, 0x12, 1);
    EXPECT_EQ(vchiq.vc_doorbell_rings(), 1u);
}

// Undocumented registers read 0 and ignore writes; nothing rings.
TEST_F(Bcm2835VchiqTest, OtherRegistersAndBadAccesses) {
    for (uint32_t offset : {0x04u, 0x08u, 0x0cu, 0x10u, 0x38u})
        EXPECT_EQ(rd(offset), 0u) << offset;
    wr(0x00, 0x4);
    wr(0x04, 0x4);
    wr(0x0c, 0x4);
    EXPECT_FALSE(vchiq.irq().level());
    EXPECT_EQ(rd(kBell0), 0u);
    EXPECT_EQ(vchiq.vc_doorbell_rings(), 0u);
    vchiq.ring_arm_doorbell();
    EXPECT_EQ(rd(0x3c), 0u);    // outside the window: a guest error, no side effect
    EXPECT_EQ(rd(0x01, 2), 0u); // misaligned halfword
    EXPECT_TRUE(vchiq.irq().level());
    wr(0x3c, 0);
    EXPECT_EQ(vchiq.vc_doorbell_rings(), 0u);
}

TEST_F(Bcm2835VchiqTest, ResetQuietensBothDoorbells) {
    vchiq.ring_arm_doorbell();
    wr(kBell2, 0);
    vchiq.reset();
    EXPECT_FALSE(vchiq.irq().level());
    EXPECT_FALSE(vchiq.vc_doorbell_rung());
    EXPECT_EQ(vchiq.vc_doorbell_rings(), 0u);
    EXPECT_EQ(rd(kBell0), 0u);
}

} // namespace
