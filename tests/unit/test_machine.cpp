// The machine: unclaimed physical addresses, --strict-mmio, WFI idling and the
// instruction limit, through guest code on a raspi2b.
#include <cstdlib>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "piemu/exit_status.hpp"
#include "piemu/machine.hpp"

using namespace piemu;

namespace {

std::unique_ptr<Machine> make(MachineOptions o) {
    o.uart = "none";
    auto m = Machine::create(o);
    EXPECT_FALSE(m.is_error()) << (m.is_error() ? m.error().message : "");
    return m.release_value();
}

void put(Machine& m, uint32_t addr, std::vector<uint32_t> words) {
    ASSERT_TRUE(
        m.bus().write_phys(addr, {reinterpret_cast<uint8_t*>(words.data()), words.size() * 4}));
}

// mov r1,#0x55; movw/movt r0,#0x50000010; ldr r1,[r0]; wfi; b .
const std::vector<uint32_t> kReadUnclaimed = {0xe3a01055, 0xe3000010, 0xe3450000,
                                              0xe5901000, 0xe320f003, 0xeafffffe};

} // namespace

TEST(Machine, UnclaimedAddressReadsAsZero) {
    MachineOptions o;
    o.max_insns = 10'000;
    auto m = make(o);
    put(*m, 0x8000, kReadUnclaimed);
    m->core().set_pc(0x8000, false);
    RunOutcome r = m->run();
    // The guest then waits for an interrupt nothing can raise.
    EXPECT_EQ(r.kind, RunOutcome::Kind::Deadlock);
    EXPECT_EQ(r.exit_status, kExitGuestHang);
    EXPECT_EQ(m->core().reg(1), 0u);
    EXPECT_EQ(m->core().mode(), uint32_t(CpuMode::Svc));
}

TEST(Machine, StrictMmioMakesUnclaimedAccessesExternalAborts) {
    MachineOptions o;
    o.strict_mmio = true;
    o.max_insns = 10'000;
    auto m = make(o);
    put(*m, 0x8000, kReadUnclaimed);
    put(*m, 0x10, {0xe320f003, 0xeafffffe}); // data abort vector: wfi; b .
    m->core().set_pc(0x8000, false);
    m->run();
    ArmCore& c = m->core();
    EXPECT_EQ(c.mode(), uint32_t(CpuMode::Abt));
    EXPECT_EQ(c.cp15(5, 0, 0, 0), fsc::SyncExternal); // DFSR
    EXPECT_EQ(c.cp15(6, 0, 0, 0), 0x50000010u);       // DFAR
    EXPECT_EQ(c.reg(14), 0x800cu + 8);                // LR_abt = faulting + 8
    EXPECT_EQ(c.reg(1), 0x55u) << "the load did not complete";
}

TEST(Machine, StrictMmioStillReachesDevices) {
    MachineOptions o;
    o.strict_mmio = true;
    o.max_insns = 10'000;
    auto m = make(o);
    // movw/movt r0,#0x3f201018 (UART FR); ldr r1,[r0]; wfi
    put(*m, 0x8000, {0xe3010018, 0xe3430f20, 0xe5901000, 0xe320f003});
    m->core().set_pc(0x8000, false);
    m->run();
    EXPECT_EQ(m->core().mode(), uint32_t(CpuMode::Svc));
    EXPECT_EQ(m->core().reg(1) & 0x90u, 0x90u) << "FR: TX FIFO empty, RX FIFO empty";
}

TEST(Machine, WfiSkipsVirtualTimeToTheNextTimerEvent) {
    MachineOptions o;
    o.max_insns = 100'000;
    auto m = make(o);
    // System timer C1 = CLO + 1000 us, enable GPU IRQ 1; wfi; then read CLO into r2.
    // movw/movt r0,#0x3f003000; ldr r1,[r0,#4]; add r1,r1,#1000; str r1,[r0,#0x10];
    // movw/movt r3,#0x3f00b210; mov r4,#2; str r4,[r3]; wfi; ldr r2,[r0,#4]; b .
    put(*m, 0x8000,
        {0xe3030000, 0xe3430f00, 0xe5901004, 0xe2811ffa, 0xe5801010, 0xe30b3210, 0xe3433f00,
         0xe3a04002, 0xe5834000, 0xe320f003, 0xe5902004, 0xeafffffe});
    m->core().set_pc(0x8000, false);
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::InsnLimit);
    // The IRQ line woke the core (CPSR.I is set: not taken) after 1000 us of virtual
    // time, though only a few instructions ran before the wfi.
    EXPECT_GE(m->core().reg(2), 1000u);
    EXPECT_LE(m->core().reg(2), 1002u);
    EXPECT_EQ(m->core().mode(), uint32_t(CpuMode::Svc));
}

TEST(Machine, InstructionLimitStopsAtABlockBoundary) {
    MachineOptions o;
    o.max_insns = 5'000;
    auto m = make(o);
    put(*m, 0x8000, {0xe2800001, 0xeafffffd}); // add r0,#1; b . - 4
    m->core().set_reg(0, 0);
    m->core().set_pc(0x8000, false);
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::InsnLimit);
    EXPECT_EQ(r.exit_status, kExitInsnLimit);
    // Each block is two instructions; the run stops at the first boundary at or past
    // the limit, so exactly 5000 ran and r0 counted 2500 loop iterations.
    EXPECT_EQ(m->instructions(), 5'000u);
    EXPECT_EQ(m->core().reg(0), 2'500u);
}

// The BCM2836 reports cluster 0xf in MPIDR, the BCM2837 cluster 0 (as their DTs'
// cpu nodes say); a guest reads it with mrc p15,0,r0,c0,c0,5.
TEST(Machine, GuestReadsTheBoardsMpidr) {
    for (auto [board, mpidr] : {std::pair{"raspi2b", 0x80000f00u}, {"raspi3b", 0x80000000u}}) {
        SCOPED_TRACE(board);
        MachineOptions o;
        o.board = board;
        o.max_insns = 1'000;
        auto m = make(o);
        put(*m, 0x8000, {0xee100fb0, 0xe320f003}); // mrc MPIDR -> r0; wfi
        m->core().set_pc(0x8000, false);
        m->run();
        EXPECT_EQ(m->core().reg(0), mpidr);
    }
}

// A raw image starts through the boot stub at 0: VFP enabled as the Pi firmware
// leaves it, r0 = 0, r1 = the BCM2709 machine type, then the image at 0x8000.
TEST(Machine, RawImageStartsThroughTheBootStub) {
    char path[] = "/tmp/piemu-raw-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    // mov r5,r0; mov r6,r1; vmrs r7,fpexc; mrc CPACR -> r8; wfi
    uint32_t code[] = {0xe1a05000, 0xe1a06001, 0xeef87a10, 0xee118f50, 0xe320f003};
    ASSERT_EQ(write(fd, code, sizeof code), ssize_t(sizeof code));
    close(fd);
    MachineOptions o;
    o.max_insns = 10'000;
    auto m = make(o);
    ASSERT_FALSE(m->load(path, std::nullopt).is_error());
    EXPECT_EQ(m->core().pc(), 0u) << "execution starts in the stub";
    m->core().set_reg(0, 0x1234);
    m->run();
    unlink(path);
    EXPECT_EQ(m->core().reg(5), 0u);
    EXPECT_EQ(m->core().reg(6), 0xc42u);
    EXPECT_EQ(m->core().reg(7), 0x40000000u) << "FPEXC.EN";
    EXPECT_EQ(m->core().reg(8) & (0xfu << 20), 0xfu << 20) << "CPACR cp10/cp11 full access";
    EXPECT_EQ(m->core().pc(), 0x8014u);
}

// Interrupt latency (docs/architecture.md): a line that rises while a translation
// block runs is seen at the next block boundary. The virtual timer expires inside a
// page of straight-line code; the IRQ comes no earlier than the deadline and at most
// one block (512 instructions, QEMU's cap) after it.
TEST(Machine, InterruptIsTakenAtTheNextBlockBoundary) {
    MachineOptions o;
    o.max_insns = 200'000;
    auto m = make(o);
    // Vectors at 0: IRQ (0x18): mov r9, lr; mov r10, r0; b .
    put(*m, 0x18, {0xe1a0900e, 0xe1a0a000, 0xeafffffe});
    // 0x8000: CNTV_TVAL = 100 ticks; CNTV_CTL = 1; local intc core 0 timer control
    // (0x40000040) = CNTV IRQ (bit 3); mov r0,#0; cpsie i; b 0x8400
    put(*m, 0x8000,
        {0xe3a01064, 0xee0e1f13, 0xe3a01001, 0xee0e1f33, 0xe3a02040, 0xe3442000, 0xe3a01008,
         0xe5821000, 0xe3a00000, 0xf1080080, 0xea0000f4});
    // 0x8400: 256 x add r0,r0,#1 (exactly one page), then b 0x8400 at 0x8800
    std::vector<uint32_t> block(256, 0xe2800001);
    put(*m, 0x8400, block);
    put(*m, 0x8800, {0xeaffff00});
    m->core().set_pc(0x8000, false);
    m->run();
    ArmCore& c = m->core();
    ASSERT_EQ(c.mode(), uint32_t(CpuMode::Irq)) << "the timer IRQ was taken";
    uint32_t interrupted = c.reg(9) - 4;
    EXPECT_GE(interrupted, 0x8400u);
    EXPECT_LE(interrupted, 0x8800u);
    // 100 ticks at 19.2 MHz on the 900 MHz raspi2b: the deadline is cycle 4688; the
    // IRQ came at most one block (256 + the branch) later.
    uint64_t deadline = m->clock().ticks_to_cycles(100, 19'200'000);
    EXPECT_EQ(deadline, 4688u);
    // Instructions retired before the IRQ: 11 of setup, then 256 adds and a branch
    // per pass. Never before the deadline, at most one block (QEMU's limit: 512
    // instructions) after it.
    uint64_t at_irq = 11 + c.reg(10) + c.reg(10) / 256 + ((interrupted - 0x8400) == 0x400);
    EXPECT_GE(at_irq, deadline - 1);
    EXPECT_LT(at_irq, deadline + 512);
}
