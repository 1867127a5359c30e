// SD card tests: the identification sequence with exact responses (R7 echo, the
// ACMD41 busy loop, CID, R6 RCA, CSD version 2.0 as Linux decodes it), the card status
// rules (CURRENT_STATE as received, ILLEGAL_COMMAND reported once, APP_CMD), single-
// and multi-block reads and writes against an image file (checked in the file before
// the card is destroyed), CMD23, OUT_OF_RANGE, a read-only image, image length errors,
// CMD6, SCR and SD status. Expected values are numbers, not the model's constants.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "devices/sd_card.hpp"
#include "loader_temp_dir.hpp"

using namespace piemu;
using State = SdCard::State;
using Type = SdResponseType;

namespace {

constexpr uint32_t kRca = 0xb368;   // the first RCA the card publishes
constexpr uint32_t kBlocks = 4096;  // 2 MiB images
constexpr uint32_t kR1Tran = 0x900; // READY_FOR_DATA, CURRENT_STATE tran
constexpr uint32_t kR1Data = 0xb00; // ... data
constexpr uint32_t kR1Rcv = 0xd00;  // ... rcv
constexpr uint32_t kOutOfRange = 1u << 31;

// Byte i of block n in the test images.
uint8_t pattern(uint64_t block, unsigned i) {
    return uint8_t(block * 7 + i * 13 + (i >> 8));
}

std::vector<uint8_t> pattern_image(uint32_t blocks = kBlocks) {
    std::vector<uint8_t> image(size_t(blocks) * 512);
    for (size_t k = 0; k < image.size(); ++k)
        image[k] = pattern(k / 512, unsigned(k % 512));
    return image;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Bits [start + size - 1 : start] of a 128-bit R2 response, as Linux's UNSTUFF_BITS
// reads them (words[0] holds bits 31:0 here).
uint32_t r2_bits(const SdResponse& r, unsigned start, unsigned size) {
    uint64_t both = r.words[start / 32];
    if (start / 32 < 3)
        both |= uint64_t(r.words[start / 32 + 1]) << 32;
    return uint32_t((both >> (start % 32)) & ((uint64_t(1) << size) - 1));
}

// CMD0, CMD8, ACMD41 until ready, CMD2, CMD3, CMD7: the card ends in tran.
void bring_up(SdCard& card) {
    card.command(0, 0);
    card.command(8, 0x1aa);
    for (int i = 0; i < 3 && card.state() == State::Idle; ++i) {
        card.command(55, 0);
        card.command(41, 0x40ff8000);
    }
    card.command(2, 0);
    card.command(3, 0);
    card.command(7, card.rca() << 16);
    ASSERT_EQ(card.state(), State::Tran);
}

std::vector<uint8_t> read_bytes(SdCard& card, size_t n) {
    std::vector<uint8_t> out(n);
    out.resize(card.read_block(out));
    return out;
}

class SdCardTest : public ::testing::Test {
protected:
    std::unique_ptr<SdCard> card = SdCard::in_memory(pattern_image());
    uint32_t r1(unsigned cmd, uint32_t arg) {
        SdResponse r = card->command(cmd, arg);
        EXPECT_TRUE(r.type == Type::R1 || r.type == Type::R1b) << "CMD" << cmd;
        return r.words[0];
    }
    std::vector<uint8_t> acmd_data(unsigned acmd, size_t n) {
        r1(55, kRca << 16);
        EXPECT_EQ(r1(acmd, 0), 0x920u);
        return read_bytes(*card, n);
    }
};

// ---- identification ----

TEST(SdCardCrc, Crc7OfKnownCommandFrames) {
    const uint8_t cmd0[] = {0x40, 0, 0, 0, 0};
    const uint8_t cmd8[] = {0x48, 0, 0, 0x01, 0xaa};
    EXPECT_EQ(SdCard::crc7(cmd0), 0x4a); // the frame ends 0x95
    EXPECT_EQ(SdCard::crc7(cmd8), 0x43); // the frame ends 0x87
}

TEST_F(SdCardTest, InitSequenceResponses) {
    EXPECT_EQ(card->state(), State::Idle);
    EXPECT_EQ(card->command(0, 0).type, Type::None);

    SdResponse r7 = card->command(8, 0x1aa);
    EXPECT_EQ(r7.type, Type::R7);
    EXPECT_EQ(r7.words[0], 0x1aau);

    // Inquiry: window 0 does not start initialisation.
    EXPECT_EQ(r1(55, 0), 0x120u); // idle, READY_FOR_DATA, APP_CMD
    SdResponse ocr = card->command(41, 0);
    EXPECT_EQ(ocr.type, Type::R3);
    EXPECT_EQ(ocr.words[0], 0x00ff8000u);

    // The first ACMD41 with a window and HCS answers busy, the next one ready + CCS.
    EXPECT_EQ(r1(55, 0), 0x120u);
    EXPECT_EQ(card->command(41, 0x40ff8000).words[0], 0x00ff8000u);
    EXPECT_EQ(card->state(), State::Idle);
    EXPECT_EQ(r1(55, 0), 0x120u);
    EXPECT_EQ(card->command(41, 0x40ff8000).words[0], 0xc0ff8000u);
    EXPECT_EQ(card->state(), State::Ready);

    SdResponse cid = card->command(2, 0);
    EXPECT_EQ(cid.type, Type::R2);
    EXPECT_TRUE(cid.is_long());
    // MID 0x00, OID "PE", PNM "PIEMU", PRV 1.0, PSN 1, MDT 2024-01, CRC7.
    EXPECT_EQ(cid.words[3], 0x00504550u);
    EXPECT_EQ(cid.words[2], 0x49454d55u);
    EXPECT_EQ(cid.words[1], 0x10000000u);
    EXPECT_EQ(cid.words[0], 0x010181a5u);
    EXPECT_EQ(card->state(), State::Ident);

    SdResponse r6 = card->command(3, 0);
    EXPECT_EQ(r6.type, Type::R6);
    EXPECT_EQ(r6.words[0], 0xb3680500u); // RCA, CURRENT_STATE ident, READY_FOR_DATA
    EXPECT_EQ(card->rca(), 0xb368);
    EXPECT_EQ(card->state(), State::Stby);

    SdResponse csd = card->command(9, kRca << 16);
    EXPECT_EQ(csd.type, Type::R2);
    EXPECT_EQ(csd.words[3], 0x400e0032u);
    EXPECT_EQ(csd.words[2], 0x51590000u);
    EXPECT_EQ(csd.words[1], 0x00037f80u);
    EXPECT_EQ(csd.words[0], 0x0a4000e1u);
    // What Linux's mmc_decode_csd makes of it.
    EXPECT_EQ(r2_bits(csd, 126, 2), 1u);                  // CSD version 2.0
    EXPECT_EQ((1 + r2_bits(csd, 48, 22)) << 10, kBlocks); // capacity in sectors
    EXPECT_EQ(r2_bits(csd, 84, 12), 0x515u);              // classes 0 2 4 8 10
    EXPECT_EQ(r2_bits(csd, 96, 8), 0x32u);                // 25 MHz

    SdResponse sel = card->command(7, kRca << 16);
    EXPECT_EQ(sel.type, Type::R1b);
    EXPECT_EQ(sel.words[0], 0x700u); // received in stby
    EXPECT_EQ(card->state(), State::Tran);
    EXPECT_EQ(r1(13, kRca << 16), kR1Tran);
}

TEST_F(SdCardTest, Acmd41WithoutHcsStaysBusy) {
    card->command(8, 0x1aa);
    for (int i = 0; i < 5; ++i) {
        r1(55, 0);
        EXPECT_EQ(card->command(41, 0x00ff8000).words[0], 0x00ff8000u);
    }
    EXPECT_EQ(card->state(), State::Idle);
}

TEST_F(SdCardTest, Cmd8WithAnotherVoltageIsNotAnswered) {
    EXPECT_EQ(card->command(8, 0x2aa).type, Type::None);
    EXPECT_EQ(r1(55, 0), 0x120u) << "no response, but not illegal either";
}

TEST_F(SdCardTest, IllegalCommandIsReportedOnceByTheNextResponse) {
    EXPECT_EQ(card->command(5, 0).type, Type::None);  // SDIO's CMD5
    EXPECT_EQ(card->command(17, 0).type, Type::None); // a read in idle
    EXPECT_EQ(r1(55, 0), 0x00400120u);                // ILLEGAL_COMMAND
    card->command(41, 0);
    EXPECT_EQ(r1(55, 0), 0x120u);
    EXPECT_EQ(card->state(), State::Idle);
}

TEST_F(SdCardTest, CommandsForAnotherRcaGetNoResponse) {
    bring_up(*card);
    card->command(7, 0); // deselect: stby
    EXPECT_EQ(card->state(), State::Stby);
    EXPECT_EQ(card->command(9, 0x12340000).type, Type::None);
    EXPECT_EQ(card->command(13, 0x12340000).type, Type::None);
    EXPECT_EQ(card->command(55, 0x12340000).type, Type::None);
    EXPECT_EQ(r1(13, kRca << 16), 0x700u) << "no ILLEGAL_COMMAND";
}

TEST_F(SdCardTest, Cmd0ResetsFromAnyState) {
    bring_up(*card);
    r1(17, 3);
    ASSERT_EQ(card->state(), State::Data);
    card->command(0, 0);
    EXPECT_EQ(card->state(), State::Idle);
    EXPECT_EQ(card->rca(), 0);
    EXPECT_FALSE(card->data_ready());
}

// ---- reads and writes ----

TEST(SdCardFile, SingleAndMultiBlockReadsFromAFile) {
    loader_test::TempDir dir;
    auto path = dir.write("card.img", pattern_image());
    auto opened = SdCard::open(path, false);
    ASSERT_FALSE(opened.is_error()) << opened.error().message;
    auto card = opened.release_value();
    EXPECT_EQ(card->block_count(), kBlocks);
    bring_up(*card);

    EXPECT_EQ(card->command(17, 3).words[0], kR1Tran);
    EXPECT_EQ(card->state(), State::Data);
    auto block = read_bytes(*card, 600);
    ASSERT_EQ(block.size(), 512u) << "a single block ends after 512 bytes";
    for (unsigned i = 0; i < 512; ++i)
        ASSERT_EQ(block[i], pattern(3, i)) << i;
    EXPECT_EQ(card->state(), State::Tran);

    EXPECT_EQ(card->command(18, 10).words[0], kR1Tran);
    auto three = read_bytes(*card, 3 * 512);
    ASSERT_EQ(three.size(), 3u * 512);
    for (unsigned k = 0; k < three.size(); ++k)
        ASSERT_EQ(three[k], pattern(10 + k / 512, k % 512)) << k;
    EXPECT_TRUE(card->data_ready()) << "open-ended: the card keeps sending";
    SdResponse stop = card->command(12, 0);
    EXPECT_EQ(stop.type, Type::R1b);
    EXPECT_EQ(stop.words[0], kR1Data);
    EXPECT_EQ(card->state(), State::Tran);
}

TEST(SdCardFile, WritesReachTheFileBeforeTheNextCommand) {
    loader_test::TempDir dir;
    auto path = dir.write("card.img", pattern_image());
    auto card = SdCard::open(path, false).release_value();
    bring_up(*card);

    std::vector<uint8_t> one(512);
    for (unsigned i = 0; i < 512; ++i)
        one[i] = uint8_t(0xa5 ^ i);
    EXPECT_EQ(card->command(24, 5).words[0], kR1Tran);
    EXPECT_EQ(card->state(), State::Rcv);
    EXPECT_EQ(card->write_block(std::span<const uint8_t>(one).first(511)), 511u);
    EXPECT_EQ(file_bytes(path)[5 * 512], pattern(5, 0)) << "nothing written before the block ends";
    EXPECT_EQ(card->write_block(std::span<const uint8_t>(one).last(1)), 1u);
    EXPECT_EQ(card->state(), State::Tran);
    EXPECT_FALSE(card->busy());
    auto file = file_bytes(path);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), file.begin() + 5 * 512));
    EXPECT_EQ(file[4 * 512 + 511], pattern(4, 511));
    EXPECT_EQ(file[6 * 512], pattern(6, 0));

    // CMD25, three blocks, CMD12.
    std::vector<uint8_t> many(3 * 512);
    for (unsigned k = 0; k < many.size(); ++k)
        many[k] = uint8_t(k * 3 + 1);
    EXPECT_EQ(card->command(25, 100).words[0], kR1Tran);
    EXPECT_EQ(card->write_block(many), many.size());
    EXPECT_TRUE(card->receiving());
    file = file_bytes(path);
    EXPECT_TRUE(std::equal(many.begin(), many.end(), file.begin() + 100 * 512));
    SdResponse stop = card->command(12, 0);
    EXPECT_EQ(stop.type, Type::R1b);
    EXPECT_EQ(stop.words[0], kR1Rcv);
    EXPECT_EQ(card->state(), State::Tran);

    // ACMD22: blocks written by the last write command, big-endian.
    card->command(55, kRca << 16);
    card->command(22, 0);
    EXPECT_EQ(read_bytes(*card, 8), (std::vector<uint8_t>{0, 0, 0, 3}));

    // Read back through the card.
    card->command(18, 100);
    auto back = read_bytes(*card, many.size());
    card->command(12, 0);
    EXPECT_EQ(back, many);
}

TEST_F(SdCardTest, Cmd23BoundsMultiBlockTransfers) {
    bring_up(*card);
    EXPECT_EQ(r1(23, 2), kR1Tran);
    EXPECT_EQ(r1(18, 40), kR1Tran);
    auto two = read_bytes(*card, 3 * 512);
    EXPECT_EQ(two.size(), 2u * 512) << "the card stops after the counted blocks";
    EXPECT_EQ(two[512], pattern(41, 0));
    EXPECT_EQ(card->state(), State::Tran);
    EXPECT_EQ(card->command(12, 0).type, Type::None) << "CMD12 is illegal in tran";

    EXPECT_EQ(r1(23, 1), 0x00400900u) << "reports the illegal CMD12";
    EXPECT_EQ(r1(25, 50), kR1Tran);
    std::vector<uint8_t> data(2 * 512, 0x5a);
    EXPECT_EQ(card->write_block(data), 512u);
    EXPECT_EQ(card->state(), State::Tran);

    // The count applies to the next command only.
    r1(23, 1);
    r1(13, kRca << 16);
    r1(18, 0);
    EXPECT_EQ(read_bytes(*card, 1024).size(), 1024u);
    EXPECT_EQ(card->state(), State::Data);
}

TEST_F(SdCardTest, OutOfRange) {
    bring_up(*card);
    EXPECT_EQ(r1(17, kBlocks), kOutOfRange | kR1Tran);
    EXPECT_EQ(card->state(), State::Tran);
    EXPECT_FALSE(card->data_ready());
    EXPECT_EQ(r1(24, 0xffffffff), kOutOfRange | kR1Tran);
    EXPECT_EQ(r1(13, kRca << 16), kR1Tran) << "clear on read";

    // Reading the last block and stopping is no error...
    r1(18, kBlocks - 1);
    EXPECT_EQ(read_bytes(*card, 512).size(), 512u);
    EXPECT_EQ(r1(12, 0), kR1Data);
    // ... asking for the block after it is.
    r1(18, kBlocks - 1);
    EXPECT_EQ(read_bytes(*card, 1024).size(), 512u);
    EXPECT_EQ(r1(12, 0), kOutOfRange | kR1Data);

    r1(25, kBlocks - 1);
    std::vector<uint8_t> data(1024, 1);
    EXPECT_EQ(card->write_block(data), 512u);
    EXPECT_FALSE(card->receiving());
    EXPECT_EQ(r1(12, 0), kOutOfRange | kR1Rcv);
}

TEST_F(SdCardTest, BlockLengthAboveTheBlockSizeIsAnError) {
    bring_up(*card);
    EXPECT_EQ(r1(16, 512), kR1Tran);
    EXPECT_EQ(r1(16, 1024), 0x20000900u); // BLOCK_LEN_ERROR
}

TEST(SdCardFile, ReadOnlyImageRejectsWrites) {
    loader_test::TempDir dir;
    auto path = dir.write("ro.img", pattern_image(2048));
    auto card = SdCard::open(path, true).release_value();
    EXPECT_TRUE(card->read_only());
    bring_up(*card);
    SdResponse r = card->command(24, 1);
    EXPECT_EQ(r.words[0], 0x04000900u); // WP_VIOLATION, received in tran
    EXPECT_EQ(card->state(), State::Tran);
    EXPECT_FALSE(card->receiving());
    uint8_t byte = 0;
    EXPECT_FALSE(card->write_data(byte));
    EXPECT_EQ(card->command(25, 1).words[0], 0x04000900u);
    EXPECT_EQ(file_bytes(path), pattern_image(2048));

    card->command(7, 0);
    SdResponse csd = card->command(9, kRca << 16);
    EXPECT_EQ(r2_bits(csd, 13, 1), 1u); // PERM_WRITE_PROTECT
    EXPECT_EQ(csd.words[0], 0x0a40206du);
    EXPECT_EQ((1 + r2_bits(csd, 48, 22)) << 10, 2048u);
}

// ---- opening images ----

TEST(SdCardOpen, BadImageLengths) {
    loader_test::TempDir dir;
    auto odd = dir.write("odd.img", std::vector<uint8_t>(1000));
    auto result = SdCard::open(odd, false);
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error().message,
              odd + ": SD card image is 1000 bytes long; it must be a non-zero multiple of 512");

    auto empty = dir.write("empty.img", std::vector<uint8_t>());
    result = SdCard::open(empty, true);
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error().message,
              empty + ": SD card image is 0 bytes long; it must be a non-zero multiple of 512");

    auto missing = dir.path("missing.img");
    result = SdCard::open(missing, false);
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error().message,
              missing + ": cannot open SD card image: No such file or directory");
}

TEST(SdCardOpen, ImagesUnder512KiBReportOneCapacityUnit) {
    auto card = SdCard::in_memory(std::vector<uint8_t>(3 * 512));
    bring_up(*card);
    EXPECT_EQ(card->block_count(), 3u);
    card->command(7, 0);
    SdResponse csd = card->command(9, kRca << 16);
    EXPECT_EQ(r2_bits(csd, 48, 22), 0u);
    card->command(7, kRca << 16);
    EXPECT_EQ(card->command(17, 3).words[0], kOutOfRange | kR1Tran) << "the exact length counts";
}

// ---- registers read over DAT ----

TEST_F(SdCardTest, SwitchFunctionQueryAndSet) {
    bring_up(*card);
    EXPECT_EQ(r1(6, 0x00fffff1), kR1Tran); // mode 0: would high speed work?
    auto status = read_bytes(*card, 100);
    ASSERT_EQ(status.size(), 64u);
    const std::vector<uint8_t> head = {0x00, 0x64, // 100 mA
                                       0x00, 0x01, 0x00, 0x01,
                                       0x00, 0x01, 0x00, 0x01, // groups 6..3: function 0
                                       0x00, 0x01, 0x00, 0x03, // group 2; group 1: 0 and 1
                                       0x00, 0x00, 0x01,       // results: group 1 -> 1
                                       0x01};                  // data structure version
    EXPECT_EQ(std::vector<uint8_t>(status.begin(), status.begin() + 18), head);
    for (unsigned i = 18; i < 64; ++i)
        EXPECT_EQ(status[i], 0) << i;
    EXPECT_EQ(card->state(), State::Tran);

    // Mode 0 changed nothing: the CSD still says 25 MHz.
    card->command(7, 0);
    EXPECT_EQ(r2_bits(card->command(9, kRca << 16), 96, 8), 0x32u);
    card->command(7, kRca << 16);

    // Mode 0 with 0xF everywhere reports the current functions.
    r1(6, 0x00ffffff);
    EXPECT_EQ(read_bytes(*card, 64)[16], 0x00);

    // An unsupported function fails its group and switches nothing.
    r1(6, 0x80fffff3);
    auto failed = read_bytes(*card, 64);
    EXPECT_EQ(failed[0], 0x00);
    EXPECT_EQ(failed[1], 0x00) << "0 mA: the selection failed";
    EXPECT_EQ(failed[16], 0x0f);

    // Mode 1: high speed.
    r1(6, 0x80fffff1);
    EXPECT_EQ(read_bytes(*card, 64)[16], 0x01);
    r1(6, 0x00ffffff);
    EXPECT_EQ(read_bytes(*card, 64)[16], 0x01) << "now current";
    card->command(7, 0);
    EXPECT_EQ(r2_bits(card->command(9, kRca << 16), 96, 8), 0x5au); // 50 MHz
}

TEST_F(SdCardTest, ScrIsEightBytes) {
    bring_up(*card);
    auto scr = acmd_data(51, 16);
    EXPECT_EQ(scr, (std::vector<uint8_t>{0x02, 0x05, 0x80, 0x02, 0, 0, 0, 0}));
    EXPECT_EQ(card->state(), State::Tran);
}

TEST_F(SdCardTest, SdStatusIs64BytesAndShowsTheBusWidth) {
    bring_up(*card);
    auto ssr = acmd_data(13, 100);
    ASSERT_EQ(ssr.size(), 64u);
    EXPECT_EQ(ssr[0], 0x00);  // 1-bit bus
    EXPECT_EQ(ssr[8], 0x04);  // SPEED_CLASS: class 10
    EXPECT_EQ(ssr[10], 0x90); // AU_SIZE 9: 4 MiB
    EXPECT_EQ(card->state(), State::Tran);

    r1(55, kRca << 16);
    EXPECT_EQ(r1(6, 2), 0x920u); // ACMD6: 4 bits
    ssr = acmd_data(13, 64);
    EXPECT_EQ(ssr[0], 0x80);
}

TEST_F(SdCardTest, AppCommandsNeedTranAndOthersFallBack) {
    bring_up(*card);
    r1(55, kRca << 16);
    EXPECT_EQ(r1(16, 512), kR1Tran) << "CMD16 after CMD55 is the standard command";
    card->command(7, 0);
    r1(55, kRca << 16);
    EXPECT_EQ(card->command(51, 0).type, Type::None) << "ACMD51 in stby";
    EXPECT_EQ(r1(13, kRca << 16), 0x00400700u);
}

} // namespace
