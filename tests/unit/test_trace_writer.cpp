// The trace writer against Linux 4.14's tracefs `trace` file: the reference lines of
// a Raspberry Pi 3 (linux-irq-facts.md section 6), every flag combination of
// trace_print_lat_fmt(), the comm/pid/CPU/timestamp columns, each event's
// TP_printk text, and the header byte for byte.
//
// The reference notes show lines with their leading blanks stripped; the kernel
// right-aligns the comm in 16 columns, so the expected lines below carry them.
#include <algorithm>
#include <sstream>

#include <gtest/gtest.h>

#include "piemu/trace.hpp"

using namespace piemu::trace;

namespace {

/// A recorder with every event enabled, big enough for any test here.
Recorder all_events(unsigned nr_cpus = 4) {
    return Recorder({.nr_cpus = nr_cpus, .buffer_size = 64 * 48, .events = EventFilter::all()});
}

/// The lines of a recorder's trace (without the header).
std::vector<std::string> lines_of(const Recorder& rec, const WriterOptions& o = {}) {
    std::vector<std::string> out;
    rec.for_each_line(o, [&](const TraceLine& l) { out.push_back(format_line(l)); });
    return out;
}

/// The fields text of the only event recorded.
template <typename E>
std::string text_of(const E& e, Recorder& rec) {
    rec.clear();
    rec.record(Context{}, e);
    std::string text;
    rec.for_each_line({}, [&](const TraceLine& l) { text = l.text; });
    return text;
}

constexpr CpuState kHardirq{.irqs_off = true, .preempt_count = 0x00010000};

} // namespace

TEST(TraceWriter, ReferenceIrqHandlerLinesOfAPi3) {
    Recorder rec = all_events();
    StrId kworker = rec.intern_comm("kworker/0:2");
    StrId mbox = rec.intern("3f00b880.mailbox");
    rec.record(make_context(4486'577'344'000, 0, 20114, kworker, kHardirq),
               ev::irq_handler_entry{.irq = 23, .name = mbox});
    rec.record(make_context(4486'577'346'000, 0, 20114, kworker, kHardirq),
               ev::irq_handler_exit{.irq = 23, .ret = 1});
    EXPECT_EQ(lines_of(rec),
              (std::vector<std::string>{
                  "     kworker/0:2-20114 [000] d.h.  4486.577344: irq_handler_entry: irq=23 "
                  "name=3f00b880.mailbox",
                  "     kworker/0:2-20114 [000] d.h.  4486.577346: irq_handler_exit: irq=23 "
                  "ret=handled",
              }));
}

TEST(TraceWriter, ReferenceFunctionTracerLine) {
    Recorder rec = all_events();
    rec.record(make_context(2208'183'673'000, 0, 1310, rec.intern_comm("kworker/u8:2"), kHardirq),
               ev::function{.ip = rec.intern("bcm2835_mmc_irq"),
                            .parent_ip = rec.intern("__handle_irq_event_percpu")});
    // The pid is left-aligned in 5 columns: "1310 " before the CPU.
    EXPECT_EQ(lines_of(rec),
              (std::vector<std::string>{"    kworker/u8:2-1310  [000] d.h.  2208.183673: "
                                        "bcm2835_mmc_irq <-__handle_irq_event_percpu"}));
}

TEST(TraceWriter, FunctionWithoutParentPrintsNoArrow) {
    Recorder rec = all_events();
    EXPECT_EQ(text_of(ev::function{.ip = rec.intern("__handle_domain_irq")}, rec),
              "__handle_domain_irq");
}

TEST(TraceWriter, FlagCombinationsFromCpuState) {
    struct Case {
        CpuState state;
        const char* expected;
    };
    const Case cases[] = {
        {{.irqs_off = true, .preempt_count = 0x10000}, "d.h."}, // hard irq handler
        {{.irqs_off = true, .need_resched = true, .preempt_count = 0x10000}, "dnh."},
        {{.irqs_off = true}, "d..."},
        {{.need_resched = true, .preempt_need_resched = true, .preempt_count = 0x101}, ".Ns1"},
        {{.irqs_off = true,
          .need_resched = true,
          .preempt_need_resched = true,
          .preempt_count = 0x10102},
         "dNH2"},
        {{}, "...."},
        {{.preempt_need_resched = true}, ".p.."},
        {{.preempt_count = 0x100}, "..s."},                      // serving a softirq
        {{.preempt_count = 0x200}, "...."},                      // bottom halves only disabled
        {{.preempt_count = 0x10001}, "..h1"},                    // hardirq, preempt depth 1
        {{.preempt_count = 0xf}, "...f"},                        // depth as %x
        {{.preempt_count = 0x1f}, "...1f"},                      // two hex digits past 15
        {{.preempt_count = 0x100000}, "..z."},                   // NMI
        {{.irqs_off = true, .preempt_count = 0x110000}, "d.Z."}, // NMI inside a hard irq
    };
    for (const Case& c : cases) {
        Context ctx = make_context(0, 0, 1, 0, c.state);
        EXPECT_EQ(flags_text(ctx.flags, ctx.preempt_count), c.expected) << c.expected;
    }
    EXPECT_EQ(flags_text(TRACE_FLAG_IRQS_NOSUPPORT, 0), "X...");
}

TEST(TraceWriter, CommIsTruncatedToFifteenCharactersAndRightAligned) {
    Recorder rec = all_events();
    StrId comm = rec.intern_comm("a_very_long_thread_name");
    EXPECT_EQ(rec.strings().view(comm), "a_very_long_thr");
    rec.record(make_context(1'000'000'000, 1, 123, comm, {}), ev::softirq_raise{.vec = 1});
    EXPECT_EQ(lines_of(rec),
              (std::vector<std::string>{" a_very_long_thr-123   [001] ....     1.000000: "
                                        "softirq_raise: vec=1 [action=TIMER]"}));
}

TEST(TraceWriter, PidColumnFollowsTraceFindCmdline) {
    Recorder rec = all_events();
    StrId x = rec.intern_comm("x");
    rec.record(make_context(1000, 0, 0, rec.intern_comm("swapper/0"), {}),
               ev::softirq_entry{.vec = 1});
    rec.record(make_context(2000, 0, 32768, x, {}), ev::softirq_entry{.vec = 1});
    rec.record(make_context(3000, 0, 32769, x, {}), ev::softirq_entry{.vec = 1});
    rec.record(make_context(4000, 0, 1234567, x, {}), ev::softirq_entry{.vec = 1});
    std::vector<std::string> prefixes;
    for (const std::string& l : lines_of(rec))
        prefixes.push_back(l.substr(0, l.find(']') + 1));
    EXPECT_EQ(prefixes, (std::vector<std::string>{
                            "          <idle>-0     [000]", // pid 0 is always "<idle>"
                            "               x-32768 [000]", // PID_MAX_DEFAULT still cached
                            "           <...>-32769 [000]", // beyond the cmdline cache
                            "           <...>-1234567 [000]",
                        }));
}

TEST(TraceWriter, CpuColumnIsThreeDigitsOrWider) {
    Recorder rec = all_events(16);
    rec.record(make_context(0, 12, 7, rec.intern_comm("ksoftirqd/12"), {}),
               ev::softirq_exit{.vec = 3});
    EXPECT_EQ(lines_of(rec),
              (std::vector<std::string>{"    ksoftirqd/12-7     [012] ....     0.000000: "
                                        "softirq_exit: vec=3 [action=NET_RX]"}));
    TraceLine big{.comm = "c", .pid = 1, .cpu = 1000, .flags = "....", .name = "x", .text = "y"};
    EXPECT_EQ(format_line(big), "               c-1     [1000] ....     0.000000: x: y");
}

TEST(TraceWriter, TimestampIsRoundedToTheMicrosecond) {
    TraceLine l{.comm = "c", .pid = 1, .flags = "....", .name = "e", .text = "t"};
    auto ts = [&](std::uint64_t ns) {
        l.ts_ns = ns;
        std::string s = format_line(l);
        return s.substr(34, s.find(": ") - 34); // after "COMM-PID [CPU] FLAGS "
    };
    EXPECT_EQ(ts(4486'577'344'499), " 4486.577344"); // ns2usecs(): + 500, / 1000
    EXPECT_EQ(ts(4486'577'344'500), " 4486.577345");
    EXPECT_EQ(ts(0), "    0.000000");
    EXPECT_EQ(ts(999'999'999), "    1.000000");
    EXPECT_EQ(ts(123456'000'001'000), "123456.000001"); // %5lu grows past 5 digits
}

TEST(TraceWriter, IrqEventTexts) {
    Recorder rec = all_events();
    EXPECT_EQ(text_of(ev::irq_handler_exit{.irq = 23, .ret = 0}, rec), "irq=23 ret=unhandled");
    EXPECT_EQ(text_of(ev::irq_handler_exit{.irq = 23, .ret = 2}, rec), "irq=23 ret=handled");
    EXPECT_EQ(text_of(ev::softirq_raise{.vec = 0}, rec), "vec=0 [action=HI]");
    EXPECT_EQ(text_of(ev::softirq_entry{.vec = 5}, rec), "vec=5 [action=IRQ_POLL]");
    EXPECT_EQ(text_of(ev::softirq_exit{.vec = 9}, rec), "vec=9 [action=RCU]");
    EXPECT_EQ(text_of(ev::softirq_raise{.vec = 12}, rec), "vec=12 [action=0xc]");
}

TEST(TraceWriter, SchedSwitchPrevStateLetters) {
    Recorder rec = all_events();
    StrId kw = rec.intern_comm("kworker/0:2"), sw = rec.intern_comm("swapper/0");
    auto sw_text = [&](std::int32_t state) {
        return text_of(ev::sched_switch{.prev_comm = kw,
                                        .prev_pid = 20114,
                                        .prev_prio = 120,
                                        .prev_state = state,
                                        .next_comm = sw,
                                        .next_pid = 0,
                                        .next_prio = 120},
                       rec);
    };
    EXPECT_EQ(sw_text(sched_switch_state(true, TASK_INTERRUPTIBLE)),
              "prev_comm=kworker/0:2 prev_pid=20114 prev_prio=120 prev_state=R+ ==> "
              "next_comm=swapper/0 next_pid=0 next_prio=120");
    auto state = [&](std::int32_t s) {
        std::string t = sw_text(s);
        std::size_t at = t.find("prev_state=") + 11;
        return t.substr(at, t.find(' ', at) - at);
    };
    EXPECT_EQ(state(sched_switch_state(false, TASK_RUNNING)), "R");
    EXPECT_EQ(state(sched_switch_state(false, TASK_INTERRUPTIBLE)), "S");
    EXPECT_EQ(state(sched_switch_state(false, TASK_UNINTERRUPTIBLE)), "D");
    EXPECT_EQ(state(sched_switch_state(false, TASK_IDLE)), "I");
    EXPECT_EQ(state(sched_switch_state(false, 0x20 /* EXIT_ZOMBIE */)), "Z");
    EXPECT_EQ(state(sched_switch_state(false, 0x40 /* TASK_PARKED */)), "P");
    EXPECT_EQ(state(0x3), "S|D"); // __print_flags() joins bits with "|"
}

TEST(TraceWriter, OtherSchedAndIpiEventTexts) {
    Recorder rec = all_events();
    StrId kw = rec.intern_comm("kworker/0:2");
    EXPECT_EQ(
        text_of(ev::sched_wakeup{.comm = kw, .pid = 20114, .prio = 120, .target_cpu = 2}, rec),
        "comm=kworker/0:2 pid=20114 prio=120 target_cpu=002");
    EXPECT_EQ(text_of(ev::sched_process_fork{.parent_comm = rec.intern_comm("kthreadd"),
                                             .parent_pid = 2,
                                             .child_comm = rec.intern_comm("kthreadd"),
                                             .child_pid = 65},
                      rec),
              "comm=kthreadd pid=2 child_comm=kthreadd child_pid=65");
    EXPECT_EQ(
        text_of(
            ev::sched_process_exit{.comm = rec.intern_comm("irq/92-mmc1"), .pid = 65, .prio = 49},
            rec),
        "comm=irq/92-mmc1 pid=65 prio=49");
    EXPECT_EQ(text_of(ev::ipi_raise{.target_cpus = 0x2, .reason = 2}, rec),
              "target_mask=00000002 (Rescheduling interrupts)");
    EXPECT_EQ(text_of(ev::ipi_entry{.reason = 3}, rec), "(Function call interrupts)");
    EXPECT_EQ(text_of(ev::ipi_exit{.reason = 5}, rec), "(IRQ work interrupts)");
    EXPECT_EQ(text_of(ev::ipi_exit{.reason = 9}, rec), "(IPI9)");
}

TEST(TraceWriter, PiemuEventTexts) {
    Recorder rec = all_events();
    StrId pl011 = rec.intern("uart-pl011");
    EXPECT_EQ(text_of(
                  ev::exception_entry{
                      .vector = 6, .pc = 0x80101234, .lr = 0x80101238, .cpsr = 0x60000013},
                  rec),
              "type=irq from=svc pc=0x80101234 lr=0x80101238 cpsr=0x60000013");
    EXPECT_EQ(
        text_of(ev::exception_entry{.vector = 2, .pc = 0x8000, .lr = 0x8000, .cpsr = 0x10}, rec),
        "type=svc from=usr pc=0x00008000 lr=0x00008000 cpsr=0x00000010");
    EXPECT_EQ(text_of(ev::exception_return{.pc = 0x00010000, .cpsr = 0x10}, rec),
              "to=usr pc=0x00010000 cpsr=0x00000010");
    EXPECT_EQ(text_of(ev::irq_line{.device = rec.intern("bcm2835-systimer"),
                                   .line = rec.intern("irq1"),
                                   .level = 1},
                      rec),
              "device=bcm2835-systimer line=irq1 level=1");
    EXPECT_EQ(
        text_of(ev::mmio{.device = pl011, .offset = 0, .size = 4, .value = 0x41, .write = 1}, rec),
        "device=uart-pl011 op=write offset=0x000 size=4 value=0x00000041");
    EXPECT_EQ(text_of(ev::mmio{.device = pl011, .offset = 0x18, .size = 4, .value = 0x90}, rec),
              "device=uart-pl011 op=read offset=0x018 size=4 value=0x00000090");
    EXPECT_EQ(text_of(ev::uart_tx{.device = pl011, .ch = 'A'}, rec), "device=uart-pl011 char=A");
    EXPECT_EQ(text_of(ev::uart_tx{.device = pl011, .ch = '\n'}, rec), "device=uart-pl011 char=\\n");
    EXPECT_EQ(text_of(ev::uart_tx{.device = pl011, .ch = 0x07}, rec),
              "device=uart-pl011 char=\\x07");
    EXPECT_EQ(text_of(ev::uart_tx{.device = pl011, .ch = ' '}, rec),
              "device=uart-pl011 char=\\x20");
}

TEST(TraceWriter, HeaderByteForByte) {
    Recorder rec({.nr_cpus = 4});
    StrId kw = rec.intern_comm("kworker/0:2");
    rec.record(make_context(4486'577'344'000, 0, 20114, kw, kHardirq),
               ev::irq_handler_entry{.irq = 23, .name = rec.intern("3f00b880.mailbox")});
    rec.record(make_context(4486'577'346'000, 0, 20114, kw, kHardirq),
               ev::irq_handler_exit{.irq = 23, .ret = 1});
    std::ostringstream out;
    rec.write(out);
    EXPECT_EQ(out.str(),
              "# tracer: nop\n"
              "#\n"
              "# entries-in-buffer/entries-written: 2/2   #P:4\n"
              "#\n"
              "#                              _-----=> irqs-off\n"
              "#                             / _----=> need-resched\n"
              "#                            | / _---=> hardirq/softirq\n"
              "#                            || / _--=> preempt-depth\n"
              "#                            ||| /     delay\n"
              "#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION\n"
              "#              | |       |   ||||       |         |\n"
              "     kworker/0:2-20114 [000] d.h.  4486.577344: irq_handler_entry: irq=23 "
              "name=3f00b880.mailbox\n"
              "     kworker/0:2-20114 [000] d.h.  4486.577346: irq_handler_exit: irq=23 "
              "ret=handled\n");
}

TEST(TraceWriter, HeaderOfAnEmptyBufferAnd4140Style) {
    Recorder rec({.nr_cpus = 2});
    std::ostringstream out;
    rec.write(out);
    const std::string legend = "#                              _-----=> irqs-off\n";
    EXPECT_TRUE(out.str().starts_with("# tracer: nop\n"
                                      "#\n"
                                      "# entries-in-buffer/entries-written: 0/0   #P:2\n"
                                      "#\n" +
                                      legend))
        << out.str();
    const std::string text = out.str();
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 11); // the header only
    // 4.14.0 dropped print_event_info() from this header (fixed later in 4.14.y).
    std::ostringstream old;
    rec.write(old, {.entries_line = false});
    EXPECT_TRUE(old.str().starts_with("# tracer: nop\n#\n" + legend)) << old.str();
    EXPECT_EQ(old.str().find("entries-in-buffer"), std::string::npos);
}

TEST(TraceWriter, TracerNameIsFunctionWhenTheFunctionTracerRecords) {
    Recorder nop({.nr_cpus = 1});
    EXPECT_EQ(nop.snapshot().tracer, "nop"); // defaults(): no ftrace:function
    Recorder fn({.nr_cpus = 1, .events = EventFilter::all()});
    EXPECT_EQ(fn.snapshot().tracer, "function");
    EXPECT_EQ(fn.snapshot({.tracer = "nop"}).tracer, "nop");
}
