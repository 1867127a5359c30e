// The reader: piemu's own files read back byte for byte (write -> read -> write),
// hand-written lines in the reference's format, and parse errors with line numbers.
#include <sstream>

#include <gtest/gtest.h>

#include "piemu/trace.hpp"

using namespace piemu::trace;

namespace {

/// A trace with every kind of line: events of each subsystem, function-tracer lines
/// with and without a parent, a lost-events marker, a long comm, pids 0 and
/// > PID_MAX_DEFAULT, CPU 10.
Recorder varied() {
    Recorder rec({.nr_cpus = 12, .buffer_size = 6 * 48, .events = EventFilter::all()});
    StrId kw = rec.intern_comm("kworker/0:2"), sw = rec.intern_comm("swapper/0");
    CpuState hard{.irqs_off = true, .preempt_count = 0x10000};
    auto at = [&](std::uint64_t ns, unsigned cpu, std::int32_t pid, StrId comm, CpuState s) {
        return make_context(ns, cpu, pid, comm, s);
    };
    rec.record(at(4486'577'343'000, 0, 0, sw, hard),
               ev::function{.ip = rec.intern("__handle_domain_irq")});
    rec.record(at(4486'577'343'500, 0, 0, sw, hard),
               ev::function{.ip = rec.intern("generic_handle_irq"),
                            .parent_ip = rec.intern("__handle_domain_irq")});
    rec.record(at(4486'577'344'000, 0, 20114, kw, hard),
               ev::irq_handler_entry{.irq = 23, .name = rec.intern("3f00b880.mailbox")});
    rec.record(at(4486'577'346'000, 0, 20114, kw, hard), ev::irq_handler_exit{.irq = 23, .ret = 1});
    rec.record(at(4486'577'350'000, 10, 40000, rec.intern_comm("a_very_long_thread_name"),
                  {.need_resched = true, .preempt_count = 0x101}),
               ev::softirq_entry{.vec = 1});
    rec.record(at(4486'577'351'000, 10, 12, rec.intern_comm("ksoftirqd/10"), {.preempt_count = 1}),
               ev::sched_switch{.prev_comm = kw,
                                .prev_pid = 20114,
                                .prev_prio = 120,
                                .prev_state = sched_switch_state(true, 0),
                                .next_comm = sw,
                                .next_pid = 0,
                                .next_prio = 120});
    rec.record(at(4486'577'352'000, 1, 7, rec.intern_comm("rcu_sched"), {.irqs_off = true}),
               ev::ipi_raise{.target_cpus = 0xf, .reason = 3});
    for (std::uint32_t i = 0; i < 8; ++i) // overflows CPU 1's six records
        rec.record(at(4486'577'360'000 + i * 1000, 1, 7, rec.intern_comm("rcu_sched"), {}),
                   ev::uart_tx{.device = rec.intern("uart-pl011"), .ch = 'a' + i});
    return rec;
}

std::string text_of(const Recorder& rec, const WriterOptions& o = {}) {
    std::ostringstream out;
    rec.write(out, o);
    return out.str();
}

} // namespace

TEST(TraceReader, RoundTripIsByteIdentical) {
    Recorder rec = varied();
    for (LossMarker m : {LossMarker::lost_events, LossMarker::buffer_started}) {
        for (bool entries : {true, false}) {
            std::string written = text_of(rec, {.entries_line = entries, .loss_marker = m});
            auto read = read_trace(written);
            ASSERT_FALSE(read.is_error()) << read.error().message;
            EXPECT_EQ(write_trace(read.value()), written);
        }
    }
    std::string written = text_of(rec);
    EXPECT_NE(written.find("CPU:1 [LOST 3 EVENTS]"), std::string::npos) << written;
    EXPECT_NE(written.find("# tracer: function"), std::string::npos);
}

TEST(TraceReader, RecoversEveryColumn) {
    auto read = read_trace(text_of(varied()));
    ASSERT_FALSE(read.is_error()) << read.error().message;
    const Trace& t = read.value();
    EXPECT_EQ(t.tracer, "function");
    ASSERT_TRUE(t.entries.has_value());
    EXPECT_EQ(t.entries->in_buffer, 12u); // 4 on CPU 0, 2 on CPU 10, CPU 1's six survivors
    EXPECT_EQ(t.entries->written, 15u);   // and CPU 1's three overwritten
    EXPECT_EQ(t.entries->nr_cpus, 12);
    ASSERT_EQ(t.lines.size(), 13u); // 12 events and the marker

    const TraceLine& fn = t.lines[0];
    EXPECT_EQ(fn.kind, TraceLine::Kind::function);
    EXPECT_EQ(fn.comm, "<idle>");
    EXPECT_EQ(fn.pid, 0);
    EXPECT_EQ(fn.name, "function");
    EXPECT_EQ(fn.text, "__handle_domain_irq");
    EXPECT_EQ(fn.line_no, 12u); // after the 11 header lines
    EXPECT_EQ(t.lines[1].text, "generic_handle_irq <-__handle_domain_irq");

    const TraceLine& entry = t.lines[2];
    EXPECT_EQ(entry.kind, TraceLine::Kind::event);
    EXPECT_EQ(entry.comm, "kworker/0:2");
    EXPECT_EQ(entry.pid, 20114);
    EXPECT_EQ(entry.cpu, 0u);
    EXPECT_EQ(entry.flags, "d.h.");
    EXPECT_EQ(entry.ts_ns, 4486'577'344'000u);
    EXPECT_EQ(entry.name, "irq_handler_entry");
    EXPECT_EQ(entry.text, "irq=23 name=3f00b880.mailbox");

    const TraceLine& soft = t.lines[4];
    EXPECT_EQ(soft.comm, "<...>"); // pid 40000 > PID_MAX_DEFAULT
    EXPECT_EQ(soft.pid, 40000);
    EXPECT_EQ(soft.cpu, 10u);
    EXPECT_EQ(soft.flags, ".ns1");

    const TraceLine& lost = t.lines[6];
    EXPECT_EQ(lost.kind, TraceLine::Kind::lost_events);
    EXPECT_EQ(lost.cpu, 1u);
    EXPECT_EQ(lost.lost, 3u);
}

TEST(TraceReader, HandWrittenReferenceLines) {
    // As the notes quote them: no leading blanks, two spaces after the pid.
    auto read = read_trace(
        "kworker/0:2-20114 [000] d.h.  4486.577344: irq_handler_entry: irq=23 "
        "name=3f00b880.mailbox\n"
        "kworker/u8:2-1310  [000] d.h.  2208.183673: bcm2835_mmc_irq <-__handle_irq_event_percpu\n"
        "kworker/0:2-20114 [000] d.h.  4486.577345: __handle_irq_event_percpu: [+] irq:[23] "
        "handler: bcm2835_mbox_irq+0x0/0x60 caller:(handle_irq_event_percpu+0x2c/0x68)\n"
        "\n"
        "   my-worker x-77    [003] dnh.    12.000001: sched_process_exit: comm=my-worker x "
        "pid=77 prio=120\n");
    ASSERT_FALSE(read.is_error()) << read.error().message;
    const auto& l = read.value().lines;
    ASSERT_EQ(l.size(), 4u);
    EXPECT_EQ(l[0].comm, "kworker/0:2");
    EXPECT_EQ(l[0].name, "irq_handler_entry");
    EXPECT_EQ(format_line(l[0]), "     kworker/0:2-20114 [000] d.h.  4486.577344: "
                                 "irq_handler_entry: irq=23 name=3f00b880.mailbox");
    EXPECT_EQ(l[1].kind, TraceLine::Kind::function);
    EXPECT_EQ(l[1].comm, "kworker/u8:2");
    EXPECT_EQ(l[1].pid, 1310);
    EXPECT_EQ(l[1].text, "bcm2835_mmc_irq <-__handle_irq_event_percpu");
    // A trace_printk line: an event piemu does not have, kept as name and text.
    EXPECT_EQ(l[2].kind, TraceLine::Kind::event);
    EXPECT_EQ(l[2].name, "__handle_irq_event_percpu");
    EXPECT_EQ(l[2].text, "[+] irq:[23] handler: bcm2835_mbox_irq+0x0/0x60 "
                         "caller:(handle_irq_event_percpu+0x2c/0x68)");
    // A comm with '-' and a space.
    EXPECT_EQ(l[3].comm, "my-worker x");
    EXPECT_EQ(l[3].pid, 77);
    EXPECT_EQ(l[3].cpu, 3u);
    EXPECT_EQ(l[3].line_no, 5u);
    EXPECT_EQ(l[3].ts_ns, 12'000'001'000u);
}

TEST(TraceReader, AFileWithoutTheEntriesLine) {
    auto read = read_trace("# tracer: nop\n#\n#    legend\n"
                           "          <idle>-0     [001] d.h.   100.000000: ipi_entry: "
                           "(Rescheduling interrupts)\n");
    ASSERT_FALSE(read.is_error()) << read.error().message;
    EXPECT_FALSE(read.value().entries.has_value());
    EXPECT_EQ(read.value().lines.at(0).name, "ipi_entry");
    EXPECT_EQ(read.value().lines.at(0).cpu, 1u);
}

TEST(TraceReader, ParseErrorsNameTheLine) {
    const std::string good =
        "          <idle>-0     [000] d.h.     1.000000: irq_handler_exit: irq=1 ret=handled\n";
    auto no_context = read_trace("# tracer: nop\n" + good + "this is not a trace line\n");
    ASSERT_TRUE(no_context.is_error());
    EXPECT_EQ(no_context.error().message,
              "line 3: expected 'COMM-PID [CPU] FLAGS SECS.USECS: EVENT'");

    auto bad_flags = read_trace(good + "          <idle>-0     [000] dxh.     1.000000: e: t\n");
    ASSERT_TRUE(bad_flags.is_error());
    EXPECT_EQ(bad_flags.error().message, "line 2: bad flags 'dxh.'");

    auto bad_depth = read_trace("          <idle>-0     [000] d.h0     1.000000: e: t\n");
    ASSERT_TRUE(bad_depth.is_error());
    EXPECT_EQ(bad_depth.error().message, "line 1: bad flags 'd.h0'");

    auto bad_ts = read_trace(good + good + "          <idle>-0     [000] d.h.     1.0000: e: t\n");
    ASSERT_TRUE(bad_ts.is_error());
    EXPECT_EQ(bad_ts.error().message,
              "line 3: bad timestamp (expected SECS.USECS with six digits, then ': ')");
}

TEST(TraceReader, MissingFileIsAnError) {
    auto r = read_trace_file("/nonexistent/piemu-trace.txt");
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error().message, "/nonexistent/piemu-trace.txt: cannot open");
}
