// The stepper (src/debug/stepper.*) on small programs put into a raspi2b's RAM: the
// lines it prints for instructions, register and memory changes, exceptions, and a
// Thumb-2 IT block stepped one instruction at a time.
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "debug/stepper.hpp"
#include "piemu/machine.hpp"

using namespace piemu;

namespace {

struct Session {
    std::unique_ptr<Machine> m;
    std::FILE* out = std::tmpfile();
    std::unique_ptr<debug::Stepper> st;

    Session() {
        MachineOptions o;
        o.uart = "none";
        auto made = Machine::create(o);
        EXPECT_FALSE(made.is_error());
        m = made.release_value();
        st = std::make_unique<debug::Stepper>(*m, out);
    }
    ~Session() {
        st.reset();
        std::fclose(out);
    }
    void put(uint32_t addr, const std::vector<uint8_t>& bytes) {
        ASSERT_TRUE(m->bus().write_phys(addr, bytes));
    }
    /// Runs the commands and returns what the stepper printed for them.
    std::string run(const std::vector<std::string>& commands) {
        long start = std::ftell(out);
        for (const auto& c : commands)
            st->command(c);
        std::fflush(out);
        long end = std::ftell(out);
        std::string text(size_t(end - start), '\0');
        std::fseek(out, start, SEEK_SET);
        size_t n = std::fread(text.data(), 1, text.size(), out);
        text.resize(n);
        std::fseek(out, end, SEEK_SET);
        return text;
    }
};

std::vector<uint8_t> words(std::initializer_list<uint32_t> w) {
    std::vector<uint8_t> b;
    for (uint32_t v : w)
        for (int i = 0; i < 4; ++i)
            b.push_back(uint8_t(v >> (8 * i)));
    return b;
}

std::vector<uint8_t> halves(std::initializer_list<uint16_t> h) {
    std::vector<uint8_t> b;
    for (uint16_t v : h) {
        b.push_back(uint8_t(v));
        b.push_back(uint8_t(v >> 8));
    }
    return b;
}

} // namespace

TEST(Stepper, PrintsTheInstructionAndWhatItChanged) {
    Session s;
    // mov r0,#0x2000; mov r1,#0x55; str r1,[r0,#4]; b .
    s.put(0x8000, words({0xe3a00a02, 0xe3a01055, 0xe5801004, 0xeafffffe}));
    s.m->core().set_pc(0x8000, false);
    s.m->core().set_reg(0, 0);
    s.m->core().set_reg(1, 0);
    EXPECT_EQ(s.run({"stepi 3"}), "(piemu) stepi 3\n"
                                  "0x00008000  e3a00a02  mov r0, #0x2000\n"
                                  "    r0        0x00000000 -> 0x00002000\n"
                                  "0x00008004  e3a01055  mov r1, #0x55\n"
                                  "    r1        0x00000000 -> 0x00000055\n"
                                  "0x00008008  e5801004  str r1, [r0, #4]\n"
                                  "    [0x00002004] <- 0x00000055\n");
    EXPECT_EQ(s.m->core().pc(), 0x800cu);
}

TEST(Stepper, StepsAThumb2ItBlockOneInstructionAtATime) {
    Session s;
    // ARM: add r0,pc,#1; bx r0 -> Thumb at 0x8008:
    // movs r0,#1; cmp r0,#1; ite eq; moveq r1,#7; movne r1,#9; movs r2,#5; b .
    s.put(0x8000, words({0xe28f0001, 0xe12fff10}));
    s.put(0x8008, halves({0x2001, 0x2801, 0xbf0c, 0x2107, 0x2109, 0x2205, 0xe7fe}));
    s.m->core().set_pc(0x8000, false);
    s.m->core().set_reg(1, 0);
    s.m->core().set_reg(2, 0);
    s.run({"stepi 4"}); // to the ite
    std::string out = s.run({"stepi 4"});
    // Each line of the block is its own step, shown with its IT condition; the
    // skipped movne changes nothing.
    // ITSTATE (CPSR[15:10,26:25]) opens at 0x0c and advances per instruction.
    const char* mode = "IRQs off  FIQs off  Mode SVC_32  ISA Thumb";
    EXPECT_EQ(out, fmt::format("(piemu) stepi 4\n"
                               "0x0000800c  bf0c      ite eq\n"
                               "    cpsr      0x600001f3 -> 0x60000df3  (nZCv  {0}  ITSTATE 0x0c)\n"
                               "0x0000800e  2107      moveq r1, #7\n"
                               "    r1        0x00000000 -> 0x00000007\n"
                               "    cpsr      0x60000df3 -> 0x600019f3  (nZCv  {0}  ITSTATE 0x18)\n"
                               "0x00008010  2109      movne r1, #9\n"
                               "    cpsr      0x600019f3 -> 0x600001f3  (nZCv  {0})\n"
                               "0x00008012  2205      movs r2, #5\n"
                               "    r2        0x00000000 -> 0x00000005\n"
                               "    cpsr      0x600001f3 -> 0x200001f3  (nzCv  {0})\n",
                               mode));
    EXPECT_EQ(s.m->core().pc(), 0x8014u);
}

TEST(Stepper, AnExceptionEntryIsItsOwnLineWithTheBankedRegisters) {
    Session s;
    // The guest's own vectors at 0: SVC -> 0x08: b 0x100; at 0x100: movs pc, lr.
    s.put(0x08, words({0xea00003c}));
    s.put(0x100, words({0xe1b0f00e}));
    s.put(0x8000, words({0xef000000, 0xeafffffe})); // svc #0; b .
    s.m->core().set_pc(0x8000, false);
    std::string out = s.run({"stepi 3"});
    EXPECT_NE(out.find("-- exception: SVC taken from SVC_32 at 0x00008000; LR_svc=0x00008004, "
                       "SPSR_svc=0x"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("-- exception return to 0x00008004 in SVC_32\n"), std::string::npos) << out;
    EXPECT_EQ(s.m->core().pc(), 0x8004u);
}

TEST(Stepper, UntilReturnStopsWhenTheExceptionReturns) {
    Session s;
    s.put(0x08, words({0xea00003c}));                           // b 0x100
    s.put(0x100, words({0xe3a05005, 0xe1b0f00e}));              // mov r5,#5; movs pc, lr
    s.put(0x8000, words({0xef000000, 0xe3a06006, 0xeafffffe})); // svc; mov r6,#6; b .
    s.m->core().set_pc(0x8000, false);
    s.run({"until return"});
    EXPECT_EQ(s.m->core().pc(), 0x8004u);
    EXPECT_EQ(s.m->core().reg(5), 5u);
}

TEST(Stepper, BadCommandsSayWhatIsWrong) {
    Session s;
    EXPECT_EQ(s.run({"frob"}), "(piemu) frob\nfrob: unknown command (help lists them)\n");
    EXPECT_EQ(s.run({"stepi x"}), "(piemu) stepi x\nstepi: expected a positive count\n");
    EXPECT_EQ(s.run({"x/0w 0"}), "(piemu) x/0w 0\n/0w: expected x/Nw with N 1-1024\n");
    EXPECT_EQ(s.run({"b nowhere"}),
              "(piemu) b nowhere\nnowhere: not an exception (irq, fiq, svc, abort, undef), a "
              "symbol or an address\n");
}

// A bare guest has no /proc/interrupts: `irqs` prints the deliveries at the controllers.
TEST(Stepper, IrqsOfABareGuestIsTheControllersDeliveries) {
    Session s;
    EXPECT_EQ(s.run({"irqs"}), "(piemu) irqs\n" + s.m->deliveries().show(s.m->clock().now_ns()));
    EXPECT_NE(s.run({"irqs"}).find("local_intc      3          0 "), std::string::npos);
}
