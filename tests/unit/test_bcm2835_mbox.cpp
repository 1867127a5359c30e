// BCM2835 mailbox register-level tests and property-channel exchanges in guest RAM on a
// real Bus: reset values, STATUS empty/full on both mailboxes, the reply arriving only
// after the VideoCore's delay and the IRQ following CONFIG bit 0 and mailbox 0, the
// property tags Linux and bare-metal guests use (board, memory, clocks, power, domains,
// GPIO expander, framebuffer), truncation, unknown tags, parse errors, other channels,
// reset, and bad accesses with their log lines. Expected values are written as numbers,
// not with the model's constants, so a wrong constant in the model fails here.
//
// The clock is 1.2 GHz (a Pi 3): the reply delay of 1 us is 1200 cycles.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>

#include "devices/bcm2835_mbox.hpp"
#include "log_capture.hpp"
#include "piemu/bus.hpp"

using namespace piemu;
using piemu_test::LogCapture;
using Reg = Bcm2835Mbox::Reg;

namespace {

constexpr uint32_t kRam = 16u << 20;     // RAM 0x00000000-0x00ffffff
constexpr uint32_t kVcBase = 0x00c00000; // the last 4 MiB are "VC memory"
constexpr uint32_t kVcSize = 0x00400000;
constexpr uint32_t kBuf = 0x00010000; // property buffers go here
constexpr uint64_t kDelay = 1200;     // 1 us at 1.2 GHz

MboxBoardInfo pi3_info() {
    return MboxBoardInfo{.board_revision = 0xa02082,
                         .serial = 0x00000000'52f2b2abull,
                         .mac = {0xb8, 0x27, 0xeb, 0x12, 0x34, 0x56},
                         .arm_mem_base = 0,
                         .arm_mem_size = kVcBase,
                         .vc_mem_base = kVcBase,
                         .vc_mem_size = kVcSize,
                         .firmware_revision = 0x5b0d7b2f,
                         .clocks = mbox_clocks_pi3(),
                         .gpio_expander = true};
}

struct RecordingSink : IrqSink {
    std::vector<bool> levels;
    void set_irq_input(unsigned, bool level) override { levels.push_back(level); }
};

// A tag to put in a request: id, value buffer size and the request words.
struct TagSpec {
    uint32_t id;
    uint32_t buf_size;
    std::vector<uint32_t> values;
};

class Bcm2835MboxTest : public ::testing::Test {
protected:
    VirtualClock clock{1'200'000'000};
    Bus bus{kRam};
    Bcm2835Mbox mbox{"mbox@7e00b880", clock, bus, pi3_info()};
    RecordingSink sink;

    void SetUp() override { mbox.irq().connect(&sink, 1); } // ARMCTRL basic bit 1

    uint32_t rd(Reg r) { return mbox.read(static_cast<uint32_t>(r), 4); }
    void wr(Reg r, uint32_t v) { mbox.write(static_cast<uint32_t>(r), v, 4); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    void run_for(uint64_t cycles) { run_to(clock.now() + cycles); }

    uint32_t word(uint32_t addr) {
        uint32_t v = 0;
        EXPECT_TRUE(bus.read32(addr, v));
        return v;
    }
    void poke(uint32_t addr, uint32_t v) {
        uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
        ASSERT_TRUE(bus.write_phys(addr, b));
    }
    // Writes a request at `addr` with an end tag; returns each tag's value address.
    std::vector<uint32_t> put_request(uint32_t addr, const std::vector<TagSpec>& tags) {
        uint32_t at = addr + 8;
        std::vector<uint32_t> values;
        for (const TagSpec& t : tags) {
            poke(at, t.id);
            poke(at + 4, t.buf_size);
            poke(at + 8, 0);
            for (uint32_t i = 0; i < t.buf_size / 4; ++i)
                poke(at + 12 + 4 * i, i < t.values.size() ? t.values[i] : 0);
            values.push_back(at + 12);
            at += 12 + (t.buf_size + 3) / 4 * 4;
        }
        poke(at, 0); // end tag
        poke(addr, at + 4 - addr);
        poke(addr + 4, 0);
        return values;
    }
    // Sends `message`, lets the VideoCore answer and reads the reply.
    uint32_t call(uint32_t message) {
        wr(Reg::Write, message);
        run_for(kDelay);
        return rd(Reg::Read);
    }
    // One-tag exchange on channel 8 with a 0xc0000000-alias address, as Linux sends it.
    std::vector<uint32_t> property(uint32_t id, uint32_t buf_size,
                                   std::vector<uint32_t> values = {}) {
        uint32_t v = put_request(kBuf, {{id, buf_size, std::move(values)}})[0];
        EXPECT_EQ(call(0xc0000000 | kBuf | 8), 0xc0000000 | kBuf | 8);
        EXPECT_EQ(word(kBuf + 4), 0x80000000u) << "buffer code";
        std::vector<uint32_t> out;
        for (uint32_t i = 0; i < buf_size / 4; ++i)
            out.push_back(word(v + 4 * i));
        response_code = word(v - 4);
        return out;
    }
    uint32_t response_code = 0;
};

// ---- registers ----

TEST_F(Bcm2835MboxTest, ResetValues) {
    EXPECT_EQ(rd(Reg::Status), 0x40000000u) << "mailbox 0 empty";
    EXPECT_EQ(rd(Reg::Status1), 0x40000000u) << "mailbox 1 empty";
    EXPECT_EQ(rd(Reg::Config), 0u);
    EXPECT_EQ(rd(Reg::Peek), 0x0000000fu);
    EXPECT_EQ(rd(Reg::Sender), 0u);
    EXPECT_FALSE(mbox.irq().level());
    ASSERT_EQ(mbox.irq_outputs().size(), 1u);
    EXPECT_EQ(mbox.irq_outputs()[0], &mbox.irq());
    EXPECT_EQ(mbox.mmio_size(), 0x40u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever) << "nothing to serve";
}

TEST_F(Bcm2835MboxTest, ReplyAppearsOnlyAfterTheDelayAndIsTheSameMessage) {
    put_request(kBuf, {{0x00010002, 4, {}}});
    wr(Reg::Write, kBuf | 8);
    EXPECT_EQ(rd(Reg::Status1), 0u) << "mailbox 1 holds the request: neither empty nor full";
    EXPECT_EQ(clock.next_deadline(), 1200u);
    run_to(1199);
    EXPECT_EQ(rd(Reg::Status), 0x40000000u);
    EXPECT_EQ(word(kBuf + 4), 0u) << "not served yet";
    run_to(1200);
    EXPECT_EQ(rd(Reg::Status), 0u);
    EXPECT_EQ(rd(Reg::Status1), 0x40000000u);
    EXPECT_EQ(rd(Reg::Peek), kBuf | 8);
    EXPECT_EQ(rd(Reg::Read), kBuf | 8);
    EXPECT_EQ(rd(Reg::Status), 0x40000000u);
    EXPECT_EQ(word(kBuf + 4), 0x80000000u);
    EXPECT_EQ(word(kBuf + 20), 0xa02082u);
}

TEST_F(Bcm2835MboxTest, IrqRisesAfterTheDelayOnlyWithConfigEnabledAndDropsOnRead) {
    put_request(kBuf, {{0x00000001, 4, {}}});
    wr(Reg::Config, 1);
    EXPECT_EQ(rd(Reg::Config), 1u);
    wr(Reg::Write, kBuf | 8);
    run_to(1199);
    EXPECT_FALSE(mbox.irq().level()) << "no reply yet";
    run_to(1200);
    EXPECT_TRUE(mbox.irq().level());
    EXPECT_EQ(rd(Reg::Config), 0x11u) << "bit 4: data IRQ pending";
    EXPECT_EQ(rd(Reg::Read), kBuf | 8u);
    EXPECT_FALSE(mbox.irq().level());
    EXPECT_EQ(rd(Reg::Config), 1u);
    EXPECT_EQ(sink.levels, (std::vector<bool>{true, false}));

    // Disabled: the reply arrives, the line stays low until CONFIG enables it.
    wr(Reg::Config, 0);
    put_request(kBuf, {{0x00000001, 4, {}}});
    wr(Reg::Write, kBuf | 8);
    run_for(kDelay);
    EXPECT_EQ(rd(Reg::Status), 0u);
    EXPECT_FALSE(mbox.irq().level());
    EXPECT_EQ(rd(Reg::Config), 0x10u);
    wr(Reg::Config, 1);
    EXPECT_TRUE(mbox.irq().level());
    wr(Reg::Config, 0);
    EXPECT_FALSE(mbox.irq().level());
    wr(Reg::Config, 1);
    EXPECT_EQ(rd(Reg::Read), kBuf | 8u);
    EXPECT_FALSE(mbox.irq().level());
}

TEST_F(Bcm2835MboxTest, DelayScalesWithTheCpuClock) {
    VirtualClock pi2(900'000'000);
    Bcm2835Mbox m("mbox-pi2", pi2, bus, pi3_info());
    put_request(kBuf, {{0x00000001, 4, {}}});
    m.write(0x20, kBuf | 8, 4);
    EXPECT_EQ(pi2.next_deadline(), 900u) << "1 us at 900 MHz";
}

TEST_F(Bcm2835MboxTest, StatusFullOnBothMailboxesAndWriteWhenFullIsDropped) {
    LogCapture log;
    Bcm2835Mbox m("mbox-full", clock, bus, pi3_info());
    for (uint32_t i = 0; i < 9; ++i)
        put_request(kBuf + 0x100 * i, {{0x00010002, 4, {}}});
    for (uint32_t i = 0; i < 8; ++i)
        m.write(0x20, (kBuf + 0x100 * i) | 8, 4);
    EXPECT_EQ(m.read(0x38, 4), 0x80000000u) << "mailbox 1 full";
    m.write(0x20, (kBuf + 0x800) | 8, 4); // the ninth: dropped
    EXPECT_NE(log.text().find("write to full mailbox 1"), std::string::npos) << log.text();

    run_for(8 * kDelay); // one reply per microsecond
    EXPECT_EQ(m.read(0x18, 4), 0x80000000u) << "mailbox 0 full";
    EXPECT_EQ(m.read(0x38, 4), 0x40000000u) << "mailbox 1 drained";
    for (uint32_t i = 0; i < 8; ++i)
        EXPECT_EQ(m.read(0x00, 4), (kBuf + 0x100 * i) | 8) << "in order, " << i;
    EXPECT_EQ(m.read(0x18, 4), 0x40000000u);
    run_for(10 * kDelay);
    EXPECT_EQ(m.read(0x18, 4), 0x40000000u) << "the dropped message is never answered";
    EXPECT_EQ(word(kBuf + 0x800 + 4), 0u) << "and its buffer never served";
}

TEST_F(Bcm2835MboxTest, VideoCoreWaitsWhileMailbox0IsFull) {
    for (uint32_t i = 0; i < 8; ++i)
        put_request(kBuf + 0x100 * i, {{0x00010002, 4, {}}});
    put_request(kBuf + 0x800, {{0x00010002, 4, {}}});
    for (uint32_t i = 0; i < 8; ++i)
        wr(Reg::Write, (kBuf + 0x100 * i) | 8);
    run_for(8 * kDelay);
    wr(Reg::Write, (kBuf + 0x800) | 8);
    run_for(5 * kDelay);
    EXPECT_EQ(rd(Reg::Status1), 0u) << "still held in mailbox 1";
    EXPECT_EQ(word(kBuf + 0x800 + 4), 0u);
    EXPECT_EQ(rd(Reg::Read), kBuf | 8);
    run_for(kDelay - 1);
    EXPECT_EQ(rd(Reg::Status1), 0u);
    run_for(1);
    EXPECT_EQ(rd(Reg::Status1), 0x40000000u);
    EXPECT_EQ(word(kBuf + 0x800 + 4), 0x80000000u);
}

TEST_F(Bcm2835MboxTest, ReadingAnEmptyMailboxReturns0xfAndLogs) {
    LogCapture log;
    Bcm2835Mbox m("mbox-empty", clock, bus, pi3_info());
    EXPECT_EQ(m.read(0x00, 4), 0x0000000fu);
    EXPECT_EQ(m.read(0x10, 4), 0x0000000fu);
    EXPECT_NE(log.text().find("read of empty mailbox 0"), std::string::npos) << log.text();
}

TEST_F(Bcm2835MboxTest, BadOffsetsAndSizesReadZeroAndLog) {
    LogCapture log;
    Bcm2835Mbox m("mbox-bad", clock, bus, pi3_info());
    m.write(0x1c, 1, 4);
    EXPECT_EQ(m.read(0x20, 4), 0u) << "WRITE is write-only";
    EXPECT_EQ(m.read(0x30, 4), 0u) << "mailbox 1 PEEK";
    EXPECT_EQ(m.read(0x3c, 4), 0u) << "mailbox 1 CONFIG";
    EXPECT_EQ(m.read(0x40, 4), 0u) << "outside the window";
    EXPECT_EQ(m.read(0x1c, 2), 0u) << "halfword";
    EXPECT_EQ(m.read(0x1d, 1), 0u) << "byte";
    EXPECT_EQ(m.read(0x1c, 4), 1u);
    m.write(0x1c, 0, 1); // narrow write: ignored
    m.write(0x18, 0, 4); // STATUS is read-only
    EXPECT_EQ(m.read(0x1c, 4), 1u);
    EXPECT_EQ(m.read(0x18, 4), 0x40000000u);
    const std::string text = log.text();
    EXPECT_NE(text.find("mbox-bad +0x020: read of a write-only"), std::string::npos) << text;
    EXPECT_NE(text.find("mbox-bad +0x040: not a 32-bit register read"), std::string::npos);
    EXPECT_NE(text.find("mbox-bad +0x01c: not a 32-bit register read"), std::string::npos);
    EXPECT_NE(text.find("mbox-bad +0x018: write to a read-only"), std::string::npos);
}

TEST_F(Bcm2835MboxTest, ReadAndWriteAliases) {
    put_request(kBuf, {{0x00010002, 4, {}}});
    mbox.write(0x2c, kBuf | 8, 4); // QEMU decodes 0x20-0x2c as WRITE
    run_for(kDelay);
    EXPECT_EQ(mbox.read(0x08, 4), kBuf | 8u); // and 0x00-0x0c as READ
    EXPECT_EQ(rd(Reg::Status), 0x40000000u);
}

// ---- property channel ----

TEST_F(Bcm2835MboxTest, BoardRevisionMacAndArmMemoryInOneBuffer) {
    auto v = put_request(kBuf, {{0x00010002, 4, {}},   // board revision
                                {0x00010003, 8, {}},   // MAC (6 bytes, padded)
                                {0x00010005, 8, {}},   // ARM memory
                                {0x00010006, 8, {}},   // VC memory
                                {0x00010004, 8, {}},   // serial
                                {0x00000001, 4, {}}}); // firmware revision
    EXPECT_EQ(call(0xc0000000 | kBuf | 8), 0xc0000000 | kBuf | 8u);
    EXPECT_EQ(word(kBuf + 4), 0x80000000u);
    EXPECT_EQ(word(v[0] - 4), 0x80000004u);
    EXPECT_EQ(word(v[0]), 0xa02082u);
    EXPECT_EQ(word(v[1] - 4), 0x80000006u) << "MAC length 6";
    EXPECT_EQ(word(v[1]), 0x12eb27b8u) << "b8:27:eb:12 in network order";
    EXPECT_EQ(word(v[1] + 4) & 0xffff, 0x5634u);
    EXPECT_EQ(word(v[2] - 4), 0x80000008u);
    EXPECT_EQ(word(v[2]), 0u);
    EXPECT_EQ(word(v[2] + 4), 0x00c00000u);
    EXPECT_EQ(word(v[3]), 0x00c00000u);
    EXPECT_EQ(word(v[3] + 4), 0x00400000u);
    EXPECT_EQ(word(v[4]), 0x52f2b2abu);
    EXPECT_EQ(word(v[4] + 4), 0u);
    EXPECT_EQ(word(v[5]), 0x5b0d7b2fu);
}

TEST_F(Bcm2835MboxTest, Alias0x40000000AndPlainAddressesReachTheSameRam) {
    put_request(kBuf, {{0x00010002, 4, {}}});
    EXPECT_EQ(call(0x40000000 | kBuf | 8), 0x40000000 | kBuf | 8u);
    EXPECT_EQ(word(kBuf + 20), 0xa02082u);
    put_request(kBuf, {{0x00010002, 4, {}}});
    EXPECT_EQ(call(kBuf | 8), kBuf | 8u);
    EXPECT_EQ(word(kBuf + 20), 0xa02082u);
}

TEST_F(Bcm2835MboxTest, ResponseIsTruncatedToTheValueBuffer) {
    auto v = put_request(kBuf, {{0x00010003, 4, {0xaaaaaaaa}}, {0x00010002, 4, {}}});
    poke(v[0] + 4, 0x00010002); // the next tag's id, right after the 4-byte buffer
    call(kBuf | 8);
    EXPECT_EQ(word(v[0] - 4), 0x80000006u) << "length says what was wanted";
    EXPECT_EQ(word(v[0]), 0x12eb27b8u);
    EXPECT_EQ(word(v[0] + 4), 0x00010002u) << "nothing written past the buffer";
    EXPECT_EQ(word(v[1]), 0xa02082u);
}

TEST_F(Bcm2835MboxTest, UnknownTagIsLeftUnansweredAndTheBufferStillSucceeds) {
    auto v = put_request(kBuf, {{0x00012345, 8, {0xdeadbeef, 0x01234567}},
                                {0x00038003, 8, {1, 0}}, // set voltage: not modelled
                                {0x00010002, 4, {}}});
    call(kBuf | 8);
    EXPECT_EQ(word(kBuf + 4), 0x80000000u);
    EXPECT_EQ(word(v[0] - 4), 0u) << "response bit not set";
    EXPECT_EQ(word(v[0]), 0xdeadbeefu);
    EXPECT_EQ(word(v[0] + 4), 0x01234567u);
    EXPECT_EQ(word(v[1] - 4), 0u);
    EXPECT_EQ(word(v[2] - 4), 0x80000004u) << "the tag after it is answered";
    EXPECT_EQ(word(v[2]), 0xa02082u);
}

TEST_F(Bcm2835MboxTest, ParseErrors) {
    // A tag whose value buffer runs past the buffer: tags before it are answered.
    auto v = put_request(kBuf, {{0x00010002, 4, {}}, {0x00010005, 8, {}}});
    poke(v[1] - 8, 0x100);
    call(kBuf | 8);
    EXPECT_EQ(word(kBuf + 4), 0x80000001u);
    EXPECT_EQ(word(v[0]), 0xa02082u);
    EXPECT_EQ(word(v[1] - 4), 0u);

    // No end tag before the end of the buffer.
    v = put_request(kBuf, {{0x00010002, 4, {}}});
    poke(kBuf, 24); // size, code, one 16-byte tag; the end tag falls outside
    call(kBuf | 8);
    EXPECT_EQ(word(kBuf + 4), 0x80000001u);
    EXPECT_EQ(word(v[0]), 0xa02082u);

    // A size below 12 bytes is not parsed at all.
    v = put_request(kBuf, {{0x00010002, 4, {}}});
    poke(kBuf, 8);
    call(kBuf | 8);
    EXPECT_EQ(word(kBuf + 4), 0x80000001u);
    EXPECT_EQ(word(v[0] - 4), 0u);
    EXPECT_EQ(word(v[0]), 0u);
}

TEST_F(Bcm2835MboxTest, ClockRatesGetSetClampAndAbsentClocks) {
    EXPECT_EQ(property(0x00030002, 8, {3}), (std::vector<uint32_t>{3, 1'200'000'000}));
    EXPECT_EQ(response_code, 0x80000008u);
    EXPECT_EQ(property(0x00030002, 8, {2}), (std::vector<uint32_t>{2, 48'000'000}));
    EXPECT_EQ(property(0x00030002, 8, {1}), (std::vector<uint32_t>{1, 250'000'000}));
    EXPECT_EQ(property(0x00030002, 8, {4}), (std::vector<uint32_t>{4, 400'000'000}));
    EXPECT_EQ(property(0x00030004, 8, {3}), (std::vector<uint32_t>{3, 1'200'000'000}));
    EXPECT_EQ(property(0x00030007, 8, {3}), (std::vector<uint32_t>{3, 600'000'000}));

    EXPECT_EQ(property(0x00038002, 12, {3, 700'000'000, 0}),
              (std::vector<uint32_t>{3, 700'000'000, 0}));
    EXPECT_EQ(response_code, 0x80000008u);
    EXPECT_EQ(property(0x00030002, 8, {3}), (std::vector<uint32_t>{3, 700'000'000}));
    EXPECT_EQ(mbox.clock_rate(MboxClockId::Arm), 700'000'000u);
    EXPECT_EQ(property(0x00038002, 12, {3, 2'000'000'000, 0})[1], 1'200'000'000u) << "max";
    EXPECT_EQ(property(0x00038002, 12, {3, 1'000'000, 0})[1], 600'000'000u) << "min";

    // PIXEL (9) and an id past PWM do not exist: rate 0, state "does not exist".
    EXPECT_EQ(property(0x00030002, 8, {9}), (std::vector<uint32_t>{9, 0}));
    EXPECT_EQ(property(0x00038002, 12, {42, 5, 0})[1], 0u);
    EXPECT_EQ(property(0x00030001, 8, {9}), (std::vector<uint32_t>{9, 2}));

    // Clock state: on after reset, kept when set.
    EXPECT_EQ(property(0x00030001, 8, {1}), (std::vector<uint32_t>{1, 1}));
    EXPECT_EQ(property(0x00038001, 8, {1, 0}), (std::vector<uint32_t>{1, 0}));
    EXPECT_EQ(property(0x00030001, 8, {1}), (std::vector<uint32_t>{1, 0}));
    EXPECT_EQ(property(0x00030002, 8, {1})[1], 250'000'000u) << "rate even when off";
}

TEST_F(Bcm2835MboxTest, Pi2ClockTable) {
    MboxBoardInfo info = pi3_info();
    info.board_revision = 0xa21041;
    info.clocks = mbox_clocks_pi2();
    Bcm2835Mbox m("mbox-pi2-clocks", clock, bus, info);
    EXPECT_EQ(m.clock_rate(MboxClockId::Arm), 900'000'000u);
    EXPECT_EQ(m.clock_rate(MboxClockId::Core), 250'000'000u);
    EXPECT_EQ(m.clock_rate(MboxClockId::Uart), 48'000'000u);
    EXPECT_EQ(m.clock_rate(MboxClockId::V3d), 250'000'000u);
    EXPECT_EQ(m.clock_rate(MboxClockId::Pwm), 0u);
}

TEST_F(Bcm2835MboxTest, PowerStateSetAndGet) {
    EXPECT_EQ(property(0x00020001, 8, {0}), (std::vector<uint32_t>{0, 0})) << "SD off";
    EXPECT_EQ(property(0x00028001, 8, {3, 3}), (std::vector<uint32_t>{3, 1})) << "USB on+wait";
    EXPECT_EQ(response_code, 0x80000008u);
    EXPECT_EQ(property(0x00020001, 8, {3}), (std::vector<uint32_t>{3, 1}));
    EXPECT_EQ(property(0x00020001, 8, {1}), (std::vector<uint32_t>{1, 0})) << "UART0 untouched";
    EXPECT_EQ(property(0x00028001, 8, {3, 0}), (std::vector<uint32_t>{3, 0}));
    EXPECT_EQ(property(0x00020001, 8, {3}), (std::vector<uint32_t>{3, 0}));
    EXPECT_EQ(property(0x00020001, 8, {42}), (std::vector<uint32_t>{42, 2})) << "no device";
    EXPECT_EQ(property(0x00028001, 8, {42, 1}), (std::vector<uint32_t>{42, 2}));
    EXPECT_EQ(property(0x00020002, 8, {3}), (std::vector<uint32_t>{3, 0})) << "timing";
}

TEST_F(Bcm2835MboxTest, LinuxFirmwareProbeTags) {
    // rpi_firmware_print_firmware_revision, rpi_register_hwmon_driver, and
    // rpi_has_new_domain_support (ARM domain 23 with on = ~0).
    EXPECT_EQ(property(0x00000001, 4), (std::vector<uint32_t>{0x5b0d7b2f}));
    EXPECT_EQ(property(0x00030046, 4, {0}), (std::vector<uint32_t>{0}));
    EXPECT_EQ(response_code, 0x80000004u);
    EXPECT_EQ(property(0x00030030, 8, {23, 0xffffffff}), (std::vector<uint32_t>{23, 1}));
    EXPECT_EQ(property(0x00030030, 8, {7, 0xffffffff}), (std::vector<uint32_t>{7, 0}));
    EXPECT_EQ(property(0x00038030, 8, {7, 1}), (std::vector<uint32_t>{7, 1}));
    EXPECT_EQ(property(0x00030030, 8, {7, 0xffffffff}), (std::vector<uint32_t>{7, 1}));
    EXPECT_EQ(property(0x00030006, 8, {0}), (std::vector<uint32_t>{0, 25000}));
    EXPECT_EQ(property(0x0003000a, 8, {0}), (std::vector<uint32_t>{0, 85000}));
}

TEST_F(Bcm2835MboxTest, GpioExpanderOnPi3Only) {
    EXPECT_EQ(property(0x00030043, 20, {130}), (std::vector<uint32_t>{0, 0, 0, 0, 0}));
    EXPECT_EQ(property(0x00038041, 8, {130, 1}), (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(property(0x00030041, 8, {130, 0}), (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(property(0x00030041, 8, {140, 0}), (std::vector<uint32_t>{140, 0})) << "no line";

    MboxBoardInfo info = pi3_info();
    info.gpio_expander = false;
    Bcm2835Mbox pi2("mbox-no-expander", clock, bus, info);
    auto v = put_request(kBuf, {{0x00030041, 8, {130, 7}}});
    pi2.write(0x20, kBuf | 8, 4);
    run_for(kDelay);
    EXPECT_EQ(pi2.read(0x00, 4), kBuf | 8u);
    EXPECT_EQ(word(v[0] - 4), 0u) << "unknown tag on a Pi 2";
    EXPECT_EQ(word(v[0]), 130u);
}

TEST_F(Bcm2835MboxTest, FramebufferSetsApplyBeforeGetsAndAllocate) {
    // Get pitch first: it must see the depth set later in the same buffer.
    auto v = put_request(kBuf, {{0x00040008, 4, {}},          // get pitch
                                {0x00048003, 8, {1024, 768}}, // set physical
                                {0x00048004, 8, {1024, 768}}, // set virtual
                                {0x00048009, 8, {0, 0}},      // set offset
                                {0x00048005, 4, {32}},        // set depth
                                {0x00048006, 4, {0}},         // set pixel order BGR
                                {0x00040001, 8, {4096, 0}},   // allocate
                                {0x00044005, 4, {24}},        // test depth
                                {0x00048005, 4, {17}}});      // unsupported depth
    call(kBuf | 8);
    EXPECT_EQ(word(kBuf + 4), 0x80000000u);
    EXPECT_EQ(word(v[0]), 4096u) << "1024 * 4";
    EXPECT_EQ(word(v[1]), 1024u);
    EXPECT_EQ(word(v[1] + 4), 768u);
    EXPECT_EQ(word(v[4]), 32u);
    EXPECT_EQ(word(v[8]), 32u) << "17 was refused: 32 stays";
    EXPECT_EQ(word(v[5]), 0u);
    EXPECT_EQ(word(v[6] - 4), 0x80000008u);
    EXPECT_EQ(word(v[6]), 0xc0c00000u) << "bus address of VC memory";
    EXPECT_EQ(word(v[6] + 4), 3'145'728u) << "4096 * 768";
    EXPECT_EQ(word(v[7]), 24u) << "test echoes";
    const MboxFramebuffer& fb = mbox.framebuffer();
    EXPECT_EQ(fb.base, 0x00c00000u);
    EXPECT_EQ(fb.size, 3'145'728u);
    EXPECT_EQ(fb.depth, 32u);
    EXPECT_EQ(fb.pixel_order, 0u);

    // Too big for the 4 MiB of VC memory: the current buffer comes back unchanged.
    EXPECT_EQ(property(0x00048003, 8, {2048, 2048}), (std::vector<uint32_t>{2048, 2048}));
    EXPECT_EQ(property(0x00040001, 8, {16, 0}), (std::vector<uint32_t>{0xc0c00000, 3'145'728}));
    EXPECT_EQ(property(0x00048001, 0), std::vector<uint32_t>{});
    EXPECT_EQ(response_code, 0x80000000u) << "release: length 0";
    EXPECT_EQ(mbox.framebuffer().base, 0u);
}

TEST_F(Bcm2835MboxTest, LegacyFramebufferChannelAnswersWithDataZero) {
    const uint32_t req[10] = {640, 480, 640, 480, 0, 16, 0, 0, 0, 0};
    for (uint32_t i = 0; i < 10; ++i)
        poke(kBuf + 4 * i, req[i]);
    EXPECT_EQ(call(0x40000000 | kBuf | 1), 0x00000001u);
    EXPECT_EQ(word(kBuf + 16), 1280u) << "pitch";
    EXPECT_EQ(word(kBuf + 32), 0x40c00000u) << "pointer with the request's alias";
    EXPECT_EQ(word(kBuf + 36), 614'400u);
}

TEST_F(Bcm2835MboxTest, OtherChannelsAreNeverAnswered) {
    LogCapture log;
    Bcm2835Mbox m("mbox-channels", clock, bus, pi3_info());
    m.write(0x20, kBuf | 0, 4); // power management
    m.write(0x20, kBuf | 9, 4); // VC -> ARM property channel: wrong way
    run_for(10 * kDelay);
    EXPECT_EQ(m.read(0x18, 4), 0x40000000u);
    EXPECT_EQ(m.read(0x38, 4), 0x40000000u) << "consumed";
    EXPECT_NE(log.text().find("message on an invalid channel"), std::string::npos);
}

TEST_F(Bcm2835MboxTest, ResetEmptiesBothMailboxesAndRestoresFirmwareState) {
    property(0x00038002, 12, {3, 700'000'000, 0});
    wr(Reg::Config, 1);
    wr(Reg::Write, kBuf | 8);
    run_for(kDelay);
    wr(Reg::Write, kBuf | 8);
    ASSERT_TRUE(mbox.irq().level());
    mbox.reset();
    EXPECT_FALSE(mbox.irq().level());
    EXPECT_EQ(rd(Reg::Config), 0u);
    EXPECT_EQ(rd(Reg::Status), 0x40000000u);
    EXPECT_EQ(rd(Reg::Status1), 0x40000000u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever) << "pending message forgotten";
    EXPECT_EQ(mbox.clock_rate(MboxClockId::Arm), 1'200'000'000u);
}

} // namespace
