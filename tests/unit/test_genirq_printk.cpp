// The kernel log ring: "[%5lu.%06lu] " virtual timestamps, log levels, KERN_CONT
// continuation and unterminated lines as 4.14's printk treats them, sinks, the
// whole-log read-back, the ring limit and the oops end marker.
#include <gtest/gtest.h>

#include "piemu/kernel/printk.hpp"

using namespace piemu::kernel;

namespace {

struct Clocked {
    std::uint64_t now = 0;
    Printk log{[this] { return now; }};
};

} // namespace

TEST(Printk, TimestampFormatIsSecondsAndMicroseconds) {
    EXPECT_EQ(Printk::format_time(0), "[    0.000000] ");
    EXPECT_EQ(Printk::format_time(1'037'804'123), "[    1.037804] ");
    EXPECT_EQ(Printk::format_time(4485'658'569'000ull), "[ 4485.658569] ");
    EXPECT_EQ(Printk::format_time(123456'000'001'000ull), "[123456.000001] ");
}

TEST(Printk, RecordsCarryLevelTimeAndText) {
    Clocked c;
    c.now = 2'500'000;
    c.log.printk(KERN_ERR, "irq %d: nobody cared\n", 62);
    c.log.printk(KERN_DEFAULT, "plain\n");
    ASSERT_EQ(c.log.records().size(), 2u);
    EXPECT_EQ(c.log.records()[0].level, 3);
    EXPECT_EQ(c.log.records()[0].text, "irq 62: nobody cared");
    EXPECT_EQ(c.log.records()[1].level, 4) << "KERN_DEFAULT is the default message loglevel 4";
    EXPECT_EQ(c.log.dmesg(), "[    0.002500] irq 62: nobody cared\n[    0.002500] plain\n");
}

TEST(Printk, ContinuationAppendsAndAnUnterminatedLineEndsAtTheNextMessage) {
    Clocked c;
    c.log.printk(KERN_ERR, "[<%s>] %s", "00000000", "handler");
    EXPECT_TRUE(c.log.has_open_record());
    c.now = 5'000;
    c.log.printk(KERN_CONT, " threaded [<%s>] %s", "00000000", "thread_fn");
    c.log.printk(KERN_CONT, "\n");
    EXPECT_FALSE(c.log.has_open_record());
    c.log.printk(KERN_WARNING, "no newline");
    c.log.printk(KERN_INFO, "next\n");
    ASSERT_EQ(c.log.records().size(), 3u);
    EXPECT_EQ(c.log.records()[0].text, "[<00000000>] handler threaded [<00000000>] thread_fn");
    EXPECT_EQ(c.log.records()[0].ts_ns, 0u) << "a record is stamped at its first fragment";
    EXPECT_EQ(c.log.records()[1].text, "no newline");
    EXPECT_EQ(c.log.records()[2].text, "next");
}

TEST(Printk, SinksGetFinishedRecordsAsConsoleText) {
    Clocked c;
    std::vector<std::pair<int, std::string>> got;
    int id = c.log.add_sink(
        [&](const LogRecord& r, std::string_view text) { got.emplace_back(r.level, text); });
    c.log.printk(KERN_EMERG, "Disabling IRQ #%d\n", 62);
    c.log.printk(KERN_INFO, "two\nlines\n");
    c.log.printk(KERN_WARNING, "open");
    EXPECT_EQ(got.size(), 2u) << "the open record is not printed yet";
    c.log.remove_sink(id);
    c.log.printk(KERN_INFO, "after\n");
    ASSERT_EQ(got.size(), 2u) << "closing the open record happened after removal";
    EXPECT_EQ(got[0], (std::pair<int, std::string>{0, "[    0.000000] Disabling IRQ #62\n"}));
    EXPECT_EQ(got[1].second, "[    0.000000] two\n[    0.000000] lines\n");
}

TEST(Printk, RingDropsTheOldestRecords) {
    std::uint64_t now = 0;
    Printk log([&] { return now; }, 16);
    log.printk(KERN_INFO, "0123456789\n");
    log.printk(KERN_INFO, "abcdefghij\n");
    ASSERT_EQ(log.records().size(), 1u);
    EXPECT_EQ(log.records()[0].text, "abcdefghij");
}

TEST(Printk, OopsEndMarkerIsReproducibleAndIncrements) {
    Clocked c;
    c.log.print_oops_end_marker();
    c.log.print_oops_end_marker();
    EXPECT_EQ(c.log.records()[0].text, "---[ end trace 0000000000000001 ]---");
    EXPECT_EQ(c.log.records()[1].text, "---[ end trace 0000000000000002 ]---");
}
