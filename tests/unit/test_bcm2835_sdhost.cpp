// BCM2835 SDHOST register-level tests: reset values, command timing (NEW_FLAG until
// 2 us of virtual time have passed), the identification sequence through SDCMD/SDARG
// with responses in SDRSP0-3, timeouts (no card, illegal command, wrong response
// length, card unpowered), BUSY_IRPT after a BUSYWAIT command, a block read through
// the FIFO with DATA_FLAG, BLOCK_IRPT, the SDEDM fill level and FSM, the interrupt line
// following SDHCFG's enables, block writes that reach the image file, write-1-to-clear
// SDHSTS, and bad accesses. Expected values are numbers, not the model's constants.
//
// The clock is 900 MHz: a command completes 1800 cycles after its SDCMD write.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "devices/bcm2835_sdhost.hpp"
#include "loader_temp_dir.hpp"

using namespace piemu;
using Reg = Bcm2835Sdhost::Reg;

namespace {

constexpr uint32_t kNew = 0x8000, kFail = 0x4000, kBusy = 0x800, kNoResp = 0x400, kLong = 0x200,
                   kWrite = 0x80, kRead = 0x40;
constexpr uint32_t kDataFlag = 0x01, kCmdTimeOut = 0x40, kRewTimeOut = 0x80, kBlockIrpt = 0x200,
                   kBusyIrpt = 0x400;
constexpr uint32_t kDataIrptEn = 0x10, kBlockIrptEn = 0x100, kBusyIrptEn = 0x400;
constexpr uint64_t kCommandCycles = 1800;
constexpr uint32_t kRca = 0xb368;

uint8_t pattern(uint64_t block, unsigned i) {
    return uint8_t(block * 5 + i * 11 + 3);
}

std::vector<uint8_t> pattern_image(uint32_t blocks) {
    std::vector<uint8_t> image(size_t(blocks) * 512);
    for (size_t k = 0; k < image.size(); ++k)
        image[k] = pattern(k / 512, unsigned(k % 512));
    return image;
}

// The little-endian word of bytes 4w..4w+3 of `block` in the pattern.
uint32_t pattern_word(uint64_t block, unsigned w) {
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; ++i)
        v |= uint32_t(pattern(block, 4 * w + i)) << (8 * i);
    return v;
}

struct RecordingSink : IrqSink {
    std::vector<bool> levels;
    void set_irq_input(unsigned, bool level) override { levels.push_back(level); }
};

class Bcm2835SdhostTest : public ::testing::Test {
protected:
    VirtualClock clock{900'000'000};
    Bcm2835Sdhost host{"mmc@7e202000", clock};
    std::unique_ptr<SdCard> card = SdCard::in_memory(pattern_image(64));
    RecordingSink sink;

    void SetUp() override { host.irq().connect(&sink, 0); }
    uint32_t rd(Reg r) { return host.read(static_cast<uint32_t>(r), 4); }
    void wr(Reg r, uint32_t v) { host.write(static_cast<uint32_t>(r), v, 4); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    // Writes SDARG and SDCMD and lets the command complete; returns SDCMD after.
    uint32_t issue(uint32_t cmd, uint32_t arg, uint32_t flags = 0) {
        wr(Reg::Arg, arg);
        wr(Reg::Cmd, kNew | flags | cmd);
        run_to(clock.now() + kCommandCycles);
        return rd(Reg::Cmd);
    }
    bool line() { return host.irq().level(); }
    // Brings the attached card to tran directly, without the controller.
    void card_to_tran() {
        card->command(0, 0);
        card->command(8, 0x1aa);
        for (int i = 0; i < 2; ++i) {
            card->command(55, 0);
            card->command(41, 0x40ff8000);
        }
        card->command(2, 0);
        card->command(3, 0);
        card->command(7, kRca << 16);
        ASSERT_EQ(card->state(), SdCard::State::Tran);
    }
};

// ---- reset and commands ----

TEST_F(Bcm2835SdhostTest, ResetValues) {
    EXPECT_EQ(rd(Reg::Cmd), 0u);
    EXPECT_EQ(rd(Reg::Arg), 0u);
    EXPECT_EQ(rd(Reg::Tout), 0u);
    EXPECT_EQ(rd(Reg::Cdiv), 0x1fbu);
    EXPECT_EQ(rd(Reg::Rsp0), 0u);
    EXPECT_EQ(rd(Reg::Rsp1), 0u);
    EXPECT_EQ(rd(Reg::Rsp2), 0u);
    EXPECT_EQ(rd(Reg::Rsp3), 0u);
    EXPECT_EQ(rd(Reg::Hsts), 0u);
    EXPECT_EQ(rd(Reg::Vdd), 1u);
    EXPECT_EQ(rd(Reg::Edm), 0xc600u); // thresholds 3/3, FIFO empty, FSM IDENTMODE
    EXPECT_EQ(rd(Reg::Hcfg), 0u);
    EXPECT_EQ(rd(Reg::Hbct), 0u);
    EXPECT_EQ(rd(Reg::Hblc), 0u);
    EXPECT_FALSE(line());
    EXPECT_EQ(host.mmio_size(), 0x100u);
    ASSERT_EQ(host.irq_outputs().size(), 1u);
    EXPECT_EQ(host.irq_outputs()[0], &host.irq());
}

TEST_F(Bcm2835SdhostTest, RegistersReadBackWhatIsWritten) {
    wr(Reg::Arg, 0xdeadbeef);
    wr(Reg::Tout, 0xf00000);
    wr(Reg::Cdiv, 0xffffffff);
    wr(Reg::Hcfg, 0xffffffff);
    wr(Reg::Hbct, 512);
    wr(Reg::Hblc, 1024);
    wr(Reg::Edm, 0xffffffff);
    EXPECT_EQ(rd(Reg::Arg), 0xdeadbeefu);
    EXPECT_EQ(rd(Reg::Tout), 0xf00000u);
    EXPECT_EQ(rd(Reg::Cdiv), 0x7ffu) << "11 bits";
    EXPECT_EQ(rd(Reg::Hcfg), 0x53fu) << "the defined bits";
    EXPECT_EQ(rd(Reg::Hbct), 512u);
    EXPECT_EQ(rd(Reg::Hblc), 1024u) << "Linux asks for up to 1024 blocks";
    EXPECT_EQ(rd(Reg::Edm), 0x7fe00u) << "only the thresholds are writable";
    wr(Reg::Cmd, 0xffff & ~kNew);
    EXPECT_EQ(rd(Reg::Cmd), 0x0effu) << "no NEW: nothing sent; FAIL is not writable";
}

TEST_F(Bcm2835SdhostTest, CommandCompletesAfterTwoMicroseconds) {
    host.attach(card.get());
    wr(Reg::Arg, 0x1aa);
    wr(Reg::Cmd, kNew | 8);
    EXPECT_EQ(rd(Reg::Cmd), 0x8008u);
    EXPECT_EQ(clock.next_deadline(), kCommandCycles);
    run_to(kCommandCycles - 1);
    EXPECT_EQ(rd(Reg::Cmd), 0x8008u);
    EXPECT_EQ(rd(Reg::Rsp0), 0u);
    EXPECT_EQ(card->state(), SdCard::State::Idle);
    run_to(kCommandCycles);
    EXPECT_EQ(rd(Reg::Cmd), 0x0008u);
    EXPECT_EQ(rd(Reg::Rsp0), 0x1aau);
    EXPECT_EQ(rd(Reg::Hsts), 0u);
}

TEST_F(Bcm2835SdhostTest, SdcmdWrittenWhileBusyIsIgnored) {
    host.attach(card.get());
    wr(Reg::Arg, 0x1aa);
    wr(Reg::Cmd, kNew | 8);
    wr(Reg::Cmd, kNew | kNoResp | 0); // would reset the card
    run_to(kCommandCycles);
    EXPECT_EQ(rd(Reg::Cmd), 0x0008u);
    EXPECT_EQ(rd(Reg::Rsp0), 0x1aau);
}

TEST_F(Bcm2835SdhostTest, InitSequenceThroughTheRegisters) {
    host.attach(card.get());
    wr(Reg::Hcfg, kBusyIrptEn);
    EXPECT_EQ(issue(0, 0, kNoResp), 0x0400u);
    EXPECT_EQ(issue(8, 0x1aa), 0x0008u);
    EXPECT_EQ(rd(Reg::Rsp0), 0x1aau);

    uint32_t ocr = 0;
    int rounds = 0;
    do {
        EXPECT_EQ(issue(55, 0), 55u);
        EXPECT_EQ(rd(Reg::Rsp0), 0x120u);
        EXPECT_EQ(issue(41, 0x40ff8000), 41u);
        ocr = rd(Reg::Rsp0);
        ++rounds;
    } while (!(ocr & 0x80000000) && rounds < 10);
    EXPECT_EQ(rounds, 2);
    EXPECT_EQ(ocr, 0xc0ff8000u);
    EXPECT_EQ(rd(Reg::Rsp1), 0u);

    EXPECT_EQ(issue(2, 0, kLong), 0x0202u);
    EXPECT_EQ(rd(Reg::Rsp3), 0x00504550u);
    EXPECT_EQ(rd(Reg::Rsp2), 0x49454d55u);
    EXPECT_EQ(rd(Reg::Rsp1), 0x10000000u);
    EXPECT_EQ(rd(Reg::Rsp0), 0x010181a5u);

    EXPECT_EQ(issue(3, 0), 3u);
    EXPECT_EQ(rd(Reg::Rsp0), 0xb3680500u);
    EXPECT_EQ(rd(Reg::Rsp3), 0u) << "a short response clears SDRSP1-3";

    EXPECT_EQ(issue(9, kRca << 16, kLong), 0x0209u);
    EXPECT_EQ(rd(Reg::Rsp3), 0x400e0032u);
    EXPECT_EQ(rd(Reg::Rsp2), 0x51590000u);
    EXPECT_EQ(rd(Reg::Rsp1), 0x00007f80u); // 64 blocks: C_SIZE 0
    EXPECT_EQ(rd(Reg::Hsts), 0u);

    EXPECT_FALSE(line());
    EXPECT_EQ(issue(7, kRca << 16, kBusy), 0x0807u);
    EXPECT_EQ(rd(Reg::Rsp0), 0x700u);
    EXPECT_EQ(rd(Reg::Hsts), kBusyIrpt);
    EXPECT_TRUE(line());
    wr(Reg::Hsts, kBusyIrpt);
    EXPECT_EQ(rd(Reg::Hsts), 0u);
    EXPECT_FALSE(line());
    EXPECT_EQ(card->state(), SdCard::State::Tran);
}

TEST_F(Bcm2835SdhostTest, TimeoutWithoutACard) {
    EXPECT_EQ(issue(8, 0x1aa), 0x4008u); // FAIL_FLAG, NEW clear
    EXPECT_EQ(rd(Reg::Hsts), kCmdTimeOut);
    EXPECT_FALSE(line()) << "errors have no interrupt enable";
    wr(Reg::Hsts, 0x7f8);
    EXPECT_EQ(rd(Reg::Hsts), 0u);
    EXPECT_EQ(issue(0, 0, kNoResp), 0x0400u) << "nothing to wait for: no timeout";
    EXPECT_EQ(rd(Reg::Hsts), 0u);
}

TEST_F(Bcm2835SdhostTest, UnansweredCommandsTimeOut) {
    host.attach(card.get());
    EXPECT_EQ(issue(5, 0), 0x4005u) << "CMD5 (SDIO) is illegal for the card";
    EXPECT_EQ(rd(Reg::Hsts), kCmdTimeOut);
    wr(Reg::Hsts, kCmdTimeOut);
    EXPECT_EQ(issue(55, 0), 55u) << "a new command clears FAIL_FLAG";
    EXPECT_EQ(rd(Reg::Rsp0), 0x00400120u) << "the card reports the illegal CMD5";
    EXPECT_EQ(issue(8, 0x1aa, kLong), 0x4208u) << "a short response where a long one is due";
    EXPECT_EQ(rd(Reg::Hsts), kCmdTimeOut);
    EXPECT_EQ(issue(2, 0), 0x4002u) << "a long response where a short one is due";
}

TEST_F(Bcm2835SdhostTest, FailedBusyWaitCommandStillRaisesBusy) {
    wr(Reg::Hcfg, kBusyIrptEn);
    EXPECT_EQ(issue(7, kRca << 16, kBusy), 0x4807u);
    EXPECT_EQ(rd(Reg::Hsts), kCmdTimeOut | kBusyIrpt);
    EXPECT_TRUE(line());
}

TEST_F(Bcm2835SdhostTest, BusyInterruptNeedsItsEnable) {
    host.attach(card.get());
    card_to_tran();
    issue(12, 0, kBusy); // illegal in tran: fails, still ends
    EXPECT_EQ(rd(Reg::Hsts), kCmdTimeOut) << "BUSY_IRPT_EN clear: no busy bit";
    wr(Reg::Hcfg, kBusyIrptEn);
    EXPECT_FALSE(line());
}

TEST_F(Bcm2835SdhostTest, CardPower) {
    host.attach(card.get());
    card_to_tran();
    wr(Reg::Vdd, 0);
    EXPECT_EQ(issue(13, kRca << 16), 0x400du) << "an unpowered card does not answer";
    EXPECT_EQ(card->state(), SdCard::State::Tran);
    wr(Reg::Vdd, 1);
    EXPECT_EQ(card->state(), SdCard::State::Idle) << "power-on reset";
    EXPECT_EQ(rd(Reg::Vdd), 1u);
}

// ---- data ----

TEST_F(Bcm2835SdhostTest, SingleBlockReadThroughTheFifo) {
    host.attach(card.get());
    card_to_tran();
    wr(Reg::Hcfg, kDataIrptEn | kBlockIrptEn | kBusyIrptEn);
    wr(Reg::Hbct, 512);
    wr(Reg::Hblc, 1);
    wr(Reg::Arg, 7);
    wr(Reg::Cmd, kNew | kRead | 17);
    EXPECT_EQ(rd(Reg::Hsts), 0u);
    EXPECT_FALSE(line());
    run_to(kCommandCycles);
    EXPECT_EQ(rd(Reg::Cmd), 0x0051u);
    EXPECT_EQ(rd(Reg::Rsp0), 0x900u);
    EXPECT_EQ(rd(Reg::Hsts), kDataFlag);
    EXPECT_EQ(rd(Reg::Edm), 0xc702u) << "16 words in the FIFO, FSM READDATA";
    EXPECT_TRUE(line());

    // The line follows the enable while DATA_FLAG stays set.
    wr(Reg::Hcfg, kBlockIrptEn | kBusyIrptEn);
    EXPECT_FALSE(line());
    EXPECT_EQ(rd(Reg::Hsts), kDataFlag);
    wr(Reg::Hcfg, kDataIrptEn | kBlockIrptEn | kBusyIrptEn);
    EXPECT_TRUE(line());
    wr(Reg::Hsts, kDataFlag); // no effect: a FIFO state, not a latched bit
    EXPECT_EQ(rd(Reg::Hsts), kDataFlag);

    for (unsigned w = 0; w < 128; ++w) {
        // The block has fully left the card once 112 words were taken (16 + 112).
        EXPECT_EQ(rd(Reg::Hsts) & kBlockIrpt, w >= 112 ? kBlockIrpt : 0u) << w;
        ASSERT_EQ(rd(Reg::Data), pattern_word(7, w)) << w;
    }
    EXPECT_EQ(rd(Reg::Hsts), kBlockIrpt);
    EXPECT_EQ(rd(Reg::Edm), 0xc601u) << "FIFO empty, FSM DATAMODE";
    EXPECT_EQ(card->state(), SdCard::State::Tran);
    EXPECT_TRUE(line()) << "BLOCK_IRPT";
    wr(Reg::Hcfg, kDataIrptEn | kBusyIrptEn);
    EXPECT_FALSE(line());
    wr(Reg::Hsts, kBlockIrpt);
    EXPECT_EQ(rd(Reg::Hsts), 0u);
}

TEST_F(Bcm2835SdhostTest, PioReadWithoutBlockEnableCountsNoBlocks) {
    // Linux's PIO reads enable DATA and BUSY only; a block bit would be counted again.
    host.attach(card.get());
    card_to_tran();
    wr(Reg::Hcfg, kDataIrptEn | kBusyIrptEn);
    wr(Reg::Hbct, 512);
    wr(Reg::Hblc, 2);
    wr(Reg::Arg, 3);
    issue(18, 3, kRead);
    for (unsigned w = 0; w < 256; ++w)
        ASSERT_EQ(rd(Reg::Data), pattern_word(3 + w / 128, w % 128)) << w;
    EXPECT_EQ(rd(Reg::Hsts), 0u);
    EXPECT_FALSE(line());
    EXPECT_EQ(card->state(), SdCard::State::Data) << "open-ended: waits for CMD12";
    wr(Reg::Hcfg, kBusyIrptEn);
    EXPECT_EQ(issue(12, 0, kBusy), 0x080cu);
    EXPECT_EQ(rd(Reg::Rsp0), 0xb00u);
    EXPECT_EQ(rd(Reg::Hsts), kBusyIrpt);
    EXPECT_EQ(card->state(), SdCard::State::Tran);
}

TEST_F(Bcm2835SdhostTest, ReadOfABlockPastTheEndTimesOut) {
    host.attach(card.get());
    card_to_tran();
    wr(Reg::Hbct, 512);
    wr(Reg::Hblc, 1);
    EXPECT_EQ(issue(17, 64, kRead), 0x0051u);
    EXPECT_EQ(rd(Reg::Rsp0), 0x80000900u); // OUT_OF_RANGE
    EXPECT_EQ(rd(Reg::Hsts), kRewTimeOut);
    EXPECT_EQ(rd(Reg::Edm) & 0x1ff, 0x001u) << "FIFO empty, DATAMODE";
}

TEST(Bcm2835SdhostFile, BlockWritesReachTheImageFile) {
    loader_test::TempDir dir;
    auto path = dir.write("card.img", pattern_image(64));
    auto card = SdCard::open(path, false).release_value();
    VirtualClock clock{900'000'000};
    Bcm2835Sdhost host{"mmc@7e202000", clock};
    host.attach(card.get());
    auto rd = [&](Reg r) { return host.read(static_cast<uint32_t>(r), 4); };
    auto wr = [&](Reg r, uint32_t v) { host.write(static_cast<uint32_t>(r), v, 4); };
    auto issue = [&](uint32_t cmd, uint32_t arg, uint32_t flags) {
        wr(Reg::Arg, arg);
        wr(Reg::Cmd, kNew | flags | cmd);
        clock.set_now(clock.now() + kCommandCycles);
        clock.run_due();
    };
    auto file_bytes = [&] {
        std::ifstream in(path, std::ios::binary);
        return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>());
    };
    issue(0, 0, kNoResp);
    issue(8, 0x1aa, 0);
    for (int i = 0; i < 2; ++i) {
        issue(55, 0, 0);
        issue(41, 0x40ff8000, 0);
    }
    issue(2, 0, kLong);
    issue(3, 0, 0);
    issue(7, kRca << 16, kBusy);
    ASSERT_EQ(card->state(), SdCard::State::Tran);

    // As Linux does: DATA_IRPT_EN for the first block, then BLOCK_IRPT_EN.
    wr(Reg::Hcfg, kDataIrptEn | kBusyIrptEn);
    wr(Reg::Hbct, 512);
    wr(Reg::Hblc, 2);
    issue(25, 9, kWrite);
    EXPECT_EQ(rd(Reg::Rsp0), 0x900u);
    EXPECT_EQ(rd(Reg::Hsts), kDataFlag) << "room in the FIFO";
    EXPECT_EQ(rd(Reg::Edm) & 0xf, 0x3u) << "WRITEDATA";
    EXPECT_TRUE(host.irq().level());
    wr(Reg::Hcfg, kBlockIrptEn | kBusyIrptEn);
    EXPECT_FALSE(host.irq().level());

    for (unsigned w = 0; w < 256; ++w) {
        wr(Reg::Data, 0x01020304u * (w + 1));
        if (w == 126 || w == 254) {
            EXPECT_EQ(rd(Reg::Hsts) & kBlockIrpt, 0u) << w;
        }
        if (w == 127) {
            EXPECT_EQ(rd(Reg::Hsts) & kBlockIrpt, kBlockIrpt);
            EXPECT_TRUE(host.irq().level());
            auto file = file_bytes();
            EXPECT_EQ(file[9 * 512 + 511], 0x81) << "block 9 is in the file"; // 0x01020304 * 128
            EXPECT_EQ(file[10 * 512], pattern(10, 0)) << "block 10 is not yet";
            wr(Reg::Hsts, kBlockIrpt);
            EXPECT_FALSE(host.irq().level());
        }
    }
    EXPECT_EQ(rd(Reg::Hsts), kBlockIrpt);
    EXPECT_EQ(rd(Reg::Edm) & 0x1ff, 0x001u) << "FIFO empty, DATAMODE";

    auto file = file_bytes();
    for (unsigned w = 0; w < 256; ++w) {
        uint32_t v = 0x01020304u * (w + 1);
        for (unsigned i = 0; i < 4; ++i)
            ASSERT_EQ(file[9 * 512 + 4 * w + i], uint8_t(v >> (8 * i))) << w;
    }
    EXPECT_EQ(file[8 * 512 + 511], pattern(8, 511));
    EXPECT_EQ(file[11 * 512], pattern(11, 0));

    wr(Reg::Hsts, 0x7f8);
    issue(12, 0, kBusy);
    EXPECT_EQ(rd(Reg::Rsp0), 0xd00u); // received in rcv
    EXPECT_EQ(rd(Reg::Hsts), kBusyIrpt);
    EXPECT_EQ(card->state(), SdCard::State::Tran);
}

TEST_F(Bcm2835SdhostTest, WriteRefusedByAReadOnlyCardTimesOut) {
    auto ro = SdCard::in_memory(pattern_image(64), true);
    host.attach(ro.get());
    card = std::move(ro);
    card_to_tran();
    wr(Reg::Hbct, 512);
    wr(Reg::Hblc, 1);
    EXPECT_EQ(issue(24, 1, kWrite), 0x0098u);
    EXPECT_EQ(rd(Reg::Rsp0), 0x04000900u); // WP_VIOLATION
    EXPECT_EQ(rd(Reg::Hsts), kRewTimeOut);
    EXPECT_EQ(rd(Reg::Edm) & 0xf, 0x1u);
}

// ---- bad accesses ----

TEST_F(Bcm2835SdhostTest, BadOffsetsReadZeroAndLog) {
    std::ostringstream log;
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
    Bcm2835Sdhost odd{"sdhost-bad-offsets", clock};
    EXPECT_EQ(odd.read(0x28, 4), 0u);
    for (uint32_t offset : {0x24u, 0x2cu, 0x44u, 0x4cu, 0x54u, 0xfcu}) {
        odd.write(offset, 0xffffffff, 4);
        EXPECT_EQ(odd.read(offset, 4), 0u) << std::hex << offset;
    }
    EXPECT_EQ(odd.read(0x100, 4), 0u) << "outside the window";
    odd.write(0x10, 1, 4); // SDRSP0 is read-only
    EXPECT_EQ(odd.read(0x10, 4), 0u);
    EXPECT_EQ(odd.read(0x40, 4), 0u) << "FIFO empty";
    EXPECT_EQ(odd.read(0x42, 2), 0u) << "SDDATA is 32-bit only";
    spdlog::set_default_logger(previous);

    const std::string text = log.str();
    EXPECT_NE(text.find("sdhost-bad-offsets +0x028: read of unknown register"), std::string::npos)
        << text;
    EXPECT_NE(text.find("sdhost-bad-offsets +0x054: write to unknown register"), std::string::npos);
    EXPECT_NE(text.find("+0x010: write to read-only response register ignored"), std::string::npos);
    EXPECT_NE(text.find("+0x040: SDDATA read with the FIFO empty"), std::string::npos);
    EXPECT_NE(text.find("+0x042: SDDATA read narrower than 32 bits"), std::string::npos);
    EXPECT_EQ(odd.read(0x38, 4), 0u) << "SDHCFG untouched";
    EXPECT_EQ(odd.read(0x04, 4), 0u) << "SDARG untouched";
}

TEST_F(Bcm2835SdhostTest, SubWordAccesses) {
    wr(Reg::Arg, 0x11223344);
    EXPECT_EQ(host.read(0x05, 1), 0x33u);
    EXPECT_EQ(host.read(0x06, 2), 0x1122u);
    host.write(0x07, 0xaa, 1);
    EXPECT_EQ(rd(Reg::Arg), 0xaa223344u);
    host.attach(card.get());
    host.write(0x00, 0x08, 1); // SDCMD low byte: index 8, no NEW
    EXPECT_EQ(rd(Reg::Cmd), 0x08u);
    wr(Reg::Arg, 0x1aa);
    host.write(0x01, 0x80, 1); // the high byte sets NEW: sends CMD8
    EXPECT_EQ(rd(Reg::Cmd), 0x8008u);
    run_to(kCommandCycles);
    EXPECT_EQ(rd(Reg::Rsp0), 0x1aau);
    host.write(0x40, 0x1234, 2); // ignored
    EXPECT_EQ(rd(Reg::Edm) & 0x1f0, 0u);
}

TEST_F(Bcm2835SdhostTest, ResetCancelsACommandAndPowerCyclesTheCard) {
    host.attach(card.get());
    card_to_tran();
    wr(Reg::Hcfg, kBusyIrptEn);
    wr(Reg::Arg, kRca << 16);
    wr(Reg::Cmd, kNew | kBusy | 7);
    host.reset();
    EXPECT_EQ(card->state(), SdCard::State::Idle);
    EXPECT_EQ(rd(Reg::Cmd), 0u);
    run_to(kCommandCycles);
    EXPECT_EQ(rd(Reg::Hsts), 0u);
    EXPECT_FALSE(line());
    EXPECT_EQ(host.card(), card.get()) << "the card stays inserted";
}

} // namespace
