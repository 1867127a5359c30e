// Bad guest accesses are reported once each, and at most ReportOnce::kLimit of them
// per device or per bus: a guest sweeping every address must not grow host memory
// (or the log) without bound. Found by fuzz_mmio_dma: DMA transfers over unclaimed
// bus addresses filled the bus's set of reported addresses, one entry per address,
// for the life of the process.
#include <cstdint>

#include <gtest/gtest.h>

#include "log_capture.hpp"
#include "piemu/bus.hpp"
#include "piemu/device.hpp"

using namespace piemu;
using piemu_test::LogCapture;

namespace {

TEST(ReportOnce, ReportsEachKeyOnceUpToTheLimitThenSaysSoOnce) {
    ReportOnce r;
    EXPECT_EQ(r.note(7), ReportOnce::Verdict::First);
    EXPECT_EQ(r.note(7), ReportOnce::Verdict::Repeat);
    for (uint64_t k = 100; r.size() < ReportOnce::kLimit; ++k)
        EXPECT_EQ(r.note(k), ReportOnce::Verdict::First) << k;
    EXPECT_EQ(r.note(7), ReportOnce::Verdict::Repeat) << "still remembered at the limit";
    EXPECT_EQ(r.note(1), ReportOnce::Verdict::Last) << "the first key past the limit";
    EXPECT_EQ(r.size(), 0u) << "nothing is kept after";
    EXPECT_EQ(r.note(2), ReportOnce::Verdict::Repeat);
    EXPECT_EQ(r.note(7), ReportOnce::Verdict::Repeat);
}

TEST(ReportOnce, UnclaimedAddressesAreReportedOnceEachThenNoMore) {
    LogCapture log;
    Bus bus{1u << 20};
    // Far from RAM (1 MiB) and with no device on this bus.
    for (uint32_t a = 0x3f000000; a < 0x3f000000 + 4 * 1000; a += 4)
        EXPECT_EQ(bus.mmio_read(a, 4), 0u);
    bus.mmio_write(0x3f000000, 1, 4); // reported before (as a read)
    EXPECT_EQ(log.count("no device there"), ReportOnce::kLimit);
    EXPECT_EQ(log.count("0x3f000000: no device there (reads as 0)"), 1u);
    EXPECT_EQ(log.count("0x3f0003fc: no device there"), 1u) << "the 256th";
    EXPECT_EQ(log.count("0x3f000400: no device there"), 0u) << "the 257th";
    EXPECT_EQ(log.count("256 different addresses without a device reported; no more are"), 1u);
}

class Silent : public Device {
public:
    Silent() : Device("silent@7e00f000") {}
    uint32_t mmio_size() const override { return 0x1000; }
    uint32_t read(uint32_t offset, unsigned) override {
        log_guest_error(*this, offset, "read of unknown register");
        return 0;
    }
    void write(uint32_t offset, uint32_t, unsigned) override {
        log_unimplemented(*this, offset, "write ignored");
    }
    void reset() override {}
};

TEST(ReportOnce, ADevicesBadAccessesAreReportedOnceEachThenNoMore) {
    LogCapture log;
    Silent dev;
    for (int pass = 0; pass < 2; ++pass)
        for (uint32_t off = 0; off < 0x1000; off += 4)
            dev.read(off, 4);
    EXPECT_EQ(log.count("read of unknown register"), ReportOnce::kLimit);
    EXPECT_EQ(log.count("silent@7e00f000 +0x3fc: read of unknown register"), 1u);
    EXPECT_EQ(log.count("silent@7e00f000 +0x400:"), 0u);
    EXPECT_EQ(log.count("silent@7e00f000: 256 different bad or unimplemented accesses "
                        "reported; no more are"),
              1u);
    dev.write(0, 1, 4);
    EXPECT_EQ(log.count("write ignored"), 0u) << "past the limit: not reported";
}

TEST(ReportOnce, AGuestErrorAndAnUnimplementedAccessAtOneOffsetAreTwoReports) {
    LogCapture log;
    Silent dev;
    dev.read(0x10, 4);
    dev.write(0x10, 1, 4);
    dev.read(0x10, 4);
    dev.write(0x10, 1, 4);
    EXPECT_EQ(log.count("silent@7e00f000 +0x010: read of unknown register"), 1u);
    EXPECT_EQ(log.count("silent@7e00f000 +0x010: write ignored"), 1u);
}

} // namespace
