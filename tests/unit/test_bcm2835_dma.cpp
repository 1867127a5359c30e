// BCM2835 DMA controller register-level tests: reset values, bus address translation,
// memory-to-memory copies through chained control blocks with an interrupt after each,
// END/INT write-1-to-clear, 2D mode with positive and negative strides, peripheral
// writes and reads through a fake device on the Bus, S_IGNORE/D_IGNORE, odd lengths,
// RESET, ABORT, pause and resume, ENABLE, bad control block and source addresses
// (ERROR and DEBUG.READ_ERROR), the shared interrupt outputs, Lite channels and unknown
// offsets. Expected values are written as numbers, not with the model's own constants.
//
// The clock runs at 1 GHz, four times the 250 MHz core clock, so one 32-bit beat (4 core
// clocks) takes 16 cycles on a full channel and 32 on a Lite one; a CB fetch is 8 beats.
#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "devices/bcm2835_dma.hpp"

using namespace piemu;
using Reg = Bcm2835Dma::Reg;

namespace {

constexpr uint32_t kRam = 16 * 1024 * 1024;
constexpr uint32_t kUncached = 0xc0000000; // the Pi 2/3 RAM alias in bus addresses
constexpr uint64_t kBeat = 16;             // cycles per beat on a full channel

// TI bits.
constexpr uint32_t kInten = 1u << 0;
constexpr uint32_t kTdmode = 1u << 1;
constexpr uint32_t kDestInc = 1u << 4;
constexpr uint32_t kDestDreq = 1u << 6;
constexpr uint32_t kDestIgnore = 1u << 7;
constexpr uint32_t kSrcInc = 1u << 8;
constexpr uint32_t kSrcDreq = 1u << 10;
constexpr uint32_t kSrcIgnore = 1u << 11;
constexpr uint32_t permap(uint32_t p) {
    return p << 16;
}
constexpr uint32_t kCopy = kSrcInc | kDestInc;

struct RecordingSink : IrqSink {
    std::vector<std::pair<unsigned, bool>> calls;
    void set_irq_input(unsigned input, bool level) override { calls.emplace_back(input, level); }
};

// A peripheral with a FIFO register at +0x04: records every write, reads count up.
struct FakeFifo : Device {
    struct Access {
        uint32_t offset;
        uint32_t value;
        unsigned size;
    };
    std::vector<Access> writes;
    uint32_t next_read = 0x100;
    FakeFifo() : Device("fake-fifo") {}
    uint32_t mmio_size() const override { return 0x100; }
    uint32_t read(uint32_t, unsigned) override { return next_read++; }
    void write(uint32_t offset, uint32_t value, unsigned size) override {
        writes.push_back({offset, value, size});
    }
    void reset() override {}
};

class Bcm2835DmaTest : public ::testing::Test {
protected:
    VirtualClock clock{1'000'000'000};
    Bus bus{kRam};
    Bcm2835Dma dma{"dma@7e007000", clock, bus};
    RecordingSink sink;

    void SetUp() override {
        auto lines = dma.irq_outputs();
        for (unsigned i = 0; i < lines.size(); ++i)
            lines[i]->connect(&sink, 16 + i); // GPU IRQ 16 upwards, as wired by the DT
    }
    uint32_t rd(unsigned ch, Reg r) { return dma.read(ch * 0x100 + static_cast<uint32_t>(r), 4); }
    void wr(unsigned ch, Reg r, uint32_t v) {
        dma.write(ch * 0x100 + static_cast<uint32_t>(r), v, 4);
    }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    void run_all() {
        for (uint64_t t = clock.next_deadline(); t != VirtualClock::kNever;
             t = clock.next_deadline())
            run_to(t);
    }
    // A control block at physical `phys`; returns its bus address.
    uint32_t put_cb(uint32_t phys, uint32_t ti, uint32_t src, uint32_t dst, uint32_t len,
                    uint32_t stride, uint32_t next) {
        const uint32_t w[8] = {ti, src, dst, len, stride, next, 0, 0};
        EXPECT_TRUE(bus.write_phys(phys, {reinterpret_cast<const uint8_t*>(w), sizeof w}));
        return kUncached | phys;
    }
    void fill(uint32_t phys, uint32_t len, uint8_t seed) {
        std::vector<uint8_t> v(len);
        for (uint32_t i = 0; i < len; ++i)
            v[i] = static_cast<uint8_t>(seed + i);
        EXPECT_TRUE(bus.write_phys(phys, v));
    }
    std::vector<uint8_t> mem(uint32_t phys, uint32_t len) {
        std::vector<uint8_t> v(len);
        EXPECT_TRUE(bus.read_phys(phys, v));
        return v;
    }
    uint32_t word(uint32_t phys) {
        uint32_t v = 0;
        EXPECT_TRUE(bus.read32(phys, v));
        return v;
    }
    void start(unsigned ch, uint32_t cb_bus) {
        wr(ch, Reg::ConblkAd, cb_bus);
        wr(ch, Reg::Cs, 1); // ACTIVE
    }
    bool out(unsigned index) { return dma.irq(index).level(); }
};

// ---- reset values and addresses ----

TEST_F(Bcm2835DmaTest, ResetValues) {
    for (unsigned ch = 0; ch < 15; ++ch) {
        EXPECT_EQ(rd(ch, Reg::Cs), 0u) << ch;
        EXPECT_EQ(rd(ch, Reg::ConblkAd), 0u);
        EXPECT_EQ(rd(ch, Reg::Ti), 0u);
        EXPECT_EQ(rd(ch, Reg::SourceAd), 0u);
        EXPECT_EQ(rd(ch, Reg::DestAd), 0u);
        EXPECT_EQ(rd(ch, Reg::TxfrLen), 0u);
        EXPECT_EQ(rd(ch, Reg::Stride), 0u);
        EXPECT_EQ(rd(ch, Reg::NextConbk), 0u);
        EXPECT_EQ(rd(ch, Reg::Debug), ch >= 7 ? 0x10000000u : 0u) << "LITE on 7-14";
    }
    EXPECT_EQ(dma.read(0xfe0, 4), 0u);
    EXPECT_EQ(dma.read(0xff0, 4), 0x7fffu);
    ASSERT_EQ(dma.irq_outputs().size(), 16u) << "the DT node lists 16 interrupts";
    for (unsigned i = 0; i < 16; ++i) {
        EXPECT_EQ(dma.irq_outputs()[i], &dma.irq(i));
        EXPECT_FALSE(out(i));
    }
    EXPECT_TRUE(sink.calls.empty());
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
}

TEST_F(Bcm2835DmaTest, BusAddressesTranslateAsTheDmaRangesSay) {
    EXPECT_EQ(Bcm2835Dma::bus_to_phys(0xc0001000), 0x00001000u);
    EXPECT_EQ(Bcm2835Dma::bus_to_phys(0x80001000), 0x00001000u);
    EXPECT_EQ(Bcm2835Dma::bus_to_phys(0x40001000), 0x00001000u);
    EXPECT_EQ(Bcm2835Dma::bus_to_phys(0x00001000), 0x00001000u);
    EXPECT_EQ(Bcm2835Dma::bus_to_phys(0xfeedbeec), 0x3eedbeecu);
    EXPECT_EQ(Bcm2835Dma::bus_to_phys(0x7e201000), 0x3f201000u);
    EXPECT_EQ(Bcm2835Dma::bus_to_phys(0x7effffff), 0x3fffffffu);
}

// ---- memory to memory ----

TEST_F(Bcm2835DmaTest, ChainedCopyRaisesTheIrqAfterEachControlBlock) {
    fill(0x2000, 16, 0x10);
    fill(0x2100, 40, 0x80);
    uint32_t cb1 = put_cb(0x1020, kInten | kCopy, kUncached | 0x2100, kUncached | 0x3100, 40, 0, 0);
    uint32_t cb0 =
        put_cb(0x1000, kInten | kCopy, kUncached | 0x2000, kUncached | 0x3000, 16, 0, cb1);
    start(0, cb0);
    // The CB is loaded at once.
    EXPECT_EQ(rd(0, Reg::Cs), 0x9u) << "ACTIVE | DREQ";
    EXPECT_EQ(rd(0, Reg::Ti), kInten | kCopy);
    EXPECT_EQ(rd(0, Reg::SourceAd), 0xc0002000u);
    EXPECT_EQ(rd(0, Reg::DestAd), 0xc0003000u);
    EXPECT_EQ(rd(0, Reg::TxfrLen), 16u);
    EXPECT_EQ(rd(0, Reg::NextConbk), 0xc0001020u);

    // CB 0: fetch (8 beats) + 4 beats.
    run_to(12 * kBeat - 1);
    EXPECT_EQ(word(0x3000), 0u);
    EXPECT_FALSE(out(0));
    run_to(12 * kBeat);
    EXPECT_EQ(mem(0x3000, 16), mem(0x2000, 16));
    EXPECT_EQ(rd(0, Reg::Cs) & 0x7u, 0x7u) << "ACTIVE, END, INT";
    EXPECT_TRUE(out(0));
    EXPECT_TRUE(out(15)) << "dma-shared-all";
    EXPECT_EQ(dma.read(0xfe0, 4), 0x1u);
    EXPECT_EQ(rd(0, Reg::ConblkAd), 0xc0001020u);
    EXPECT_EQ(rd(0, Reg::SourceAd), 0xc0002100u) << "CB 1 already loaded";
    EXPECT_EQ(rd(0, Reg::TxfrLen), 40u);

    // Linux's handler acks with INT | ACTIVE.
    wr(0, Reg::Cs, 0x5);
    EXPECT_FALSE(out(0));
    EXPECT_EQ(rd(0, Reg::Cs) & 0x7u, 0x3u) << "END stays until written";

    // CB 1: fetch + 10 beats.
    uint64_t done = 12 * kBeat + 18 * kBeat;
    run_to(done - 1);
    EXPECT_EQ(word(0x3100), 0u);
    EXPECT_FALSE(out(0));
    run_to(done);
    EXPECT_EQ(mem(0x3100, 40), mem(0x2100, 40));
    EXPECT_EQ(rd(0, Reg::Cs), 0x0eu) << "END, INT, DREQ; ACTIVE cleared by NEXTCONBK 0";
    EXPECT_EQ(rd(0, Reg::ConblkAd), 0u);
    EXPECT_EQ(rd(0, Reg::TxfrLen), 0u);
    EXPECT_EQ(rd(0, Reg::SourceAd), 0xc0002128u);
    EXPECT_EQ(rd(0, Reg::DestAd), 0xc0003128u);
    EXPECT_TRUE(out(0));
    const std::vector<std::pair<unsigned, bool>> expected = {{16, true},  {31, true}, {16, false},
                                                             {31, false}, {16, true}, {31, true}};
    EXPECT_EQ(sink.calls, expected);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
}

TEST_F(Bcm2835DmaTest, EndAndIntAreWriteOneToClear) {
    fill(0x2000, 8, 1);
    start(2, put_cb(0x1000, kInten | kCopy, kUncached | 0x2000, kUncached | 0x3000, 8, 0, 0));
    run_all();
    ASSERT_EQ(rd(2, Reg::Cs) & 0x6u, 0x6u);
    ASSERT_TRUE(out(2));
    wr(2, Reg::Cs, 0);
    EXPECT_EQ(rd(2, Reg::Cs) & 0x6u, 0x6u) << "0s clear nothing";
    dma.write(0xfe0, 0xffffffff, 4);
    EXPECT_EQ(dma.read(0xfe0, 4), 0x4u) << "INT_STATUS is read-only";
    wr(2, Reg::Cs, 0x2);
    EXPECT_EQ(rd(2, Reg::Cs) & 0x6u, 0x4u);
    EXPECT_TRUE(out(2));
    wr(2, Reg::Cs, 0x4);
    EXPECT_EQ(rd(2, Reg::Cs) & 0x6u, 0x0u);
    EXPECT_FALSE(out(2));
    EXPECT_EQ(dma.read(0xfe0, 4), 0u);
}

TEST_F(Bcm2835DmaTest, NoInterruptWithoutInten) {
    fill(0x2000, 8, 1);
    start(1, put_cb(0x1000, kCopy, kUncached | 0x2000, kUncached | 0x3000, 8, 0, 0));
    run_all();
    EXPECT_EQ(rd(1, Reg::Cs) & 0x7u, 0x2u) << "END only";
    EXPECT_FALSE(out(1));
    EXPECT_TRUE(sink.calls.empty());
}

TEST_F(Bcm2835DmaTest, LengthsThatAreNoMultipleOfFourCopyExactly) {
    fill(0x2000, 16, 0x40);
    start(0, put_cb(0x1000, kCopy, kUncached | 0x2001, kUncached | 0x3003, 7, 0, 0));
    run_all();
    std::vector<uint8_t> expect = {0, 0, 0, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0, 0};
    EXPECT_EQ(mem(0x3000, 12), expect);
}

TEST_F(Bcm2835DmaTest, LongTransferMovesInSlicesAndCountsDown) {
    fill(0x10000, 256, 0);
    start(0, put_cb(0x1000, kCopy, kUncached | 0x10000, kUncached | 0x20000, 256, 0, 0));
    run_to(8 * kBeat + 16 * kBeat); // the fetch and the first 64-byte slice
    EXPECT_EQ(rd(0, Reg::TxfrLen), 192u);
    EXPECT_EQ(rd(0, Reg::SourceAd), 0xc0010040u);
    EXPECT_EQ(mem(0x20000, 64), mem(0x10000, 64));
    EXPECT_EQ(word(0x20040), 0u);
    run_to(8 * kBeat + 64 * kBeat);
    EXPECT_EQ(mem(0x20000, 256), mem(0x10000, 256));
    EXPECT_EQ(rd(0, Reg::Cs) & 0x3u, 0x2u);
}

// A copy whose destination overlaps its source ahead of it moves 32-bit beats in
// order: each beat reads what the one before wrote, so a 4-byte offset repeats the
// first four bytes along the whole row (what the engine does; memmove would not).
TEST_F(Bcm2835DmaTest, OverlappingCopyMovesBeatByBeat) {
    fill(0x4000, 80, 0x10);
    start(0, put_cb(0x1000, kCopy, kUncached | 0x4000, kUncached | 0x4004, 72, 0, 0));
    run_all();
    std::vector<uint8_t> expect(80);
    for (uint32_t i = 0; i < 76; ++i)
        expect[i] = uint8_t(0x10 + i % 4);
    for (uint32_t i = 76; i < 80; ++i)
        expect[i] = uint8_t(0x10 + i);
    EXPECT_EQ(mem(0x4000, 80), expect);

    // Behind its source, it is a plain copy.
    fill(0x5000, 80, 0x20);
    start(1, put_cb(0x1100, kCopy, kUncached | 0x5004, kUncached | 0x5000, 72, 0, 0));
    run_all();
    for (uint32_t i = 0; i < 72; ++i)
        expect[i] = uint8_t(0x24 + i);
    for (uint32_t i = 72; i < 80; ++i)
        expect[i] = uint8_t(0x20 + i);
    EXPECT_EQ(mem(0x5000, 80), expect);
}

// A copy running off the end of RAM: what lies in RAM moves, then the channel stops
// with a read error at the first source beat outside it (no partial slice skipped).
TEST_F(Bcm2835DmaTest, CopyRunningOffTheEndOfRamStopsAtTheFirstBadBeat) {
    fill(kRam - 24, 24, 0x30);
    start(0, put_cb(0x1000, kCopy, kUncached | (kRam - 24), kUncached | 0x6000, 64, 0, 0));
    run_all();
    EXPECT_EQ(mem(0x6000, 24), mem(kRam - 24, 24));
    EXPECT_EQ(word(0x6018), 0u);
    EXPECT_EQ(rd(0, Reg::SourceAd), kUncached | kRam);
    EXPECT_EQ(rd(0, Reg::TxfrLen), 40u);
    EXPECT_EQ(rd(0, Reg::Debug) & 0x4u, 0x4u) << "READ_ERROR";
}

TEST_F(Bcm2835DmaTest, SourceAndDestIgnore) {
    fill(0x3000, 8, 0x55);
    // S_IGNORE: zeros are written.
    start(0, put_cb(0x1000, kCopy | kSrcIgnore, kUncached | 0x2000, kUncached | 0x3000, 8, 0, 0));
    run_all();
    EXPECT_EQ(mem(0x3000, 8), std::vector<uint8_t>(8, 0));
    EXPECT_EQ(rd(0, Reg::SourceAd), 0xc0002008u) << "addresses still advance";
    // D_IGNORE: nothing is written.
    fill(0x2000, 8, 0x11);
    start(0, put_cb(0x1040, kCopy | kDestIgnore, kUncached | 0x2000, kUncached | 0x3000, 8, 0, 0));
    run_all();
    EXPECT_EQ(mem(0x3000, 8), std::vector<uint8_t>(8, 0));
    EXPECT_EQ(rd(0, Reg::Cs) & 0x2u, 0x2u);
}

// ---- 2D mode ----

TEST_F(Bcm2835DmaTest, TwoDimensionalCopyWithStrides) {
    // Four rows of 8 bytes from a 32-byte pitch into a 16-byte pitch. YLENGTH is the
    // number of rows minus one (bcm2708_fb.c); strides are pitch - width.
    fill(0x2000, 128, 0);
    uint32_t len = (3u << 16) | 8;
    uint32_t stride = (8u << 16) | 24;
    start(0, put_cb(0x1000, kInten | kCopy | kTdmode, kUncached | 0x2000, kUncached | 0x3000, len,
                    stride, 0));
    EXPECT_EQ(rd(0, Reg::TxfrLen), 0x30008u);
    run_all();
    for (uint32_t row = 0; row < 4; ++row) {
        EXPECT_EQ(mem(0x3000 + 16 * row, 8), mem(0x2000 + 32 * row, 8)) << row;
        EXPECT_EQ(mem(0x3000 + 16 * row + 8, 8), std::vector<uint8_t>(8, 0)) << "gap " << row;
    }
    EXPECT_EQ(word(0x3040), 0u) << "no fifth row";
    EXPECT_EQ(rd(0, Reg::TxfrLen), 0u);
    EXPECT_EQ(rd(0, Reg::SourceAd), 0xc0002000u + 3 * 32 + 8);
    EXPECT_EQ(rd(0, Reg::DestAd), 0xc0003000u + 3 * 16 + 8);
    EXPECT_TRUE(out(0));
    // Fetch, then one slice per row: 8 + 4 * 2 beats.
    EXPECT_EQ(clock.now(), 16 * kBeat);
}

TEST_F(Bcm2835DmaTest, TwoDimensionalCopyWithNegativeStrides) {
    // Bottom to top, as bcm2708_fb copies overlapping areas: three rows of 4 bytes.
    fill(0x2000, 64, 0x20);
    uint32_t len = (2u << 16) | 4;
    uint32_t stride = uint32_t(uint16_t(-20)) << 16 | uint16_t(-20); // -(16 + 4)
    start(0,
          put_cb(0x1000, kCopy | kTdmode, kUncached | 0x2020, kUncached | 0x3020, len, stride, 0));
    run_all();
    EXPECT_EQ(mem(0x3000, 4), mem(0x2000, 4));
    EXPECT_EQ(mem(0x3010, 4), mem(0x2010, 4));
    EXPECT_EQ(mem(0x3020, 4), mem(0x2020, 4));
    EXPECT_EQ(word(0x3004), 0u);
    EXPECT_EQ(rd(0, Reg::DestAd), 0xc0003004u);
}

// ---- peripherals ----

TEST_F(Bcm2835DmaTest, WritesToAPeripheralWithDestDreq) {
    FakeFifo fifo;
    ASSERT_FALSE(bus.add_device(0x3f204000, fifo).is_error());
    const uint32_t words[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
    ASSERT_TRUE(bus.write_phys(0x2000, {reinterpret_cast<const uint8_t*>(words), sizeof words}));
    // SPI0 TX: DEST_DREQ with PERMAP 6, the FIFO address fixed (no DEST_INC).
    uint32_t ti = kInten | kSrcInc | kDestDreq | permap(6);
    start(5, put_cb(0x1000, ti, kUncached | 0x2000, 0x7e204004, 16, 0, 0));
    run_all();
    ASSERT_EQ(fifo.writes.size(), 4u);
    for (unsigned i = 0; i < 4; ++i) {
        EXPECT_EQ(fifo.writes[i].offset, 4u);
        EXPECT_EQ(fifo.writes[i].value, words[i]);
        EXPECT_EQ(fifo.writes[i].size, 4u);
    }
    EXPECT_EQ(rd(5, Reg::DestAd), 0x7e204004u);
    EXPECT_EQ(rd(5, Reg::Ti), ti);
    EXPECT_EQ(rd(5, Reg::Cs) & 0xeu, 0xeu) << "END, INT, DREQ (always ready)";
    EXPECT_TRUE(out(5));
}

TEST_F(Bcm2835DmaTest, ReadsFromAPeripheralWithSrcDreq) {
    FakeFifo fifo;
    ASSERT_FALSE(bus.add_device(0x3f204000, fifo).is_error());
    uint32_t ti = kDestInc | kSrcDreq | permap(7);
    start(4, put_cb(0x1000, ti, 0x7e204004, kUncached | 0x3000, 12, 0, 0));
    run_all();
    EXPECT_EQ(word(0x3000), 0x100u);
    EXPECT_EQ(word(0x3004), 0x101u);
    EXPECT_EQ(word(0x3008), 0x102u);
    EXPECT_EQ(word(0x300c), 0u);
}

// ---- stopping a channel ----

TEST_F(Bcm2835DmaTest, ResetStopsTheChannelAndClearsItsRegisters) {
    fill(0x10000, 1024, 3);
    start(3, put_cb(0x1000, kInten | kCopy, kUncached | 0x10000, kUncached | 0x20000, 1024, 0, 0));
    run_to(8 * kBeat + 32 * kBeat); // two slices
    ASSERT_EQ(rd(3, Reg::TxfrLen), 1024u - 128);
    wr(3, Reg::Cs, 0x80000000);
    EXPECT_EQ(rd(3, Reg::Cs), 0u);
    EXPECT_EQ(rd(3, Reg::ConblkAd), 0u);
    EXPECT_EQ(rd(3, Reg::Ti), 0u);
    EXPECT_EQ(rd(3, Reg::SourceAd), 0u);
    EXPECT_EQ(rd(3, Reg::TxfrLen), 0u);
    EXPECT_EQ(rd(3, Reg::NextConbk), 0u);
    run_to(1'000'000);
    EXPECT_EQ(mem(0x20000, 128), mem(0x10000, 128));
    EXPECT_EQ(word(0x20080), 0u) << "nothing moved after the reset";
    EXPECT_FALSE(out(3));
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
}

TEST_F(Bcm2835DmaTest, ClearingActivePausesAndSettingItResumes) {
    fill(0x10000, 256, 9);
    start(0, put_cb(0x1000, kCopy, kUncached | 0x10000, kUncached | 0x20000, 256, 0, 0));
    run_to(8 * kBeat + 16 * kBeat);
    wr(0, Reg::Cs, 0); // pause, as Linux's bcm2835_dma_abort does first
    EXPECT_EQ(rd(0, Reg::Cs), 0x18u) << "PAUSED, DREQ";
    run_to(100'000);
    EXPECT_EQ(rd(0, Reg::TxfrLen), 192u);
    wr(0, Reg::Cs, 1);
    EXPECT_EQ(rd(0, Reg::Cs), 0x9u);
    run_to(100'000 + 48 * kBeat);
    EXPECT_EQ(mem(0x20000, 256), mem(0x10000, 256));
    EXPECT_EQ(rd(0, Reg::Cs) & 0x3u, 0x2u);
}

TEST_F(Bcm2835DmaTest, AbortSkipsToTheNextControlBlock) {
    fill(0x10000, 256, 1);
    fill(0x11000, 8, 0xa0);
    uint32_t cb1 =
        put_cb(0x1020, kInten | kCopy, kUncached | 0x11000, kUncached | 0x21000, 8, 0, 0);
    start(0, put_cb(0x1000, kInten | kCopy, kUncached | 0x10000, kUncached | 0x20000, 256, 0, cb1));
    run_to(8 * kBeat + 16 * kBeat);
    wr(0, Reg::Cs, 0x40000001); // ABORT, keep ACTIVE
    EXPECT_EQ(rd(0, Reg::ConblkAd), cb1);
    EXPECT_EQ(rd(0, Reg::Cs) & 0x6u, 0u) << "no END or INT for the aborted CB";
    run_all();
    EXPECT_EQ(word(0x20040), 0u) << "the rest of CB 0 was dropped";
    EXPECT_EQ(mem(0x21000, 8), mem(0x11000, 8));
    EXPECT_EQ(rd(0, Reg::Cs) & 0x7u, 0x6u);
}

TEST_F(Bcm2835DmaTest, ActiveWithNoControlBlockStaysIdleUntilOneIsWritten) {
    wr(0, Reg::Cs, 1);
    EXPECT_EQ(rd(0, Reg::Cs), 0x1u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
    fill(0x2000, 4, 7);
    wr(0, Reg::ConblkAd, put_cb(0x1000, kCopy, kUncached | 0x2000, kUncached | 0x3000, 4, 0, 0));
    run_all();
    EXPECT_EQ(mem(0x3000, 4), mem(0x2000, 4));
}

TEST_F(Bcm2835DmaTest, DisabledChannelWaitsForItsEnableBit) {
    fill(0x2000, 16, 5);
    dma.write(0xff0, 0x7fff & ~(1u << 3), 4);
    EXPECT_EQ(dma.read(0xff0, 4), 0x7ff7u);
    start(3, put_cb(0x1000, kInten | kCopy, kUncached | 0x2000, kUncached | 0x3000, 16, 0, 0));
    run_to(1'000'000);
    EXPECT_EQ(word(0x3000), 0u);
    EXPECT_EQ(rd(3, Reg::Cs), 0x1u) << "ACTIVE but nothing fetched";
    EXPECT_EQ(rd(3, Reg::Ti), 0u);
    dma.write(0xff0, 0x7fff, 4);
    run_to(1'000'000 + 12 * kBeat - 1);
    EXPECT_EQ(word(0x3000), 0u);
    run_to(1'000'000 + 12 * kBeat);
    EXPECT_EQ(mem(0x3000, 16), mem(0x2000, 16));
    EXPECT_TRUE(out(3));
}

TEST_F(Bcm2835DmaTest, ClearingEnableMidTransferHoldsTheChannel) {
    fill(0x10000, 128, 2);
    start(6, put_cb(0x1000, kCopy, kUncached | 0x10000, kUncached | 0x20000, 128, 0, 0));
    run_to(8 * kBeat + 16 * kBeat);
    dma.write(0xff0, 0, 4);
    EXPECT_EQ(rd(6, Reg::Cs), 0x19u) << "ACTIVE, DREQ, PAUSED";
    run_to(50'000);
    EXPECT_EQ(rd(6, Reg::TxfrLen), 64u);
    dma.write(0xff0, 1u << 6, 4);
    run_all();
    EXPECT_EQ(mem(0x20000, 128), mem(0x10000, 128));
}

// ---- errors ----

TEST_F(Bcm2835DmaTest, BadControlBlockAddressSetsErrorAndReadError) {
    start(0, kUncached | 0x02000000); // 32 MiB: past the 16 MiB of RAM, no device
    EXPECT_EQ(rd(0, Reg::Cs), 0x100u) << "ERROR; ACTIVE cleared";
    EXPECT_EQ(rd(0, Reg::Debug), 0x4u) << "READ_ERROR";
    EXPECT_EQ(rd(0, Reg::ConblkAd), 0xc2000000u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
    EXPECT_FALSE(out(0));
    wr(0, Reg::Debug, 0x3); // other flags: nothing
    EXPECT_EQ(rd(0, Reg::Debug), 0x4u);
    wr(0, Reg::Debug, 0x4);
    EXPECT_EQ(rd(0, Reg::Debug), 0u);
    EXPECT_EQ(rd(0, Reg::Cs), 0u);
}

TEST_F(Bcm2835DmaTest, UnmappedSourceStopsTheTransferWithReadError) {
    start(1, put_cb(0x1000, kInten | kCopy, kUncached | 0x02000000, kUncached | 0x3000, 16, 0, 0));
    run_all();
    EXPECT_EQ(rd(1, Reg::Cs) & 0x107u, 0x100u) << "ERROR, not ACTIVE, no END or INT";
    EXPECT_EQ(rd(1, Reg::Debug), 0x4u);
    EXPECT_FALSE(out(1));
}

TEST_F(Bcm2835DmaTest, MisalignedControlBlockAddressDropsTheLowBits) {
    wr(0, Reg::ConblkAd, 0xc000101f);
    EXPECT_EQ(rd(0, Reg::ConblkAd), 0xc0001000u);
    wr(0, Reg::NextConbk, 0xc0002011);
    EXPECT_EQ(rd(0, Reg::NextConbk), 0xc0002000u);
}

// ---- interrupt outputs ----

TEST_F(Bcm2835DmaTest, Channels11To14ShareOneInterrupt) {
    fill(0x2000, 8, 1);
    start(11, put_cb(0x1000, kInten | kCopy, kUncached | 0x2000, kUncached | 0x3000, 8, 0, 0));
    start(12, put_cb(0x1020, kInten | kCopy, kUncached | 0x2000, kUncached | 0x3100, 8, 0, 0));
    run_all();
    for (unsigned i = 11; i < 15; ++i)
        EXPECT_TRUE(out(i)) << i;
    EXPECT_TRUE(out(15));
    EXPECT_FALSE(out(10));
    EXPECT_EQ(dma.read(0xfe0, 4), 0x1800u);
    wr(11, Reg::Cs, 0x4);
    for (unsigned i = 11; i < 15; ++i)
        EXPECT_TRUE(out(i)) << "channel 12 still pending";
    wr(12, Reg::Cs, 0x4);
    for (unsigned i = 11; i < 16; ++i)
        EXPECT_FALSE(out(i)) << i;
}

// ---- Lite channels ----

TEST_F(Bcm2835DmaTest, LiteChannelsAreSlowerAndHaveNo2dMode) {
    fill(0x2000, 64, 0x30);
    // TDMODE on channel 8: runs linear over the 16-bit length 0x0008 (YLENGTH dropped).
    start(8, put_cb(0x1000, kCopy | kTdmode, kUncached | 0x2000, kUncached | 0x3000, (3u << 16) | 8,
                    0, 0));
    EXPECT_EQ(rd(8, Reg::TxfrLen), 8u);
    run_to(2 * (8 + 2) * kBeat - 1);
    EXPECT_EQ(word(0x3000), 0u);
    run_to(2 * (8 + 2) * kBeat);
    EXPECT_EQ(mem(0x3000, 8), mem(0x2000, 8));
    EXPECT_EQ(word(0x3008), 0u);
    EXPECT_EQ(rd(8, Reg::Debug), 0x10000000u);
}

// ---- bad accesses and sub-word accesses ----

TEST_F(Bcm2835DmaTest, UnknownOffsetsReadZeroAndIgnoreWrites) {
    for (uint32_t offset : {0x24u, 0xfcu, 0x124u, 0xf00u, 0xfe4u, 0xff4u, 0xffcu}) {
        dma.write(offset, 0xffffffff, 4);
        EXPECT_EQ(dma.read(offset, 4), 0u) << std::hex << offset;
    }
    EXPECT_EQ(dma.read(0x1000, 4), 0u) << "outside the window";
    for (Reg r : {Reg::Ti, Reg::SourceAd, Reg::DestAd, Reg::TxfrLen, Reg::Stride}) {
        wr(0, r, 0x12345678);
        EXPECT_EQ(rd(0, r), 0u) << "read-only CB register";
    }
    EXPECT_EQ(rd(0, Reg::Cs), 0u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
}

TEST_F(Bcm2835DmaTest, CsStoresItsReadWriteFields) {
    wr(0, Reg::Cs, 0xffffffff);
    EXPECT_EQ(rd(0, Reg::Cs), 0u) << "RESET wins over the other bits";
    wr(0, Reg::Cs, 0x3ffffffe); // all but ACTIVE, ABORT and RESET
    EXPECT_EQ(rd(0, Reg::Cs), 0x30ff0000u) << "PRIORITY, PANIC, WAIT_FOR_WRITES, DISDEBUG";
}

TEST_F(Bcm2835DmaTest, SubWordAccesses) {
    fill(0x2000, 8, 1);
    start(0, put_cb(0x1000, kInten | kCopy, kUncached | 0x2000, kUncached | 0x3000, 8, 0, 0));
    wr(0, Reg::Cs, 0x00050001); // PRIORITY 5
    run_all();
    ASSERT_EQ(rd(0, Reg::Cs), 0x0005000eu);
    dma.write(0x000, 0x04, 1); // byte write: clears INT, keeps PRIORITY
    EXPECT_EQ(rd(0, Reg::Cs), 0x0005000au);
    EXPECT_EQ(dma.read(0x002, 1), 0x05u);
    EXPECT_EQ(dma.read(0x00a, 2), 0x0000u) << "TI [31:16]";
    EXPECT_EQ(dma.read(0x008, 2), uint32_t(kInten | kCopy));
}

} // namespace
