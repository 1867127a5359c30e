// BCM2835 EMMC (SDHCI) register-level tests: reset values with and without a card,
// capabilities and version, the clock becoming stable, software resets, Command Inhibit
// (CMD) for 2 us of virtual time, command timeouts without a card, the identification
// sequence with its responses in RESP0-3, single- and multi-block PIO reads and writes
// through DATA (exact bytes, an image file included), Block Count and Auto CMD12,
// write-1-to-clear status, status and signal enables, card insertion and removal, and
// bad values and accesses. Expected values are numbers, not the model's constants.
//
// The clock is 900 MHz: a command completes 1800 cycles after its CMDTM write.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "devices/bcm2835_sdhci.hpp"
#include "loader_temp_dir.hpp"

using namespace piemu;
using Reg = Bcm2835Sdhci::Reg;

namespace {

// CMDTM: index << 24 | command flags << 16 | transfer mode.
constexpr uint32_t kRespNone = 0, kResp136 = 0x10000, kResp48 = 0x20000, kResp48Busy = 0x30000,
                   kDataPresent = 0x200000, kAbort = 0xc00000;
constexpr uint32_t kTmBlockCount = 0x2, kTmAutoCmd12 = 0x4, kTmRead = 0x10, kTmMulti = 0x20;
// INTERRUPT bits.
constexpr uint32_t kCmdDone = 0x1, kTransferDone = 0x2, kWriteReady = 0x10, kReadReady = 0x20,
                   kInsert = 0x40, kRemove = 0x80, kErr = 0x8000, kCmdTimeout = 0x10000,
                   kDataTimeout = 0x100000, kAutoCmdErr = 0x1000000;
constexpr uint64_t kCommandCycles = 1800;
constexpr uint32_t kRca = 0xb368;
constexpr uint32_t kClockOn = 0x00000005; // internal clock and SD clock enabled

uint8_t pattern(uint64_t block, unsigned i) {
    return uint8_t(block * 5 + i * 11 + 3);
}

std::vector<uint8_t> pattern_image(uint32_t blocks) {
    std::vector<uint8_t> image(size_t(blocks) * 512);
    for (size_t k = 0; k < image.size(); ++k)
        image[k] = pattern(k / 512, unsigned(k % 512));
    return image;
}

uint32_t pattern_word(uint64_t block, unsigned w) {
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; ++i)
        v |= uint32_t(pattern(block, 4 * w + i)) << (8 * i);
    return v;
}

constexpr uint32_t cmd(unsigned index, uint32_t flags, uint32_t mode = 0) {
    return uint32_t(index) << 24 | flags | mode;
}

struct RecordingSink : IrqSink {
    std::vector<bool> levels;
    void set_irq_input(unsigned, bool level) override { levels.push_back(level); }
};

class Bcm2835SdhciTest : public ::testing::Test {
protected:
    VirtualClock clock{900'000'000};
    // Named after the test: guest errors are logged once per device name and offset.
    Bcm2835Sdhci host{std::string("sdhci-") +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                      clock};
    std::unique_ptr<SdCard> card = SdCard::in_memory(pattern_image(64));
    RecordingSink sink;

    void SetUp() override { host.irq().connect(&sink, 0); }
    uint32_t rd(Reg r) { return host.read(static_cast<uint32_t>(r), 4); }
    void wr(Reg r, uint32_t v) { host.write(static_cast<uint32_t>(r), v, 4); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    // Clock on, every status bit enabled, no signal enabled.
    void start() {
        wr(Reg::Control1, kClockOn);
        wr(Reg::IrptMask, 0xffffffff);
        wr(Reg::Interrupt, 0xffffffff);
    }
    // Writes ARG1 and CMDTM, lets the command complete; returns INTERRUPT and clears it.
    uint32_t issue(uint32_t cmdtm, uint32_t arg) {
        wr(Reg::Arg1, arg);
        wr(Reg::CmdTm, cmdtm);
        run_to(clock.now() + kCommandCycles);
        uint32_t irpt = rd(Reg::Interrupt);
        wr(Reg::Interrupt, irpt);
        return irpt;
    }
    bool line() { return host.irq().level(); }
    // The card to tran through the controller.
    void init_card() {
        issue(cmd(0, kRespNone), 0);
        issue(cmd(8, kResp48), 0x1aa);
        for (int i = 0; i < 2; ++i) {
            issue(cmd(55, kResp48), 0);
            issue(cmd(41, kResp48), 0x40ff8000);
        }
        issue(cmd(2, kResp136), 0);
        issue(cmd(3, kResp48), 0);
        issue(cmd(7, kResp48Busy), kRca << 16);
        ASSERT_EQ(card->state(), SdCard::State::Tran);
    }
};

// ---- reset, identification registers, clock ----

TEST_F(Bcm2835SdhciTest, ResetValues) {
    for (Reg r :
         {Reg::Arg2, Reg::BlkSizeCnt, Reg::Arg1, Reg::CmdTm, Reg::Resp0, Reg::Resp1, Reg::Resp2,
          Reg::Resp3, Reg::Control0, Reg::Control1, Reg::Interrupt, Reg::IrptMask, Reg::IrptEn,
          Reg::Control2, Reg::Caps1, Reg::MaxCurrent, Reg::ForceIrpt})
        EXPECT_EQ(rd(r), 0u) << std::hex << static_cast<uint32_t>(r);
    EXPECT_EQ(rd(Reg::Status), 0x01fa0000u) << "no card: stable, writable, lines high";
    EXPECT_EQ(rd(Reg::Caps0), 0x052134b4u);
    EXPECT_EQ(rd(Reg::SlotIsrVer), 0x24020000u) << "vendor 0x24, spec 3.00, no interrupt";
    EXPECT_FALSE(line());
    EXPECT_EQ(host.mmio_size(), 0x100u);
    ASSERT_EQ(host.irq_outputs().size(), 1u);
    EXPECT_EQ(host.irq_outputs()[0], &host.irq());

    host.attach(card.get());
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u) << "inserted, stable, detect pin, writable";
    auto ro = SdCard::in_memory(pattern_image(8), true);
    host.attach(ro.get());
    EXPECT_EQ(rd(Reg::Status), 0x01f70000u) << "write-protected";
    host.attach(nullptr);
}

TEST_F(Bcm2835SdhciTest, InternalClockBecomesStableWhenEnabled) {
    wr(Reg::Control1, 0x000e8001); // divider 0x80, timeout 14, internal clock on
    EXPECT_EQ(rd(Reg::Control1), 0x000e8003u);
    wr(Reg::Control1, 0x000e8007);
    EXPECT_EQ(rd(Reg::Control1), 0x000e8007u);
    wr(Reg::Control1, 0x0000ff02); // "stable" is read-only; internal clock off
    EXPECT_EQ(rd(Reg::Control1), 0x0000ff00u);
    wr(Reg::Control1, 0xffffffe0); // reserved bits 4:3, 23:20, 31:27 read 0; resets act
    EXPECT_EQ(rd(Reg::Control1), 0x000fffe0u);
}

TEST_F(Bcm2835SdhciTest, RegistersReadBackWhatIsWritten) {
    wr(Reg::Arg2, 0xdeadbeef);
    wr(Reg::Arg1, 0x12345678);
    wr(Reg::BlkSizeCnt, 0x00037200); // count 3, boundary 7, size 0x200
    wr(Reg::Control0, 0x07ff0f27);   // all wakeups, stop/read wait/gap irq, 3.3 V, host bits
    wr(Reg::IrptMask, 0xffffffff);
    wr(Reg::IrptEn, 0xffffffff);
    EXPECT_EQ(rd(Reg::Arg2), 0xdeadbeefu);
    EXPECT_EQ(rd(Reg::Arg1), 0x12345678u);
    EXPECT_EQ(rd(Reg::BlkSizeCnt), 0x00037200u);
    EXPECT_EQ(rd(Reg::Control0), 0x070d0e27u) << "no card: SD Bus Power stays 0; continue 0";
    EXPECT_EQ(rd(Reg::IrptMask), 0x07ff1fffu);
    EXPECT_EQ(rd(Reg::IrptEn), 0x07ff1fffu);
    host.attach(card.get());
    wr(Reg::Control0, 0x00000f00); // 3.3 V, power on
    EXPECT_EQ(rd(Reg::Control0), 0x00000f00u);
    wr(Reg::Control0, 0x00000b00); // 1.8 V: listed in the capabilities
    EXPECT_EQ(rd(Reg::Control0), 0x00000b00u);
    wr(Reg::Control0, 0x00000d00); // 3.0 V: not listed
    EXPECT_EQ(rd(Reg::Control0), 0x00000c00u);
}

// ---- commands ----

TEST_F(Bcm2835SdhciTest, CommandInhibitForTwoMicroseconds) {
    host.attach(card.get());
    start();
    wr(Reg::Arg1, 0x1aa);
    wr(Reg::CmdTm, cmd(8, kResp48));
    EXPECT_EQ(rd(Reg::CmdTm), 0x08020000u);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0001u) << "Command Inhibit (CMD)";
    EXPECT_EQ(rd(Reg::Interrupt), 0u);
    run_to(kCommandCycles - 1);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0001u);
    run_to(kCommandCycles);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
    EXPECT_EQ(rd(Reg::Interrupt), kCmdDone);
    EXPECT_EQ(rd(Reg::Resp0), 0x1aau);
}

TEST_F(Bcm2835SdhciTest, NoCardMeansCommandTimeout) {
    start();
    EXPECT_EQ(issue(cmd(0, kRespNone), 0), kCmdDone) << "no response expected, none missed";
    EXPECT_EQ(issue(cmd(8, kResp48), 0x1aa), kErr | kCmdTimeout);
    EXPECT_EQ(rd(Reg::Resp0), 0u);
    EXPECT_EQ(issue(cmd(17, kResp48 | kDataPresent, kTmRead), 0), kErr | kCmdTimeout);
    EXPECT_EQ(rd(Reg::Status), 0x01fa0000u) << "no data phase: inhibits clear";
    EXPECT_FALSE(line());
}

TEST_F(Bcm2835SdhciTest, InitSequenceThroughTheRegisters) {
    host.attach(card.get());
    start();
    EXPECT_EQ(issue(cmd(0, kRespNone), 0), kCmdDone);
    EXPECT_EQ(issue(cmd(8, kResp48), 0x1aa), kCmdDone);
    EXPECT_EQ(rd(Reg::Resp0), 0x1aau);

    uint32_t ocr = 0;
    int rounds = 0;
    do {
        EXPECT_EQ(issue(cmd(55, kResp48), 0), kCmdDone);
        EXPECT_EQ(rd(Reg::Resp0), 0x120u);
        EXPECT_EQ(issue(cmd(41, kResp48), 0x40ff8000), kCmdDone);
        ocr = rd(Reg::Resp0);
        ++rounds;
    } while (!(ocr & 0x80000000) && rounds < 10);
    EXPECT_EQ(rounds, 2);
    EXPECT_EQ(ocr, 0xc0ff8000u);

    // R2: bits 127:8 of the CID (the CRC7 and end bit dropped).
    EXPECT_EQ(issue(cmd(2, kResp136), 0), kCmdDone);
    EXPECT_EQ(rd(Reg::Resp3), 0x00005045u);
    EXPECT_EQ(rd(Reg::Resp2), 0x5049454du);
    EXPECT_EQ(rd(Reg::Resp1), 0x55100000u);
    EXPECT_EQ(rd(Reg::Resp0), 0x00010181u);

    EXPECT_EQ(issue(cmd(3, kResp48), 0), kCmdDone);
    EXPECT_EQ(rd(Reg::Resp0), 0xb3680500u);
    EXPECT_EQ(rd(Reg::Resp3), 0u) << "a short response clears RESP1-3";

    EXPECT_EQ(issue(cmd(9, kResp136), kRca << 16), kCmdDone);
    EXPECT_EQ(rd(Reg::Resp3), 0x00400e00u);
    EXPECT_EQ(rd(Reg::Resp2), 0x32515900u);
    EXPECT_EQ(rd(Reg::Resp1), 0x0000007fu); // 64 blocks: C_SIZE 0

    // R1b: Transfer Complete with the response (busy ends at once).
    EXPECT_EQ(issue(cmd(7, kResp48Busy), kRca << 16), kCmdDone | kTransferDone);
    EXPECT_EQ(rd(Reg::Resp0), 0x700u);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
    EXPECT_EQ(card->state(), SdCard::State::Tran);
}

TEST_F(Bcm2835SdhciTest, UnansweredOrMismatchedResponsesTimeOut) {
    host.attach(card.get());
    start();
    init_card();
    EXPECT_EQ(issue(cmd(5, kResp48), 0), kErr | kCmdTimeout) << "illegal: no answer";
    EXPECT_EQ(issue(cmd(13, kResp48), kRca << 16), kCmdDone);
    EXPECT_EQ(rd(Reg::Resp0), 0x00400900u) << "tran, ILLEGAL_COMMAND of CMD5";
    EXPECT_EQ(issue(cmd(13, kResp136), kRca << 16), kErr | kCmdTimeout) << "136 asked, 48 sent";
    EXPECT_EQ(rd(Reg::Resp0), 0x00400900u) << "unchanged";
}

// ---- PIO data ----

TEST_F(Bcm2835SdhciTest, SingleBlockReadThroughTheDataPort) {
    host.attach(card.get());
    start();
    init_card();
    wr(Reg::BlkSizeCnt, 0x00010200);
    EXPECT_EQ(issue(cmd(17, kResp48 | kDataPresent, kTmRead), 3), kCmdDone | kReadReady);
    EXPECT_EQ(rd(Reg::Resp0), 0x900u);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0a02u) << "DAT inhibit, read active, buffer read enable";
    EXPECT_EQ(rd(Reg::BlkSizeCnt), 0x00010200u) << "no Block Count Enable: count kept";
    for (unsigned w = 0; w < 128; ++w) {
        ASSERT_EQ(rd(Reg::Data), pattern_word(3, w)) << w;
        if (w == 126) {
            EXPECT_EQ(rd(Reg::Interrupt), 0u);
        }
    }
    EXPECT_EQ(rd(Reg::Interrupt), kTransferDone);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
    EXPECT_EQ(card->state(), SdCard::State::Tran);
    EXPECT_EQ(rd(Reg::Data), 0u) << "nothing more to read";
}

TEST_F(Bcm2835SdhciTest, MultiBlockReadWithBlockCountAndAutoCmd12) {
    host.attach(card.get());
    start();
    init_card();
    wr(Reg::BlkSizeCnt, 0x00030200);
    const uint32_t mode = kTmRead | kTmMulti | kTmBlockCount | kTmAutoCmd12;
    EXPECT_EQ(issue(cmd(18, kResp48 | kDataPresent, mode), 10), kCmdDone | kReadReady);
    EXPECT_EQ(rd(Reg::BlkSizeCnt), 0x00020200u) << "one block across the bus";
    for (unsigned b = 0; b < 3; ++b) {
        for (unsigned w = 0; w < 128; ++w)
            ASSERT_EQ(rd(Reg::Data), pattern_word(10 + b, w)) << b << " " << w;
        uint32_t irpt = rd(Reg::Interrupt);
        wr(Reg::Interrupt, irpt);
        EXPECT_EQ(irpt, b < 2 ? kReadReady : kTransferDone) << b;
    }
    EXPECT_EQ(rd(Reg::BlkSizeCnt), 0x00000200u);
    EXPECT_EQ(rd(Reg::Resp3), 0xb00u) << "Auto CMD12's R1: stopped in data";
    EXPECT_EQ(rd(Reg::Resp0), 0x900u) << "CMD18's own response stays";
    EXPECT_EQ(rd(Reg::Control2), 0u);
    EXPECT_EQ(card->state(), SdCard::State::Tran);
}

TEST_F(Bcm2835SdhciTest, OpenEndedReadStoppedByAnAbortCommand) {
    host.attach(card.get());
    start();
    init_card();
    wr(Reg::BlkSizeCnt, 0x00000200);
    EXPECT_EQ(issue(cmd(18, kResp48 | kDataPresent, kTmRead | kTmMulti), 0), kCmdDone | kReadReady);
    for (unsigned w = 0; w < 128; ++w)
        ASSERT_EQ(rd(Reg::Data), pattern_word(0, w));
    EXPECT_EQ(rd(Reg::Interrupt), kReadReady) << "block 1 in the buffer";
    EXPECT_EQ(rd(Reg::Data), pattern_word(1, 0));
    // A normal busy command is refused while DAT is in use; the abort type is not.
    wr(Reg::CmdTm, cmd(12, kResp48Busy));
    EXPECT_EQ(rd(Reg::Status) & 3, 2u) << "refused: no Command Inhibit (CMD)";
    EXPECT_EQ(issue(cmd(12, kResp48Busy | kAbort), 0), kReadReady | kCmdDone | kTransferDone);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
    EXPECT_EQ(card->state(), SdCard::State::Tran);
}

TEST_F(Bcm2835SdhciTest, ReadPastTheImageEndIsADataTimeout) {
    host.attach(card.get());
    start();
    init_card();
    wr(Reg::BlkSizeCnt, 0x00000200);
    EXPECT_EQ(issue(cmd(17, kResp48 | kDataPresent, kTmRead), 64), kErr | kCmdDone | kDataTimeout);
    EXPECT_EQ(rd(Reg::Resp0), 0x80000900u); // OUT_OF_RANGE
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
}

TEST(Bcm2835SdhciFile, MultiBlockWriteReachesTheImageFile) {
    loader_test::TempDir dir;
    auto path = dir.write("card.img", pattern_image(64));
    auto card = SdCard::open(path, false).release_value();
    VirtualClock clock{900'000'000};
    Bcm2835Sdhci host{"mmc@7e300000", clock};
    host.attach(card.get());
    auto rd = [&](Reg r) { return host.read(static_cast<uint32_t>(r), 4); };
    auto wr = [&](Reg r, uint32_t v) { host.write(static_cast<uint32_t>(r), v, 4); };
    auto issue = [&](uint32_t cmdtm, uint32_t arg) {
        wr(Reg::Arg1, arg);
        wr(Reg::CmdTm, cmdtm);
        clock.set_now(clock.now() + kCommandCycles);
        clock.run_due();
        uint32_t irpt = rd(Reg::Interrupt);
        wr(Reg::Interrupt, irpt);
        return irpt;
    };
    auto file_bytes = [&] {
        std::ifstream in(path, std::ios::binary);
        return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>());
    };
    wr(Reg::Control1, kClockOn);
    wr(Reg::IrptMask, 0xffffffff);
    issue(cmd(0, kRespNone), 0);
    issue(cmd(8, kResp48), 0x1aa);
    for (int i = 0; i < 2; ++i) {
        issue(cmd(55, kResp48), 0);
        issue(cmd(41, kResp48), 0x40ff8000);
    }
    issue(cmd(2, kResp136), 0);
    issue(cmd(3, kResp48), 0);
    issue(cmd(7, kResp48Busy), kRca << 16);
    ASSERT_EQ(card->state(), SdCard::State::Tran);

    wr(Reg::BlkSizeCnt, 0x00020200);
    const uint32_t mode = kTmMulti | kTmBlockCount | kTmAutoCmd12;
    EXPECT_EQ(issue(cmd(25, kResp48 | kDataPresent, mode), 9), kCmdDone | kWriteReady);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0506u) << "DAT inhibit/active, write active, buffer empty";
    for (unsigned w = 0; w < 256; ++w) {
        wr(Reg::Data, 0x01020304u * (w + 1));
        if (w == 127) {
            EXPECT_EQ(rd(Reg::Interrupt), kWriteReady);
            wr(Reg::Interrupt, kWriteReady);
            auto file = file_bytes();
            EXPECT_EQ(file[9 * 512 + 511], 0x81) << "block 9 is in the file"; // 0x01020304 * 128
            EXPECT_EQ(file[10 * 512], pattern(10, 0)) << "block 10 is not yet";
            EXPECT_EQ(rd(Reg::BlkSizeCnt), 0x00010200u);
        }
    }
    EXPECT_EQ(rd(Reg::Interrupt), kTransferDone);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
    EXPECT_EQ(rd(Reg::Resp3), 0xd00u) << "Auto CMD12 in rcv";
    EXPECT_EQ(card->state(), SdCard::State::Tran);

    auto file = file_bytes();
    ASSERT_EQ(file.size(), 64u * 512);
    for (unsigned w = 0; w < 256; ++w) {
        uint32_t v = 0x01020304u * (w + 1);
        for (unsigned i = 0; i < 4; ++i)
            ASSERT_EQ(file[9 * 512 + 4 * w + i], uint8_t(v >> (8 * i))) << w;
    }
    EXPECT_EQ(file[8 * 512 + 511], pattern(8, 511));
    EXPECT_EQ(file[11 * 512], pattern(11, 0));
}

TEST_F(Bcm2835SdhciTest, SingleBlockWriteAndReadBack) {
    host.attach(card.get());
    start();
    init_card();
    wr(Reg::BlkSizeCnt, 0x00010200);
    EXPECT_EQ(issue(cmd(24, kResp48 | kDataPresent), 5), kCmdDone | kWriteReady);
    for (unsigned w = 0; w < 128; ++w)
        wr(Reg::Data, 0xa5a50000u | w);
    EXPECT_EQ(rd(Reg::Interrupt), kTransferDone);
    wr(Reg::Interrupt, kTransferDone);
    wr(Reg::Data, 0x1234);
    EXPECT_EQ(rd(Reg::Interrupt), 0u) << "a word after the block is dropped";
    EXPECT_EQ(issue(cmd(17, kResp48 | kDataPresent, kTmRead), 5), kCmdDone | kReadReady);
    for (unsigned w = 0; w < 128; ++w)
        ASSERT_EQ(rd(Reg::Data), 0xa5a50000u | w);
}

TEST_F(Bcm2835SdhciTest, WriteToAWriteProtectedCardIsADataTimeout) {
    auto ro = SdCard::in_memory(pattern_image(64), true);
    card = std::move(ro);
    host.attach(card.get());
    start();
    init_card();
    wr(Reg::BlkSizeCnt, 0x00010200);
    EXPECT_EQ(issue(cmd(24, kResp48 | kDataPresent), 1), kCmdDone | kWriteReady);
    EXPECT_EQ(rd(Reg::Resp0), 0x04000900u); // WP_VIOLATION
    for (unsigned w = 0; w < 128; ++w)
        wr(Reg::Data, 0);
    EXPECT_EQ(rd(Reg::Interrupt), kErr | kDataTimeout);
    EXPECT_EQ(rd(Reg::Status), 0x01f70000u);
}

TEST_F(Bcm2835SdhciTest, AutoCmd12WithoutAnAnswerIsAnAutoCmdError) {
    host.attach(card.get());
    start();
    init_card();
    // CMD17 (single) with the multi-block bit: the card sends one block and leaves data
    // state by itself, so the Auto CMD12 after it is illegal and unanswered.
    wr(Reg::BlkSizeCnt, 0x00010200);
    const uint32_t mode = kTmRead | kTmMulti | kTmBlockCount | kTmAutoCmd12;
    EXPECT_EQ(issue(cmd(17, kResp48 | kDataPresent, mode), 2),
              kErr | kCmdDone | kReadReady | kAutoCmdErr);
    EXPECT_EQ(rd(Reg::Control2), 0x2u) << "Auto CMD12 Timeout Error";
}

// ---- status, enables, the line ----

TEST_F(Bcm2835SdhciTest, InterruptIsWriteOneToClearWithAReadOnlySummary) {
    start();
    wr(Reg::ForceIrpt, 0x00110000); // force Command and Data Timeout Errors
    EXPECT_EQ(rd(Reg::Interrupt), 0x00118000u);
    wr(Reg::Interrupt, 0x00008000); // the summary bit cannot be cleared
    EXPECT_EQ(rd(Reg::Interrupt), 0x00118000u);
    wr(Reg::Interrupt, 0x00010000);
    EXPECT_EQ(rd(Reg::Interrupt), 0x00108000u);
    wr(Reg::Interrupt, 0x00100000);
    EXPECT_EQ(rd(Reg::Interrupt), 0u) << "no error left: summary clear";
    wr(Reg::ForceIrpt, 0x00000002); // Auto CMD12 timeout
    EXPECT_EQ(rd(Reg::Control2), 0x2u);
    EXPECT_EQ(rd(Reg::Interrupt), 0x01008000u);
}

TEST_F(Bcm2835SdhciTest, StatusEnableGatesLatchingAndSignalEnableGatesTheLine) {
    host.attach(card.get());
    wr(Reg::Control1, kClockOn);
    wr(Reg::IrptMask, 0x00010000); // only Command Timeout
    EXPECT_EQ(issue(cmd(8, kResp48), 0x1aa), 0u) << "Command Complete not enabled";
    wr(Reg::IrptMask, 0x00000001);
    wr(Reg::Arg1, 0x1aa);
    wr(Reg::CmdTm, cmd(8, kResp48));
    run_to(clock.now() + kCommandCycles);
    EXPECT_EQ(rd(Reg::Interrupt), kCmdDone);
    EXPECT_FALSE(line()) << "no signal enable";
    wr(Reg::IrptEn, 0x00000001);
    EXPECT_TRUE(line());
    EXPECT_EQ(rd(Reg::SlotIsrVer), 0x24020001u);
    wr(Reg::IrptEn, 0xffff0000);
    EXPECT_FALSE(line());
    wr(Reg::IrptEn, 0x00000001);
    EXPECT_TRUE(line());
    wr(Reg::IrptMask, 0); // clearing the enable clears the bit
    EXPECT_EQ(rd(Reg::Interrupt), 0u);
    EXPECT_FALSE(line());
    EXPECT_EQ(sink.levels, (std::vector<bool>{true, false, true, false}));
}

TEST_F(Bcm2835SdhciTest, PendingInsertAfterPowerOnAndRuntimeInsertionRemoval) {
    host.attach(card.get());
    EXPECT_EQ(rd(Reg::Interrupt), 0u) << "insertion not enabled at reset";
    wr(Reg::IrptMask, 0x000000c0);
    EXPECT_EQ(rd(Reg::Interrupt), kInsert) << "the Pi's pending insert";
    wr(Reg::Interrupt, kInsert);
    wr(Reg::IrptMask, 0);
    wr(Reg::IrptMask, 0x000000c0);
    EXPECT_EQ(rd(Reg::Interrupt), 0u) << "shown once";

    wr(Reg::Control0, 0x00000f00);
    wr(Reg::Control1, kClockOn);
    host.attach(nullptr);
    EXPECT_EQ(rd(Reg::Interrupt), kRemove);
    EXPECT_EQ(rd(Reg::Status), 0x01fa0000u);
    EXPECT_EQ(rd(Reg::Control0), 0x00000e00u) << "SD Bus Power off";
    EXPECT_EQ(rd(Reg::Control1), 0x3u) << "SD clock off";
    wr(Reg::Interrupt, kRemove);
    host.attach(card.get());
    EXPECT_EQ(rd(Reg::Interrupt), kInsert);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
}

// ---- resets ----

TEST_F(Bcm2835SdhciTest, SoftwareResets) {
    host.attach(card.get());
    start();
    init_card();
    wr(Reg::BlkSizeCnt, 0x00010200);
    issue(cmd(17, kResp48 | kDataPresent, kTmRead), 0);
    wr(Reg::Arg1, 0x1aa);
    wr(Reg::CmdTm, cmd(13, kResp48));
    EXPECT_EQ(rd(Reg::Status), 0x01ff0a03u);
    wr(Reg::Control1, 0x02000000 | kClockOn); // CMD line
    EXPECT_EQ(rd(Reg::Control1), 0x7u) << "self-clearing";
    EXPECT_EQ(rd(Reg::Status), 0x01ff0a02u);
    run_to(clock.now() + kCommandCycles);
    EXPECT_EQ(rd(Reg::Interrupt), 0u) << "the cancelled command never completes";
    wr(Reg::Control1, 0x04000000 | kClockOn); // DAT line
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
    EXPECT_EQ(rd(Reg::Data), 0u);

    wr(Reg::Control0, 0x00000f02);
    wr(Reg::IrptEn, 0x1);
    wr(Reg::Control1, 0x01000000 | 0x000e0001); // all, then the fields it carries
    EXPECT_EQ(rd(Reg::Control1), 0x000e0003u);
    for (Reg r : {Reg::Arg1, Reg::BlkSizeCnt, Reg::CmdTm, Reg::Resp0, Reg::Control0, Reg::Interrupt,
                  Reg::IrptMask, Reg::IrptEn})
        EXPECT_EQ(rd(r), 0u) << std::hex << static_cast<uint32_t>(r);
    EXPECT_EQ(rd(Reg::Caps0), 0x052134b4u);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
    EXPECT_EQ(card->state(), SdCard::State::Tran) << "the card is not reset";
    host.reset();
    EXPECT_EQ(card->state(), SdCard::State::Idle) << "power-on reset power-cycles the card";
}

// ---- bad values and accesses ----

TEST_F(Bcm2835SdhciTest, BadValuesAndAccesses) {
    std::ostringstream log;
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
    host.attach(card.get());

    wr(Reg::IrptMask, 0xffffffff);
    wr(Reg::CmdTm, cmd(8, kResp48)); // clock off: not sent
    run_to(kCommandCycles);
    EXPECT_EQ(rd(Reg::Interrupt), kInsert) << "the pending insert only";
    EXPECT_EQ(rd(Reg::CmdTm), 0u);
    start();
    init_card();

    wr(Reg::BlkSizeCnt, 0x00010000); // block size 0: no data phase
    EXPECT_EQ(issue(cmd(17, kResp48 | kDataPresent, kTmRead), 0), kCmdDone);
    EXPECT_EQ(rd(Reg::Status), 0x01ff0000u);
    EXPECT_EQ(card->state(), SdCard::State::Data) << "the card is left sending";
    issue(cmd(12, kResp48Busy), 0);
    wr(Reg::BlkSizeCnt, 0x00010fff); // over 1024: clamped
    EXPECT_EQ(rd(Reg::BlkSizeCnt), 0x00010400u);

    wr(Reg::BlkSizeCnt, 0x00010200);
    issue(cmd(17, kResp48 | kDataPresent, kTmRead), 0);
    wr(Reg::BlkSizeCnt, 0x00050008); // protected during the transfer
    EXPECT_EQ(rd(Reg::BlkSizeCnt), 0x00010200u);
    wr(Reg::CmdTm, cmd(17, kResp48 | kDataPresent, kTmRead)); // DAT in use: refused
    EXPECT_EQ(rd(Reg::Status) & 1, 0u);
    wr(Reg::CmdTm, cmd(13, kResp48)); // no DAT: allowed
    wr(Reg::CmdTm, cmd(13, kResp48)); // while CMD inhibit: refused
    run_to(clock.now() + kCommandCycles);
    EXPECT_EQ(host.read(0x20, 2), 0u) << "DATA is 32-bit only";
    EXPECT_EQ(rd(Reg::Data), pattern_word(0, 0)) << "the narrow read took nothing";

    // Read-only registers and narrow writes.
    uint32_t resp0 = rd(Reg::Resp0);
    for (Reg r :
         {Reg::Resp0, Reg::Status, Reg::Caps0, Reg::Caps1, Reg::MaxCurrent, Reg::SlotIsrVer})
        wr(r, 0xffffffff);
    EXPECT_EQ(rd(Reg::Resp0), resp0);
    EXPECT_EQ(rd(Reg::Caps0), 0x052134b4u);
    EXPECT_EQ(rd(Reg::SlotIsrVer), 0x24020000u);
    wr(Reg::Control2, 0x00ff00ff); // host control 2 and auto CMD error status: read 0
    EXPECT_EQ(rd(Reg::Control2), 0u);
    wr(Reg::Arg2, 0x11223344);
    host.write(0x00, 0xaa, 1);
    host.write(0x02, 0xbbbb, 2);
    EXPECT_EQ(rd(Reg::Arg2), 0x11223344u) << "narrow writes are ignored";
    EXPECT_EQ(host.read(0x01, 1), 0x33u) << "narrow reads return their lane";
    EXPECT_EQ(host.read(0x02, 2), 0x1122u);
    EXPECT_EQ(host.read(0x42, 2), 0x0521u);
    EXPECT_EQ(host.read(0xfe, 2), 0x2402u);
    EXPECT_EQ(host.read(0x60, 4), 0u);
    host.write(0x60, 1, 4);
    EXPECT_EQ(host.read(0x100, 4), 0u) << "outside the window";
    spdlog::set_default_logger(previous);

    const std::string text = log.str();
    for (const char* want :
         {"sdhci-BadValuesAndAccesses +0x00c: command issued with the SD clock off: not sent",
          "+0x004: block size over 1024: 1024 used", "+0x020: DATA read narrower than 32 bits",
          "+0x010: write to read-only register ignored",
          "+0x040: write to read-only register ignored",
          "+0x03c: write to read-only Auto CMD error status ignored",
          "+0x000: write narrower than 32 bits ignored (32-bit only)",
          "+0x060: read of unknown register", "+0x100: misaligned or odd-sized read"})
        EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
}

} // namespace
