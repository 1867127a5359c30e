// Linux 4.14's vsnprintf over guest format strings and argument words, and the ARM
// crash report (__show_regs, __die, __do_kernel_fault, panic) as lines of text.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>
#include <sys/types.h>

#include "kernel/guest_format.hpp"

using namespace piemu::kernel;

namespace {

struct Symbol {
    uint32_t start, size;
    const char* name;
};

constexpr Symbol kSymbols[] = {
    {0x8010bb80, 0xa0, "handle_irq_event_percpu"},
    {0x8010bc20, 0x48, "dummy_irq_handler"},
};

/// kallsyms over kSymbols: "name+0xoff/0xsize" (the kernel's %#lx prints 0 as 0x0).
std::optional<std::string> symbolize(uint32_t addr) {
    for (const Symbol& s : kSymbols) {
        if (addr >= s.start && addr - s.start < s.size) {
            char buf[128];
            std::snprintf(buf, sizeof buf, "%s+0x%x/0x%x", s.name, addr - s.start, s.size);
            return std::string(buf);
        }
    }
    return std::nullopt;
}

/// Guest strings by address; anything else is unreadable.
struct FakeGuest {
    std::map<uint32_t, std::string> strings = {
        {0x80c00000, "hello"},
        {0x80c00100, "timer"},
    };

    GuestFormatEnv env() const {
        return GuestFormatEnv{
            .read_string = [this](uint32_t addr, size_t max) -> std::optional<std::string> {
                auto it = strings.find(addr);
                if (it == strings.end())
                    return std::nullopt;
                return it->second.substr(0, max);
            },
            .symbolize = symbolize,
        };
    }

    std::string format(std::string_view fmt, std::vector<uint32_t> args = {}) const {
        return format_guest_printk(fmt, args, env());
    }
};

std::string host(const char* fmt, auto value) {
    char buf[128];
    std::snprintf(buf, sizeof buf, fmt, value);
    return buf;
}

} // namespace

TEST(GuestFormat, IntegerConversionsMatchHostSnprintfWhereCAgrees) {
    // Each format applied to a 32-bit word, with the host type C's printf expects for it.
    enum class Host { Int, UInt, Long, ULong, SizeT, SSizeT };
    const std::pair<const char*, Host> formats[] = {
        {"%d", Host::Int},     {"%i", Host::Int},       {"%5d", Host::Int},   {"%-5d|", Host::Int},
        {"%05d", Host::Int},   {"%+d", Host::Int},      {"% d", Host::Int},   {"%.3d", Host::Int},
        {"%8.3d", Host::Int},  {"%-8.3d|", Host::Int},  {"%+5d", Host::Int},  {"%hd", Host::Int},
        {"%hhd", Host::Int},   {"%u", Host::UInt},      {"%x", Host::UInt},   {"%08x", Host::UInt},
        {"%#x", Host::UInt},   {"%#010x", Host::UInt},  {"%X", Host::UInt},   {"%#X", Host::UInt},
        {"%o", Host::UInt},    {"%#o", Host::UInt},     {"%hu", Host::UInt},  {"%hhx", Host::UInt},
        {"%ld", Host::Long},   {"%lu", Host::ULong},    {"%lx", Host::ULong}, {"%zu", Host::SizeT},
        {"%zd", Host::SSizeT}, {"%-#12x|", Host::UInt},
    };
    // No zero: C drops the '#' prefix of 0, the kernel does not (tested below).
    const uint32_t values[] = {1, 42, 0xffffffff, 0x7fffffff, 0x80000000, 0x1234abcd, 255};
    FakeGuest g;
    for (const auto& [fmt, type] : formats) {
        for (uint32_t v : values) {
            std::string want;
            switch (type) {
            case Host::Int:
                want = host(fmt, static_cast<int>(static_cast<int32_t>(v)));
                break;
            case Host::UInt:
                want = host(fmt, static_cast<unsigned>(v));
                break;
            case Host::Long:
                want = host(fmt, static_cast<long>(static_cast<int32_t>(v)));
                break;
            case Host::ULong:
                want = host(fmt, static_cast<unsigned long>(v));
                break;
            case Host::SizeT:
                want = host(fmt, static_cast<size_t>(v));
                break;
            case Host::SSizeT:
                want = host(fmt, static_cast<ssize_t>(static_cast<int32_t>(v)));
                break;
            }
            EXPECT_EQ(g.format(fmt, {v}), want) << fmt << " of " << v;
        }
    }
    EXPECT_EQ(g.format("%d", {0xffffffd6}), "-42");
    EXPECT_EQ(g.format("[%5d] [%-5x] [%05u]", {7, 0xab, 42}), "[    7] [ab   ] [00042]");
    EXPECT_EQ(g.format("%hhd %hd", {0x180, 0x18000}), "-128 -32768");
}

TEST(GuestFormat, KernelNumberQuirks) {
    FakeGuest g;
    EXPECT_EQ(g.format("%#x", {0}), "0x0") << "number() prints the 0x of a zero";
    EXPECT_EQ(g.format("%#08x", {0}), "0x000000");
    EXPECT_EQ(g.format("%#o", {8}), "010");
    EXPECT_EQ(g.format("%08.3d", {5}), "00000005") << "the '0' flag pads despite a precision";
    EXPECT_EQ(g.format("%.0d", {0}), "0") << "number() always prints one digit";
    EXPECT_EQ(g.format("%tx", {0xffffffff}), "ffffffffffffffff")
        << "ptrdiff_t is sign-extended to the 64-bit num";
    EXPECT_EQ(g.format("%5%|"), "%|") << "%% takes no width";
}

TEST(GuestFormat, TimestampStyleUnsignedLongs) {
    FakeGuest g;
    EXPECT_EQ(g.format("%5lu.%06lu", {3, 1234}), "    3.001234");
    EXPECT_EQ(g.format("[%5lu.%06lu] ", {123456, 999999}), "[123456.999999] ");
}

TEST(GuestFormat, StringsFromGuestMemory) {
    FakeGuest g;
    EXPECT_EQ(g.format("%s!", {0x80c00000}), "hello!");
    EXPECT_EQ(g.format("[%-8s] [%8s]", {0x80c00000, 0x80c00100}), "[hello   ] [   timer]");
    EXPECT_EQ(g.format("%.3s|%8.3s|", {0x80c00000, 0x80c00000}), "hel|     hel|");
    EXPECT_EQ(g.format("%.s", {0x80c00000}), "hello") << "a '.' without digits sets no precision";
    EXPECT_EQ(g.format("%.*s|", {0xffffffff, 0x80c00000}), "|") << "a negative * precision is 0";
    EXPECT_EQ(g.format("%.*s", {2, 0x80c00000}), "he");
}

TEST(GuestFormat, StringOfNullOrUnreadablePointer) {
    FakeGuest g;
    EXPECT_EQ(g.format("%s", {0}), "(null)");
    EXPECT_EQ(g.format("%s", {0xfff}), "(null)") << "4.14 treats any pointer below PAGE_SIZE";
    EXPECT_EQ(g.format("[%10s]", {0}), "[    (null)]");
    EXPECT_EQ(g.format("%s", {0x1000}), "(efault)");
    EXPECT_EQ(g.format("name=%s.", {0x80000000}), "name=(efault).");
    EXPECT_EQ(g.format("%.0s|", {0x80000000}), "|") << "precision 0 reads no byte";
}

TEST(GuestFormat, CharConversion) {
    FakeGuest g;
    EXPECT_EQ(g.format("%c%c", {'o', 0x14b}), "oK") << "(unsigned char) of the int";
    EXPECT_EQ(g.format("[%3c] [%-3c]", {'a', 'b'}), "[  a] [b  ]");
}

TEST(GuestFormat, SymbolPointers) {
    FakeGuest g;
    EXPECT_EQ(g.format("PC is at %pS", {0x8010bc60}), "PC is at dummy_irq_handler+0x40/0x48");
    EXPECT_EQ(g.format("%pF", {0x8010bc20}), "dummy_irq_handler+0x0/0x48");
    EXPECT_EQ(g.format("(%ps) (%pf)", {0x8010bc60, 0x8010bb80}),
              "(dummy_irq_handler) (handle_irq_event_percpu)");
    EXPECT_EQ(g.format("%pB", {0x8010bc20}), "handle_irq_event_percpu+0xa0/0xa0")
        << "a return address just past a function belongs to that function";
    EXPECT_EQ(g.format("%pS", {0xdeadbeef}), "0xdeadbeef") << "sprint_symbol's fallback";
    EXPECT_EQ(g.format("%ps", {0x00c0ffee}), "0xc0ffee");
    EXPECT_EQ(g.format("%pS", {0}), "  (null)") << "pointer() checks NULL before the symbol";
    EXPECT_EQ(g.format("%-20ps|", {0x8010bc60}), "dummy_irq_handler   |");
}

TEST(GuestFormat, PlainPointersAreNotHashed) {
    FakeGuest g;
    EXPECT_EQ(g.format("%p", {0x80001000}), "80001000");
    EXPECT_EQ(g.format("%p", {0x1234}), "00001234");
    EXPECT_EQ(g.format("%p", {0}), "  (null)");
    EXPECT_EQ(g.format("%pK", {0}), "00000000") << "%pK is exempt from the NULL check";
    EXPECT_EQ(g.format("%10p|", {0xc0de}), "      c0de|");
    EXPECT_EQ(g.format("%pSfoo bar", {0x8010bc60}), "dummy_irq_handler+0x40/0x48 bar")
        << "vsnprintf skips every alphanumeric after %p";
    EXPECT_EQ(g.format("%pM", {0x80c00000}), "80c00000") << "NOTE: %pM is not modelled";
}

TEST(GuestFormat, StarWidthTakesAnArgument) {
    FakeGuest g;
    EXPECT_EQ(g.format("[%*d]", {5, 42}), "[   42]");
    EXPECT_EQ(g.format("[%*d]", {0xfffffffb, 42}), "[42   ]") << "a negative width left-aligns";
    EXPECT_EQ(g.format("[%-*s]", {7, 0x80c00000}), "[hello  ]");
    EXPECT_EQ(g.format("[%*.*d]", {6, 4, 7}), "[  0007]");
}

TEST(GuestFormat, LongLongTakesTwoWordsAtAnEvenEabiWord) {
    FakeGuest g;
    // args[0] is r1, which a doubleword skips: it goes to r2:r3, low word first.
    EXPECT_EQ(g.format("%llx", {0xdead, 0x9abcdef0, 0x12345678}), "123456789abcdef0");
    EXPECT_EQ(g.format("%lld", {0xdead, 0xfffffffe, 0xffffffff}), "-2");
    EXPECT_EQ(g.format("%d %llu", {7, 0xd4a51000, 0xe8}), "7 1000000000000") << "r1, r2:r3";
    // r3 is left unused: the doubleword goes to the 8-aligned first stack slot.
    EXPECT_EQ(g.format("%d %d %Lx", {1, 2, 0xdead, 0x9abcdef0, 0x12345678}),
              "1 2 123456789abcdef0");
    EXPECT_EQ(g.format("%llx %d", {0xdead, 1, 2, 3}), "200000001 3");
    EXPECT_EQ(g.format("%d %d %d %d %lld", {1, 2, 3, 4, 5}), "1 2 3 4 0")
        << "a doubleword past the fifth word reads as 0";
}

TEST(GuestFormat, PercentLiteral) {
    FakeGuest g;
    EXPECT_EQ(g.format("100%% done"), "100% done");
    EXPECT_EQ(g.format("%d%%", {50}), "50%");
}

TEST(GuestFormat, MissingArgumentsReadAsZero) {
    FakeGuest g;
    EXPECT_EQ(g.format("%d %s %x %p", {}), "0 (null) 0   (null)");
    EXPECT_EQ(g.format("%d %d", {9}), "9 0");
    EXPECT_EQ(g.format("%d %d %d %d %d %d", {1, 2, 3, 4, 5, 6}), "1 2 3 4 5 6");
    std::vector<uint32_t> many(kPrintkArgWords + 1, 7);
    std::string fmt36;
    for (size_t i = 0; i < many.size(); ++i)
        fmt36 += "%d";
    EXPECT_EQ(g.format(fmt36, many), std::string(kPrintkArgWords, '7') + "0")
        << "printk reads r1-r3 and 32 stacked words";
}

TEST(GuestFormat, UnknownConversionEndsTheOutput) {
    FakeGuest g;
    EXPECT_EQ(g.format("abc %n def", {1}), "abc ") << "format_decode: %n is invalid";
    EXPECT_EQ(g.format("x=%jd y=%d", {1, 2}), "x=") << "4.14 has no j qualifier";
    EXPECT_EQ(g.format("tail %"), "tail ");
    EXPECT_EQ(g.format("%5y after"), "");
}

TEST(GuestFormat, OutputStopsAtPrintksLineBuffer) {
    FakeGuest g;
    EXPECT_EQ(g.format("%2000d", {1}).size(), kPrintkTextMax);
    EXPECT_EQ(kPrintkTextMax, 991u) << "LOG_LINE_MAX 992 with its NUL";
    EXPECT_EQ(g.format(std::string_view("ab\0cd", 5)), "ab") << "the format is a C string";
}

namespace {

PtRegsValues known_frame() {
    PtRegsValues regs{};
    const uint32_t r[18] = {0x00000000, 0xb9c57b00, 0x00000001, 0x80c04d40, 0xb9d0e000, 0x00000000,
                            0x80e0f0a8, 0x00000001, 0x80e03d00, 0xb9c58000, 0x00000000, 0xb9c59e74,
                            0xb9c59e78, 0xb9c59fc8, 0x8010bc18, 0x8010bc40, 0x40070093, 0xffffffff};
    std::copy(std::begin(r), std::end(r), regs.uregs);
    return regs;
}

/// Code around 0x8010bc40 (ARM and Thumb views), the stack page 0xb9c58000 with the
/// word at 0xb9c59fd0 unreadable, every stack word holding its low 16 address bits.
bool read_word(uint32_t addr, uint32_t& word) {
    static const std::map<uint32_t, uint32_t> code = {
        {0x8010bc30, 0xe3a00000}, {0x8010bc34, 0xe5901000}, {0x8010bc38, 0x4b02b510},
        {0x8010bc3c, 0x47986818}, {0x8010bc40, 0xdeffbd10}, {0x8010bc44, 0x0000bf00},
    };
    if (auto it = code.find(addr); it != code.end()) {
        word = it->second;
        return true;
    }
    if (addr >= 0xb9c58000 && addr < 0xb9c5a000 && addr != 0xb9c59fd0) {
        word = addr & 0xffff;
        return true;
    }
    return false;
}

CrashContext known_context() {
    CrashContext ctx;
    ctx.cpu = 2;
    ctx.pid = 1;
    ctx.comm = "swapper/0";
    ctx.version = "#1 SMP PREEMPT Thu Jan 1 00:00:00 UTC 1970";
    ctx.task = 0xb9c57b00;
    ctx.stack = 0xb9c58000;
    ctx.sctlr = 0x10c5387d;
    ctx.ttbr0 = 0x0000406a;
    ctx.dacr = 0x00000015;       // kernel, user and io domains as clients
    ctx.addr_limit = 0x7f000000; // USER_DS = TASK_SIZE
    ctx.symbolize = symbolize;
    ctx.read_word = read_word;
    return ctx;
}

const std::vector<std::string> kKnownRegs = {
    "CPU: 2 PID: 1 Comm: swapper/0 Not tainted 4.14.39-piemu #1\n",
    "Hardware name: BCM2835\n",
    "task: b9c57b00 task.stack: b9c58000\n",
    "PC is at dummy_irq_handler+0x20/0x48\n",
    "LR is at handle_irq_event_percpu+0x98/0xa0\n",
    "pc : [<8010bc40>]    lr : [<8010bc18>]    psr: 40070093\n",
    "sp : b9c59fc8  ip : b9c59e78  fp : b9c59e74\n",
    "r10: 00000000  r9 : b9c58000  r8 : 80e03d00\n",
    "r7 : 00000001  r6 : 80e0f0a8  r5 : 00000000  r4 : b9d0e000\n",
    "r3 : 80c04d40  r2 : 00000001  r1 : b9c57b00  r0 : 00000000\n",
    "Flags: nZcv  IRQs off  FIQs on  Mode SVC_32  ISA ARM  Segment user\n",
    "Control: 10c5387d  Table: 0000406a  DAC: 00000015\n",
};

std::string flags_of(uint32_t cpsr, const CrashContext& ctx) {
    PtRegsValues regs = known_frame();
    regs.uregs[16] = cpsr;
    return show_regs_lines(regs, ctx).at(10);
}

} // namespace

TEST(GuestFormatCrash, ShowRegsOfAKnownFrame) {
    EXPECT_EQ(show_regs_lines(known_frame(), known_context()), kKnownRegs);
}

TEST(GuestFormatCrash, FlagsLineModesAndSegments) {
    CrashContext ctx = known_context();
    EXPECT_EQ(flags_of(0xa000011f, ctx),
              "Flags: NzCv  IRQs on  FIQs on  Mode SYS_32  ISA ARM  Segment user\n")
        << "the kernel's name is SYS_32, not piemu::mode_name()'s SYSTEM_32";
    EXPECT_EQ(flags_of(0x100000f3, ctx),
              "Flags: nzcV  IRQs off  FIQs off  Mode SVC_32  ISA Thumb  Segment user\n");
    EXPECT_EQ(flags_of(0x01000014, ctx),
              "Flags: nzcv  IRQs on  FIQs on  Mode UK4_32  ISA Jazelle  Segment user\n");
    EXPECT_EQ(flags_of(0x00000003, ctx),
              "Flags: nzcv  IRQs on  FIQs on  Mode SVC_26  ISA ARM  Segment user\n");
    ctx.addr_limit = 0; // KERNEL_DS
    EXPECT_EQ(flags_of(0x40070093, ctx),
              "Flags: nZcv  IRQs off  FIQs on  Mode SVC_32  ISA ARM  Segment kernel\n");
    ctx.dacr = 0x00000051; // software PAN: DOMAIN_USER has no access
    EXPECT_EQ(flags_of(0x40070093, ctx),
              "Flags: nZcv  IRQs off  FIQs on  Mode SVC_32  ISA ARM  Segment none\n");
}

TEST(GuestFormatCrash, TaintAndNullTaskPointers) {
    EXPECT_EQ(print_tainted(0), "Not tainted");
    EXPECT_EQ(print_tainted(1u << kTaintDie | 1u << kTaintWarn), "Tainted: G      D W      ");
    EXPECT_EQ(print_tainted(1u << kTaintWarn | 1u << 10), "Tainted: G        WC     ")
        << "as a 4.14.34-v7+ oops prints W and C";
    CrashContext ctx = known_context();
    ctx.taint = 1u << kTaintDie;
    ctx.task = 0;
    ctx.stack = 0;
    ctx.hardware.clear();
    std::vector<std::string> lines = show_regs_lines(known_frame(), ctx);
    EXPECT_EQ(lines.at(0),
              "CPU: 2 PID: 1 Comm: swapper/0 Tainted: G      D         4.14.39-piemu #1\n");
    EXPECT_EQ(lines.at(1), "task:   (null) task.stack:   (null)\n") << "%p of NULL";
    PtRegsValues regs = known_frame();
    regs.uregs[15] = 0;
    EXPECT_EQ(show_regs_lines(regs, known_context()).at(3), "PC is at 0x0\n")
        << "print_symbol(), not %pS, in 4.14";
}

TEST(GuestFormatCrash, DieReportWithStackAndCode) {
    CrashContext ctx = known_context();
    ctx.backtrace = {"Backtrace: \n", "[<8010bc40>] (dummy_irq_handler) from [<8010bc18>]"};
    std::vector<std::string> want = {"Internal error: Oops - BUG: 0 [#1] PREEMPT SMP ARM\n",
                                     "Modules linked in:\n"};
    want.insert(want.end(), kKnownRegs.begin(), kKnownRegs.end());
    want.insert(want.end(), {
                                "Process swapper/0 (pid: 1, stack limit = 0xb9c58210)\n",
                                "Stack: (0xb9c59fc8 to 0xb9c5a000)\n",
                                "9fc0:                   00009fc8 00009fcc ???????? 00009fd4 "
                                "00009fd8 00009fdc\n",
                                "9fe0: 00009fe0 00009fe4 00009fe8 00009fec 00009ff0 00009ff4 "
                                "00009ff8 00009ffc\n",
                                "Backtrace: \n",
                                "[<8010bc40>] (dummy_irq_handler) from [<8010bc18>]\n",
                                "Code: e3a00000 e5901000 4b02b510 47986818 (deffbd10) \n",
                            });
    EXPECT_EQ(die_lines("Oops - BUG", 0, known_frame(), ctx), want);
}

TEST(GuestFormatCrash, DieHeaderFollowsTheKernelConfig) {
    CrashContext ctx = known_context();
    ctx.die_counter = 2;
    ctx.preempt = false;
    ctx.thumb2_kernel = true;
    EXPECT_EQ(die_lines("Oops", 0x17, known_frame(), ctx).at(0),
              "Internal error: Oops: 17 [#2] SMP THUMB2\n");
    PtRegsValues thumb = known_frame();
    thumb.uregs[16] |= 1u << 5;
    EXPECT_EQ(die_lines("Oops", 0x817, thumb, known_context()).at(0),
              "Internal error: Oops: 817 [#1] PREEMPT SMP ARM\n")
        << "S_ISA is CONFIG_THUMB2_KERNEL, not the frame's T bit";
}

TEST(GuestFormatCrash, CodeLineInThumbStateShowsHalfwords) {
    PtRegsValues regs = known_frame();
    regs.uregs[15] = 0x8010bc42;
    regs.uregs[16] = 0x40070033; // SVC, Thumb
    EXPECT_EQ(die_lines("Oops - undefined instruction", 0, regs, known_context()).back(),
              "Code: 4b02 6818 4798 bd10 (deff) bf00 \n");
}

TEST(GuestFormatCrash, CodeLineStopsAtAnUnreadableWord) {
    PtRegsValues regs = known_frame();
    regs.uregs[15] = 0x8010bc38; // words from 0x8010bc28: two unreadable first
    EXPECT_EQ(die_lines("Oops", 5, regs, known_context()).back(), "Code: bad PC value\n");
    regs.uregs[15] = 0x8010bc48; // 0x8010bc48 itself is unreadable
    EXPECT_EQ(die_lines("Oops", 5, regs, known_context()).back(),
              "Code: 4b02b510 47986818 deffbd10 0000bf00 bad PC value\n");
}

TEST(GuestFormatCrash, UserModeFrameHasNoStackOrCode) {
    PtRegsValues regs = known_frame();
    regs.uregs[16] = 0x60000010;
    std::vector<std::string> lines =
        die_lines("Oops - undefined instruction", 0, regs, known_context());
    EXPECT_EQ(lines.back(), "Process swapper/0 (pid: 1, stack limit = 0xb9c58210)\n");
    CrashContext irq = known_context();
    irq.in_interrupt = true;
    EXPECT_EQ(die_lines("Oops", 0, regs, irq).back().substr(0, 6), "Code: ");
}

TEST(GuestFormatCrash, StackDumpWithoutATaskStackUsesSpsBlock) {
    CrashContext ctx = known_context();
    ctx.stack = 0;
    std::vector<std::string> lines = die_lines("Oops", 0, known_frame(), ctx);
    EXPECT_EQ(lines.at(15), "Stack: (0xb9c59fc8 to 0xb9c5a000)\n");
}

TEST(GuestFormatCrash, KernelFaultLine) {
    EXPECT_EQ(kernel_fault_line(0),
              "Unable to handle kernel NULL pointer dereference at virtual address 00000000\n");
    EXPECT_EQ(kernel_fault_line(0xfff),
              "Unable to handle kernel NULL pointer dereference at virtual address 00000fff\n");
    EXPECT_EQ(kernel_fault_line(0x80000000),
              "Unable to handle kernel paging request at virtual address 80000000\n");
}

TEST(GuestFormatCrash, PanicLines) {
    EXPECT_EQ(panic_lines("Fatal exception in interrupt"),
              (std::vector<std::string>{
                  "Kernel panic - not syncing: Fatal exception in interrupt\n",
                  "---[ end Kernel panic - not syncing: Fatal exception in interrupt\n"}));
    EXPECT_EQ(panic_lines("Attempted to kill init! exitcode=0x00000004\n"),
              (std::vector<std::string>{
                  "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000004\n", "\n",
                  "---[ end Kernel panic - not syncing: Attempted to kill init! "
                  "exitcode=0x00000004\n",
                  "\n"}))
        << "4.14 keeps the message's own newline";
    EXPECT_EQ(panic_lines(std::string(2000, 'x')).at(0).size(),
              std::string("Kernel panic - not syncing: \n").size() + 1023);
}
