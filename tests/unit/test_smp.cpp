// Several cores (src/machine/smp.cpp, src/cpu/multicore.cpp): the secondaries' boot
// through mailbox 3, time at the CPU rate on every core, WFE/SEV, the exclusive
// monitor across a switch, and the options, through guest code on a raspi2b.
#include <cstdlib>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "devices/bcm2836_local_intc.hpp"
#include "kernel/kernel_model.hpp"
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

uint32_t word(Machine& m, uint32_t addr) {
    uint32_t v = 0;
    EXPECT_TRUE(m.bus().read32(addr, v));
    return v;
}

/// Every core at `addr` (as --smp-start all leaves them when an image is loaded).
void start_all_at(Machine& m, uint32_t addr) {
    for (unsigned i = 0; i < m.core_count(); ++i)
        m.core(i).set_pc(addr, false);
}

constexpr uint32_t kData = 0x20000; // where the snippets below store what they saw

} // namespace

// Core 0 writes 0x9000 to core 1's mailbox 3 (0x4000009C, write-set): the firmware's
// boot loop (modelled by piemu) clears the mailbox and starts core 1 there with r0 = 0,
// r1 = r2 = 0 (an ELF-style start has no boot parameters). Cores 2 and 3 stay parked.
TEST(Smp, ParkedCoreStartsAtTheAddressWrittenToItsMailbox3) {
    MachineOptions o;
    o.max_insns = 1'000'000;
    auto m = make(o);
    // movw/movt r0,#0x4000009c; mov r1,#0x9000; str r1,[r0]; movw/movt r3,#kData;
    // 1: ldr r2,[r3]; cmp r2,#0; beq 1b; 2: wfi; b 2b
    put(*m, 0x8000,
        {0xe300009c, 0xe3440000, 0xe3a01a09, 0xe5801000, 0xe3003000, 0xe3403002, 0xe5932000,
         0xe3520000, 0x0afffffc, 0xe320f003, 0xeafffffd});
    // movw/movt r4,#kData; str r0,[r4,#8]; str r1,[r4,#12]; str r2,[r4,#16];
    // mrc MPIDR -> r5; str r5,[r4,#4]; mov r6,#1; str r6,[r4]; 2: wfi; b 2b
    put(*m, 0x9000,
        {0xe3004000, 0xe3404002, 0xe5840008, 0xe584100c, 0xe5842010, 0xee105fb0, 0xe5845004,
         0xe3a06001, 0xe5846000, 0xe320f003, 0xeafffffd});
    m->core(0).set_pc(0x8000, false);
    for (unsigned r = 0; r < 3; ++r)
        m->core(1).set_reg(r, 0xdead0000 + r);
    EXPECT_TRUE(m->core_parked(1));
    EXPECT_FALSE(m->smp_active());

    RunOutcome out = m->run();
    // Both cores end in WFI with nothing to wake them.
    EXPECT_EQ(out.kind, RunOutcome::Kind::Deadlock);
    EXPECT_EQ(out.exit_status, kExitGuestHang);
    EXPECT_TRUE(m->smp_active());
    EXPECT_FALSE(m->core_parked(1));
    EXPECT_TRUE(m->core_parked(2));
    EXPECT_TRUE(m->core_parked(3));
    EXPECT_EQ(word(*m, kData), 1u) << "core 1 ran";
    EXPECT_EQ(word(*m, kData + 4), 0x80000f01u) << "core 1's MPIDR";
    EXPECT_EQ(word(*m, kData + 8), 0u) << "r0";
    EXPECT_EQ(word(*m, kData + 12), 0u) << "r1";
    EXPECT_EQ(word(*m, kData + 16), 0u) << "r2";
    EXPECT_EQ(m->bus().mmio_read(0x400000dc, 4), 0u) << "mailbox 3 cleared by the boot loop";
    EXPECT_EQ(m->core(2).instructions(), 0u);
}

// Four cores each run 200,000 instructions between two reads of CNTPCT: each sees
// exactly its own instructions' worth of time (19.2 MHz / 900 MHz), not four times as
// much, and the machine's time is a quarter of the instructions all cores retired.
TEST(Smp, EveryCoreSeesTimeAdvanceAtTheCpuRate) {
    MachineOptions o;
    o.smp_start = "all";
    o.max_insns = 10'000'000;
    auto m = make(o);
    // mrc MPIDR -> r9; and r9,#3; movw/movt r10,#kData; mrrc CNTPCT -> r4,r5;
    // movw/movt r6,#100000; 1: subs r6,#1; bne 1b; mrrc CNTPCT -> r7,r8;
    // add r11,r10,#16; str r7,[r11, r9, lsl #2]; sub r7,r4; str r7,[r10, r9, lsl #2];
    // 2: wfi; b 2b
    put(*m, 0x8000,
        {0xee109fb0, 0xe2099003, 0xe300a000, 0xe340a002, 0xec554f0e, 0xe30866a0, 0xe3406001,
         0xe2566001, 0x1afffffd, 0xec587f0e, 0xe28ab010, 0xe78b7109, 0xe0477004, 0xe78a7109,
         0xe320f003, 0xeafffffd});
    start_all_at(*m, 0x8000);
    EXPECT_TRUE(m->smp_active());
    RunOutcome out = m->run();
    EXPECT_EQ(out.kind, RunOutcome::Kind::Deadlock);
    // About 200,003 instructions from the first read to the second: 4266.7 ticks of
    // the 19.2 MHz counter (4266 or 4267 by where the ticks fall).
    // The second reads themselves: about 200,006 cycles after the start on each core
    // (4266.79 ticks), give or take the rounds' slack.
    for (unsigned c = 0; c < 4; ++c) {
        EXPECT_NEAR(word(*m, kData + 4 * c), 4266.7, 1) << "core " << c;
        EXPECT_GE(word(*m, kData + 16 + 4 * c), 4266u) << "core " << c;
        EXPECT_LE(word(*m, kData + 16 + 4 * c), 4266u + 22) << "core " << c; // 1000 cycles
    }
    EXPECT_GT(m->instructions(), 800'000u);
}

// Core 1 waits in WFE until core 0 (after 100,000 instructions of its own) stores a
// flag and executes SEV: core 1 sleeps meanwhile, retiring almost nothing.
TEST(Smp, WfeSleepsUntilAnotherCoreExecutesSev) {
    MachineOptions o;
    o.smp_start = "all";
    o.max_insns = 10'000'000;
    auto m = make(o);
    // mrc MPIDR -> r9; and r9,#3; movw/movt r10,#kData; cmp r9,#1; beq core1;
    // cmp r9,#0; bne park; movw r6,#50000; 1: subs r6,#1; bne 1b; mov r1,#1;
    // str r1,[r10]; sev; park: wfi; b park;
    // core1: wfe; ldr r1,[r10]; cmp r1,#0; beq core1; str r1,[r10,#4]; b park
    put(*m, 0x8000, {0xee109fb0, 0xe2099003, 0xe300a000, 0xe340a002, 0xe3590001, 0x0a000009,
                     0xe3590000, 0x1a000005, 0xe30c6350, 0xe2566001, 0x1afffffd, 0xe3a01001,
                     0xe58a1000, 0xe320f004, 0xe320f003, 0xeafffffd, 0xe320f002, 0xe59a1000,
                     0xe3510000, 0x0afffffb, 0xe58a1004, 0xeafffff7});
    start_all_at(*m, 0x8000);
    RunOutcome out = m->run();
    EXPECT_EQ(out.kind, RunOutcome::Kind::Deadlock);
    EXPECT_EQ(word(*m, kData + 4), 1u) << "core 1 saw the flag";
    EXPECT_GT(m->core(0).instructions(), 100'000u);
    EXPECT_LT(m->core(1).instructions(), 50u) << "core 1 slept in WFE";
}

// Core 0 sets core 1's mailbox 0 after about 1,500 cycles, in the second round; core
// 1, whose mailbox 0 interrupt is enabled, spins with IRQs on and runs after core 0 in
// each round, from the round's start. It must take the IRQ no earlier than the time
// core 0 raised it (its CNTPCT in the handler >= core 0's just before the write), not
// at the start of its share.
TEST(Smp, AnInterruptAnotherCoreRaisesIsNotTakenBeforeItWasRaised) {
    MachineOptions o;
    o.smp_start = "all";
    o.max_insns = 1'000'000;
    auto m = make(o);
    // 0x18: b irq; irq: mrrc CNTPCT -> r4,r5; str r4,[r10,#4]; mov r1,#1;
    // str r1,[r10,#8]; 1: wfi; b 1b
    put(*m, 0x18,
        {0xeaffffff, 0xec554f0e, 0xe58a4004, 0xe3a01001, 0xe58a1008, 0xe320f003, 0xeafffffd});
    // mrc MPIDR -> r9; and r9,#3; movw/movt r10,#kData; cmp r9,#1; beq core1;
    // cmp r9,#0; bne park; movw r6,#750; 2: subs r6,#1; bne 2b; mrrc CNTPCT -> r4,r5;
    // str r4,[r10]; movw/movt r0,#0x40000090; mov r1,#1; str r1,[r0];
    // park: wfi; b park;
    // core1: movw/movt r0,#0x40000054; mov r1,#1; str r1,[r0]; cpsie i; 3: b 3b
    put(*m, 0x100,
        {0xee109fb0, 0xe2099003, 0xe300a000, 0xe340a002, 0xe3590001, 0x0a00000c, 0xe3590000,
         0x1a000008, 0xe30062ee, 0xe2566001, 0x1afffffd, 0xec554f0e, 0xe58a4000, 0xe3000090,
         0xe3440000, 0xe3a01001, 0xe5801000, 0xe320f003, 0xeafffffd, 0xe3000054, 0xe3440000,
         0xe3a01001, 0xe5801000, 0xf1080080, 0xeafffffe});
    start_all_at(*m, 0x100);
    m->run();
    ASSERT_EQ(word(*m, kData + 8), 1u) << "core 1 took the IRQ";
    uint32_t raised = word(*m, kData), taken = word(*m, kData + 4);
    EXPECT_GE(raised, 30u) << "core 0 wrote in the second round (1,500 cycles = 32 ticks)";
    EXPECT_GE(taken, raised) << "taken at " << taken << " ticks, raised at " << raised;
    EXPECT_LE(taken, raised + 2);
}

namespace {

/// Core 0 alone: with a long quantum (100,000 cycles, 2,133 ticks) and cores 1-3
/// asleep in WFI with nothing pending (from the second round on), it arms its generic
/// timer 100 ticks ahead, enables IRQs and goes on with `wait`. Returns the ticks
/// from the arming to the interrupt's handler.
uint32_t lone_core_timer_latency(const std::vector<uint32_t>& wait) {
    MachineOptions o;
    o.smp_start = "all";
    o.quantum = 100'000;
    o.max_insns = 2'000'000;
    auto m = make(o);
    // 0x18: b irq; irq: mrrc CNTPCT -> r4,r5; str r4,[r10,#4]; CNTP_CTL = 0;
    // mov r1,#1; str r1,[r10,#8]; 1: wfi; b 1b
    put(*m, 0x18,
        {0xeaffffff, 0xec554f0e, 0xe58a4004, 0xe3a00000, 0xee0e0f32, 0xe3a01001, 0xe58a1008,
         0xe320f003, 0xeafffffd});
    // mrc MPIDR -> r9; and r9,#3; movw/movt r10,#kData; cmp r9,#0; bne park;
    // movw r6,#0xffff; 3: subs r6,#1; bne 3b (131,000 cycles: the others are asleep
    // by then); movw/movt r0,#0x40000040; mov r1,#2; str r1,[r0] (core 0's CNTPNSIRQ
    // on); mrrc CNTPCT -> r4,r5; str r4,[r10]; CNTP_TVAL = 100; CNTP_CTL = 1; cpsie i;
    // `wait`; park: wfi; b park
    std::vector<uint32_t> code = {0xee109fb0, 0xe2099003, 0xe300a000, 0xe340a002, 0xe3590000,
                                  0x1a000000, 0xe30f6fff, 0xe2566001, 0x1afffffd, 0xe3000040,
                                  0xe3440000, 0xe3a01002, 0xe5801000, 0xec554f0e, 0xe58a4000,
                                  0xe3a00064, 0xee0e0f12, 0xe3a00001, 0xee0e0f32, 0xf1080080};
    code.insert(code.end(), wait.begin(), wait.end());
    code[5] |= uint32_t(code.size() - 7); // bne park: to the word after `wait`
    code.insert(code.end(), {0xe320f003, 0xeafffffd});
    put(*m, 0x100, code);
    start_all_at(*m, 0x100);
    m->run();
    EXPECT_EQ(word(*m, kData + 8), 1u) << "core 0 took its timer interrupt";
    uint32_t armed = word(*m, kData), taken = word(*m, kData + 4);
    return taken - armed;
}

} // namespace

// Core 0 runs alone: its round lasts to the next timer event, so its generic timer's
// interrupt is taken 100 ticks after it is armed, not at the end of a 100,000-cycle
// round.
TEST(Smp, ALoneRunningCoreTakesItsTimerInterruptOnTime) {
    uint32_t latency = lone_core_timer_latency({0xeafffffe}); // 2: b 2b
    EXPECT_GE(latency, 100u);
    EXPECT_LE(latency, 102u) << "taken " << latency << " ticks after it was armed";
}

// As above, but core 0 waits for the interrupt in WFI after arming its timer: the
// round, which was to last to the next event armed when it began (none), ends at the
// timer's expiry, which the core armed during it, not at the end it was given. Before
// this was checked when the core stopped in WFI, the interrupt was taken at the end of
// the quantum.
TEST(Smp, ALoneCoreWaitingInWfiTakesTheTimerInterruptItArmedOnTime) {
    uint32_t latency = lone_core_timer_latency({0xe320f003, 0xeafffffd}); // 2: wfi; b 2b
    EXPECT_GE(latency, 100u);
    EXPECT_LE(latency, 102u) << "taken " << latency << " ticks after it was armed";
}

// An LDREX/STREX pair that a switch to another core splits fails (the monitor is
// cleared), even though the other core did not touch the word (QEMU's STREX alone
// compares values and would succeed). On one core the same pair succeeds.
TEST(Smp, StrexFailsWhenAnotherCoreRanSinceTheLdrex) {
    if (!ArmCore::exclusive_monitor_reachable())
        GTEST_SKIP() << "this Unicorn's exclusive monitor is not reachable";
    // mrc MPIDR -> r9; and r9,#3; movw/movt r10,#kData; cmp r9,#0; bne park;
    // add r0,r10,#0x100; ldrex r1,[r0]; b 1f; 1: strex r2,r1,[r0]; str r2,[r10];
    // park: wfi; b park
    const std::vector<uint32_t> code = {0xee109fb0, 0xe2099003, 0xe300a000, 0xe340a002, 0xe3590000,
                                        0x1a000004, 0xe28a0c01, 0xe1901f9f, 0xeaffffff, 0xe1802f91,
                                        0xe58a2000, 0xe320f003, 0xeafffffd};
    for (bool smp : {false, true}) {
        SCOPED_TRACE(smp ? "four cores, quantum 1" : "one core");
        MachineOptions o;
        o.smp_start = smp ? "all" : "parked";
        o.quantum = 1; // every block ends a core's share of the round
        o.max_insns = 100'000;
        auto m = make(o);
        put(*m, 0x8000, code);
        put(*m, kData, {0xffffffff});
        start_all_at(*m, 0x8000);
        m->run();
        EXPECT_EQ(word(*m, kData), smp ? 1u : 0u) << "STREX status";
    }
}

// An Inner Shareable TLB invalidation reaches every core of the domain: core 1
// reads through a 4 KiB page (its TLB keeps the translation), core 0 remaps the page
// and executes TLBIMVAIS, then core 1 reads through it again and must see the new
// page. Each core's Unicorn has its own TLB, which a guest TLBI alone never reaches.
TEST(Smp, InnerShareableTlbInvalidationReachesTheOtherCores) {
    MachineOptions o;
    o.smp_start = "all";
    o.max_insns = 1'000'000;
    auto m = make(o);
    constexpr uint32_t kTable = 0x00c00000, kL2 = 0x00c04000;
    for (uint32_t i = 0; i < 16; ++i) // sections: VA = PA for the first 16 MiB
        put(*m, kTable + i * 4, {(i << 20) | (0x3u << 10) | 0x2});
    put(*m, kTable + 6 * 4, {kL2 | 0x1});           // VA 0x600000: a coarse table
    put(*m, kL2, {0x00700000 | (0x3u << 4) | 0x2}); // its page 0 -> PA 0x700000
    put(*m, 0x700400, {0x11111111});
    put(*m, 0x710400, {0x22222222});
    // mrc MPIDR -> r9; and r9,#3; cmp r9,#1; beq core1; cmp r9,#0; bne park;
    // 1: ldr r2,[r10,#8]; cmp r2,#0; beq 1b; str r3,[r4]; dsb; TLBIMVAIS r0; dsb; isb;
    // mov r1,#1; str r1,[r10]; park: wfi; b park;
    // core1: ldr r1,[r0,#0x400]; str r1,[r10,#8]; 2: ldr r2,[r10]; cmp r2,#0; beq 2b;
    // ldr r1,[r0,#0x400]; str r1,[r10,#4]; b park
    put(*m, 0x8000,
        {0xee109fb0, 0xe2099003, 0xe3590001, 0x0a00000d, 0xe3590000, 0x1a000009, 0xe59a2008,
         0xe3520000, 0x0afffffc, 0xe5843000, 0xf57ff04f, 0xee080f33, 0xf57ff04f, 0xf57ff06f,
         0xe3a01001, 0xe58a1000, 0xe320f003, 0xeafffffd, 0xe5901400, 0xe58a1008, 0xe59a2000,
         0xe3520000, 0x0afffffc, 0xe5901400, 0xe58a1004, 0xeafffff5});
    start_all_at(*m, 0x8000);
    for (unsigned i = 0; i < m->core_count(); ++i) {
        ArmCore& c = m->core(i);
        c.set_reg(0, 0x600000);
        c.set_reg(3, 0x00710000 | (0x3u << 4) | 0x2); // the new descriptor: PA 0x710000
        c.set_reg(4, kL2);
        c.set_reg(10, kData);
        c.set_cp15(2, 0, 0, 0, kTable); // TTBR0
        c.set_cp15(2, 0, 0, 2, 0);      // TTBCR
        c.set_cp15(3, 0, 0, 0, 0x1);    // DACR: domain 0 client
        c.set_cp15(1, 0, 0, 0, c.sctlr() | 1);
    }
    RunOutcome out = m->run();
    EXPECT_EQ(out.kind, RunOutcome::Kind::Deadlock);
    EXPECT_EQ(word(*m, kData + 8), 0x11111111u) << "core 1's first read: the old page";
    EXPECT_EQ(word(*m, kData), 1u) << "core 0 remapped the page";
    EXPECT_EQ(word(*m, kData + 4), 0x22222222u) << "core 1's second read: the new page";
}

// The monitor itself: LDREX, a host clear, STREX fails; LDREX, STREX succeeds.
TEST(Smp, ClearingTheExclusiveMonitorFailsTheNextStrex) {
    if (!ArmCore::exclusive_monitor_reachable())
        GTEST_SKIP() << "this Unicorn's exclusive monitor is not reachable";
    MachineOptions o;
    o.max_insns = 1'000;
    auto m = make(o);
    ArmCore& c = m->core();
    // ldrex r1,[r0]; wfi | strex r2,r1,[r0]; wfi
    put(*m, 0x8000, {0xe1901f9f, 0xe320f003});
    put(*m, 0x8100, {0xe1802f91, 0xe320f003});
    c.set_reg(0, kData);
    for (bool clear : {true, false}) {
        c.set_pc(0x8000, false);
        c.run();
        if (clear)
            c.clear_exclusive_monitor();
        c.set_pc(0x8100, false);
        c.run();
        EXPECT_EQ(c.reg(2), clear ? 1u : 0u) << (clear ? "cleared" : "not cleared");
    }
}

// A raw image with --smp-start all: every core starts in the boot stub
// (firmware/boot/armstub.S), whose secondaries wait in WFE on their mailbox 3. Core 0,
// in the image, writes core 1's entry there and executes SEV (Linux's
// brcm,bcm2836-smp enable method): core 1 leaves the stub for it; 2 and 3 sleep on.
TEST(Smp, BootStubSecondariesStartOnMailboxAndSev) {
    char path[] = "/tmp/piemu-smp-raw-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::vector<uint32_t> image(0x100 / 4 + 8, 0);
    // movw/movt r0,#0x4000009c; movw r1,#0x8100; str r1,[r0]; dsb; sev;
    // movw/movt r3,#kData; 1: ldr r2,[r3]; cmp r2,#0; beq 1b; 2: wfi; b 2b
    const uint32_t core0[] = {0xe300009c, 0xe3440000, 0xe3081100, 0xe5801000, 0xf57ff04f,
                              0xe320f004, 0xe3003000, 0xe3403002, 0xe5932000, 0xe3520000,
                              0x0afffffc, 0xe320f003, 0xeafffffd};
    // at 0x8100: movw/movt r4,#kData; mrc MPIDR -> r5; str r5,[r4,#4]; mov r6,#1;
    // str r6,[r4]; 2: wfi; b 2b
    const uint32_t core1[] = {0xe3004000, 0xe3404002, 0xee105fb0, 0xe5845004,
                              0xe3a06001, 0xe5846000, 0xe320f003, 0xeafffffd};
    std::copy(std::begin(core0), std::end(core0), image.begin());
    std::copy(std::begin(core1), std::end(core1), image.begin() + 0x100 / 4);
    ASSERT_EQ(write(fd, image.data(), image.size() * 4), ssize_t(image.size() * 4));
    close(fd);
    MachineOptions o;
    o.smp_start = "all";
    o.max_insns = 1'000'000;
    auto m = make(o);
    ASSERT_FALSE(m->load(path, std::nullopt).is_error());
    unlink(path);
    for (unsigned i = 0; i < 4; ++i)
        EXPECT_EQ(m->core(i).pc(), 0u) << "core " << i << " starts in the stub";
    RunOutcome out = m->run();
    EXPECT_EQ(out.kind, RunOutcome::Kind::Deadlock);
    EXPECT_EQ(word(*m, kData), 1u) << "core 1 ran the image";
    EXPECT_EQ(word(*m, kData + 4), 0x80000f01u);
    EXPECT_EQ(m->bus().mmio_read(0x400000dc, 4), 0u) << "the stub cleared mailbox 3";
    for (unsigned i : {2u, 3u})
        EXPECT_LT(m->core(i).pc(), 0x100u) << "core " << i << " still in the stub";
}

TEST(Smp, OptionsAreChecked) {
    struct Case {
        const char* what;
        MachineOptions o;
    };
    MachineOptions bad_start;
    bad_start.smp_start = "some";
    MachineOptions zero_quantum;
    zero_quantum.quantum = 0;
    MachineOptions km_all;
    km_all.smp_start = "all";
    km_all.kernel_model = true;
    MachineOptions bare_maxcpus;
    bare_maxcpus.maxcpus = 1;
    MachineOptions too_many;
    too_many.kernel_model = true;
    too_many.maxcpus = 5;
    for (auto& [what, o] : std::vector<Case>{{"--smp-start some", bad_start},
                                             {"--quantum 0", zero_quantum},
                                             {"--smp-start all", km_all},
                                             {"--maxcpus 1", bare_maxcpus},
                                             {"--maxcpus 5", too_many}}) {
        o.uart = "none";
        auto m = Machine::create(o);
        ASSERT_TRUE(m.is_error()) << what;
        EXPECT_EQ(m.error().message.rfind(what, 0), 0u) << m.error().message;
    }
}

// The kernel model's smp_init() writes secondary_startup to cores 1-3's mailbox 3:
// they leave the boot loop, idle in their swapper/N and take their own arch_timer
// ticks (HZ=100: two each in 25 ms), counted in their own /proc/interrupts column.
TEST(Smp, KernelModelBringsUpEveryCore) {
    MachineOptions o;
    o.kernel_model = true;
    o.duration_ns = 25'000'000;
    auto m = make(o);
    m->start_idle();
    m->run();
    EXPECT_TRUE(m->smp_active());
    auto& km = *m->kernel_model();
    for (unsigned cpu = 0; cpu < 4; ++cpu) {
        SCOPED_TRACE(cpu);
        EXPECT_FALSE(m->core_parked(cpu));
        EXPECT_TRUE(km.cpu_online(cpu));
        EXPECT_EQ(km.current(cpu)->comm, "swapper/" + std::to_string(cpu));
        EXPECT_EQ(km.irq().kstat_irqs_cpu(17, cpu), 2u) << km.irq().show_interrupts();
        EXPECT_EQ(m->bus().mmio_read(0x4000008c + 16 * cpu, 4), 0u) << "mailbox 3 cleared";
    }
    EXPECT_EQ(km.irq().show_interrupts().rfind("           CPU0       CPU1       CPU2       CPU3"
                                               "       \n",
                                               0),
              0u);
}

// --maxcpus 2: CPUs 0 and 1 come up (two columns, ticks on both); cores 2 and 3 stay
// in the firmware's boot loop.
TEST(Smp, KernelModelMaxcpus) {
    MachineOptions o;
    o.kernel_model = true;
    o.maxcpus = 2;
    o.duration_ns = 25'000'000;
    auto m = make(o);
    m->start_idle();
    m->run();
    auto& km = *m->kernel_model();
    EXPECT_FALSE(m->core_parked(1));
    EXPECT_TRUE(m->core_parked(2));
    EXPECT_TRUE(m->core_parked(3));
    EXPECT_FALSE(km.cpu_online(2));
    EXPECT_EQ(km.irq().kstat_irqs_cpu(17, 1), 2u);
    EXPECT_EQ(km.irq().kstat_irqs_cpu(17, 2), 0u);
    EXPECT_EQ(km.irq().show_interrupts().rfind("           CPU0       CPU1       \n", 0), 0u);
    EXPECT_NE(km.log().dmesg().find("smp: Brought up 1 node, 2 CPUs\n"), std::string::npos);
}
