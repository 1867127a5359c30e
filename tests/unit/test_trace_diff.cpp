// `piemu trace diff` (trace_diff_main): exit codes 0/1/2 and the first-divergence
// report on crafted pairs of files.
#include <sstream>

#include <gtest/gtest.h>

#include "loader_temp_dir.hpp"
#include "piemu/trace.hpp"

using namespace piemu::trace;

namespace {

/// Eight events on two CPUs (lines 12..19 of the file, after the 11 header lines);
/// `shift_ns` moves every timestamp, `prev_state` is sched_switch's.
std::string sample(std::uint64_t shift_ns = 0, std::int32_t prev_state = TASK_REPORT_MAX) {
    Recorder rec({.nr_cpus = 2, .events = EventFilter::all()});
    StrId kw = rec.intern_comm("kworker/0:2"), sw = rec.intern_comm("swapper/0");
    CpuState hard{.irqs_off = true, .preempt_count = 0x10000};
    auto at = [&](std::uint64_t us, unsigned cpu, std::int32_t pid, StrId comm, CpuState s) {
        return make_context(us * 1000 + shift_ns, cpu, pid, comm, s);
    };
    rec.record(at(100, 0, 0, sw, hard), ev::function{.ip = rec.intern("__handle_domain_irq")});
    rec.record(at(101, 0, 0, sw, hard),
               ev::irq_handler_entry{.irq = 23, .name = rec.intern("3f00b880.mailbox")});
    rec.record(at(103, 0, 0, sw, hard), ev::irq_handler_exit{.irq = 23, .ret = 1});
    rec.record(at(104, 0, 0, sw, hard), ev::softirq_raise{.vec = 1});
    rec.record(at(110, 0, 20114, kw, {.irqs_off = true, .preempt_count = 1}),
               ev::sched_switch{.prev_comm = kw,
                                .prev_pid = 20114,
                                .prev_prio = 120,
                                .prev_state = prev_state,
                                .next_comm = sw,
                                .next_pid = 0,
                                .next_prio = 120});
    rec.record(at(120, 1, 0, rec.intern_comm("swapper/1"), hard),
               ev::irq_handler_entry{.irq = 17, .name = rec.intern("arch_timer")});
    rec.record(at(121, 1, 0, rec.intern_comm("swapper/1"), hard),
               ev::irq_handler_exit{.irq = 17, .ret = 1});
    rec.record(at(130, 1, 0, rec.intern_comm("swapper/1"), {.irqs_off = true}),
               ev::ipi_raise{.target_cpus = 1, .reason = 2});
    std::ostringstream out;
    rec.write(out);
    return out.str();
}

/// The text with line `n` (1-based) removed.
std::string without_line(const std::string& text, unsigned n) {
    std::istringstream in(text);
    std::string out, line;
    for (unsigned i = 1; std::getline(in, line); ++i)
        if (i != n)
            out += line + "\n";
    return out;
}

struct DiffRun {
    int status;
    std::string out, err;
};

class TraceDiff : public ::testing::Test {
protected:
    loader_test::TempDir dir;

    DiffRun diff(const std::string& expected, const std::string& actual,
                 std::vector<std::string> options = {}) {
        std::vector<std::string> args{dir.write("expected.txt", expected),
                                      dir.write("actual.txt", actual)};
        args.insert(args.end(), options.begin(), options.end());
        std::ostringstream out, err;
        int status = trace_diff_main(args, out, err);
        return {status, out.str(), err.str()};
    }
    std::string e() { return dir.path("expected.txt"); }
    std::string a() { return dir.path("actual.txt"); }
};

} // namespace

TEST_F(TraceDiff, EqualFilesExitZeroSilently) {
    DiffRun r = diff(sample(), sample());
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
}

TEST_F(TraceDiff, OneChangedLineIsTheFirstDivergenceWithContext) {
    std::string actual = sample(0, sched_switch_state(false, TASK_UNINTERRUPTIBLE));
    DiffRun r = diff(sample(), actual);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(
        r.out,
        "--- " + e() + "\n+++ " + a() + "\n" + "@@ first divergence: " + e() + ":16, " + a() +
            ":16 @@\n"
            "           <idle>-0     [000] d.h.     0.000101: irq_handler_entry: irq=23 "
            "name=3f00b880.mailbox\n"
            "           <idle>-0     [000] d.h.     0.000103: irq_handler_exit: irq=23 "
            "ret=handled\n"
            "           <idle>-0     [000] d.h.     0.000104: softirq_raise: vec=1 [action=TIMER]\n"
            "-     kworker/0:2-20114 [000] d..1     0.000110: sched_switch: prev_comm=kworker/0:2 "
            "prev_pid=20114 prev_prio=120 prev_state=R+ ==> next_comm=swapper/0 next_pid=0 "
            "next_prio=120\n"
            "-          <idle>-0     [001] d.h.     0.000120: irq_handler_entry: irq=17 "
            "name=arch_timer\n"
            "-          <idle>-0     [001] d.h.     0.000121: irq_handler_exit: irq=17 "
            "ret=handled\n"
            "-          <idle>-0     [001] d...     0.000130: ipi_raise: target_mask=00000001 "
            "(Rescheduling interrupts)\n"
            "+     kworker/0:2-20114 [000] d..1     0.000110: sched_switch: prev_comm=kworker/0:2 "
            "prev_pid=20114 prev_prio=120 prev_state=D ==> next_comm=swapper/0 next_pid=0 "
            "next_prio=120\n"
            "+          <idle>-0     [001] d.h.     0.000120: irq_handler_entry: irq=17 "
            "name=arch_timer\n"
            "+          <idle>-0     [001] d.h.     0.000121: irq_handler_exit: irq=17 "
            "ret=handled\n"
            "+          <idle>-0     [001] d...     0.000130: ipi_raise: target_mask=00000001 "
            "(Rescheduling interrupts)\n"
            "\n"
            "event               expected     actual\n"
            "function                   1          1\n"
            "ipi_raise                  1          1\n"
            "irq_handler_entry          2          2\n"
            "irq_handler_exit           2          2\n"
            "sched_switch               1          1\n"
            "softirq_raise              1          1\n");
}

TEST_F(TraceDiff, MissingLineShowsTheShiftAndTheCounts) {
    DiffRun r =
        diff(sample(), without_line(sample(), 14), {"--context", "1"}); // irq_handler_exit 23
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("@@ first divergence: " + e() + ":14, " + a() +
                         ":14 @@\n"
                         "           <idle>-0     [000] d.h.     0.000101: irq_handler_entry"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("\n-          <idle>-0     [000] d.h.     0.000103: irq_handler_exit"),
              std::string::npos);
    EXPECT_NE(r.out.find("\n+          <idle>-0     [000] d.h.     0.000104: softirq_raise"),
              std::string::npos);
    EXPECT_NE(r.out.find("irq_handler_exit           2          1  *\n"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("irq_handler_entry          2          2\n"), std::string::npos);
}

TEST_F(TraceDiff, ExtraLineAtTheEndMeetsTheEndOfTheOtherTrace) {
    std::string shorter = without_line(sample(), 19);
    DiffRun r = diff(shorter, sample());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("@@ first divergence: " + e() + ":end, " + a() + ":19 @@\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("\n-<end of trace>\n+          <idle>-0     [001] d...     0.000130: "
                         "ipi_raise"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("ipi_raise                  0          1  *\n"), std::string::npos);
}

TEST_F(TraceDiff, IgnoreTimestamps) {
    EXPECT_EQ(diff(sample(), sample(5000)).status, 1);
    EXPECT_EQ(diff(sample(), sample(5000), {"--ignore-timestamps"}).status, 0);
    // Below the printed microsecond nothing differs.
    EXPECT_EQ(diff(sample(), sample(400)).status, 0);
}

TEST_F(TraceDiff, EventsFilterLimitsTheComparison) {
    std::string actual = sample(0, sched_switch_state(false, TASK_INTERRUPTIBLE));
    EXPECT_EQ(diff(sample(), actual).status, 1);
    EXPECT_EQ(diff(sample(), actual, {"--events", "irq,ipi"}).status, 0);
    EXPECT_EQ(diff(sample(), actual, {"--events=sched:sched_switch"}).status, 1);
    DiffRun r =
        diff(sample(), without_line(sample(), 12), {"--events=irq"}); // drop a function line
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(diff(sample(), without_line(sample(), 12), {"--events=function"}).status, 1);
}

TEST_F(TraceDiff, UnreadableInputExitsTwoWithTheLineNumber) {
    std::string broken = sample();
    broken.insert(broken.find("          <idle>-0     [000] d.h.     0.000103"), "garbage\n");
    DiffRun r = diff(sample(), broken);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "piemu trace diff: " + a() +
                         ":14: expected 'COMM-PID [CPU] FLAGS SECS.USECS: EVENT'\n");

    std::ostringstream out, err;
    EXPECT_EQ(trace_diff_main({dir.path("missing.txt"), dir.write("x.txt", sample())}, out, err),
              2);
    EXPECT_EQ(err.str(), "piemu trace diff: " + dir.path("missing.txt") + ": cannot open\n");
}

TEST_F(TraceDiff, BadArgumentsExitTwo) {
    std::ostringstream out, err;
    EXPECT_EQ(trace_diff_main({dir.write("x.txt", sample())}, out, err), 2);
    EXPECT_NE(err.str().find("usage: piemu trace diff EXPECTED ACTUAL"), std::string::npos);
    EXPECT_EQ(diff(sample(), sample(), {"--frobnicate"}).status, 2);
    EXPECT_EQ(diff(sample(), sample(), {"--context", "many"}).status, 2);
    EXPECT_EQ(diff(sample(), sample(), {"--context"}).status, 2);
    EXPECT_EQ(diff(sample(), sample(), {"--events", "bogus:*"}).status, 2);
    std::ostringstream help, none;
    EXPECT_EQ(trace_diff_main({"--help"}, help, none), 0);
}

TEST(TraceDiffLibrary, ResultPointsAtTheFirstDifference) {
    auto a = read_trace(sample());
    auto b = read_trace(without_line(sample(), 17));
    ASSERT_FALSE(a.is_error());
    ASSERT_FALSE(b.is_error());
    DiffResult r = diff_traces(a.value(), b.value(), {});
    EXPECT_FALSE(r.equal);
    EXPECT_EQ(r.first, 5u); // the sixth line: irq_handler_entry irq=17
    EXPECT_EQ(r.expected.size(), 8u);
    EXPECT_EQ(r.actual.size(), 7u);
    EXPECT_EQ(r.counts.at("irq_handler_entry"), (std::pair<std::size_t, std::size_t>{2, 1}));
    EXPECT_EQ(format_diff(diff_traces(a.value(), a.value(), {}), "x", "y", 3), "");
}
