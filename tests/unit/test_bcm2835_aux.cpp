// BCM2835 AUX / mini UART register-level tests: reset values, the AUX_ENABLES gate,
// register masks, TX to the sink with LSR/STAT levels (the TX FIFO fills only while the
// transmitter is disabled), RX with data ready, overrun and FIFO clears, the IRQ line
// following IER, IIR ids and priority, DLAB access to the baud register, host input paced
// at the programmed baud rate in virtual time, unknown offsets (read as zero, logged) and
// sub-word accesses. Expected values are written as numbers, not with the model's own
// constants, so a wrong constant in the model fails here.
//
// The clock runs at 1 GHz, four times the 250 MHz core clock: one core clock is four CPU
// cycles, so with BAUD = 270 an 8-bit character (10 bits of 8 * 271 core clocks) takes
// exactly 86720 cycles.
#include <gtest/gtest.h>

#include <memory>
#include <spdlog/spdlog.h>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "devices/bcm2835_aux.hpp"
#include "log_capture.hpp"

using namespace piemu;
using piemu_test::LogCapture;
using Reg = Bcm2835Aux::Reg;

namespace {

constexpr uint64_t kHz = 1'000'000'000;
constexpr uint64_t kCharCycles = 86720; // BAUD 270, 8 data bits

struct RecordingSink : IrqSink {
    std::vector<std::pair<unsigned, bool>> calls;
    void set_irq_input(unsigned input, bool level) override { calls.emplace_back(input, level); }
};

// A source that answers from a script: each entry is one next_byte() result.
struct ScriptedInput : UartInput {
    std::vector<int> script;
    size_t asked = 0;
    explicit ScriptedInput(std::vector<int> s) : script(std::move(s)) {}
    int next_byte() override { return asked < script.size() ? script[asked++] : kEof; }
};

class Bcm2835AuxTest : public ::testing::Test {
protected:
    VirtualClock clock{kHz};
    Bcm2835Aux aux{"aux", clock};
    std::string tx;
    RecordingSink sink;

    void SetUp() override {
        aux.set_tx_sink([this](uint8_t b) { tx.push_back(static_cast<char>(b)); });
        aux.irq().connect(&sink, 29);
    }
    uint32_t rd(Reg r) { return aux.read(static_cast<uint32_t>(r), 4); }
    void wr(Reg r, uint32_t v) { aux.write(static_cast<uint32_t>(r), v, 4); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    void enable() { wr(Reg::Enables, 1); }
    // 8 data bits at BAUD 270 (115313 baud on a 250 MHz core clock).
    void program_115200() {
        wr(Reg::MuLcr, 0x03);
        wr(Reg::MuBaud, 270);
    }
    void send(const std::string& s) {
        for (char c : s)
            wr(Reg::MuIo, static_cast<uint8_t>(c));
    }
    bool line() { return aux.irq().level(); }
};

// ---- reset values and the AUX_ENABLES gate ----

TEST_F(Bcm2835AuxTest, ResetValues) {
    EXPECT_EQ(rd(Reg::Irq), 0u);
    EXPECT_EQ(rd(Reg::Enables), 0u);
    enable();
    EXPECT_EQ(rd(Reg::Enables), 1u);
    EXPECT_EQ(rd(Reg::Irq), 0u);
    EXPECT_EQ(rd(Reg::MuIo), 0u); // empty FIFO
    EXPECT_EQ(rd(Reg::MuIer), 0u);
    EXPECT_EQ(rd(Reg::MuIir), 0xc1u); // FIFOs on, no interrupt pending
    EXPECT_EQ(rd(Reg::MuLcr), 0u);
    EXPECT_EQ(rd(Reg::MuMcr), 0u);
    EXPECT_EQ(rd(Reg::MuLsr), 0x60u); // TX empty, TX idle
    EXPECT_EQ(rd(Reg::MuMsr), 0x20u); // CTS asserted
    EXPECT_EQ(rd(Reg::MuScratch), 0u);
    EXPECT_EQ(rd(Reg::MuCntl), 0x03u); // RX and TX enabled
    // Done, TX empty, CTS, TX idle, RX idle, space available.
    EXPECT_EQ(rd(Reg::MuStat), 0x38eu);
    EXPECT_EQ(rd(Reg::MuBaud), 0u);
    EXPECT_FALSE(line());
    EXPECT_TRUE(sink.calls.empty());
    EXPECT_EQ(aux.baud_rate(), 31'250'000u); // 250 MHz / 8
}

TEST_F(Bcm2835AuxTest, MiniUartRegistersAreInaccessibleUntilEnabled) {
    wr(Reg::MuScratch, 0x5a);
    wr(Reg::MuIer, 0x3);
    wr(Reg::MuIo, 'x');
    EXPECT_EQ(rd(Reg::MuCntl), 0u) << "reads as zero while disabled";
    EXPECT_EQ(rd(Reg::MuLsr), 0u);
    EXPECT_FALSE(aux.push_rx('y'));
    EXPECT_EQ(tx, "");
    EXPECT_FALSE(line());
    enable();
    EXPECT_EQ(rd(Reg::MuScratch), 0u) << "the write while disabled was ignored";
    EXPECT_EQ(rd(Reg::MuIer), 0u);
    EXPECT_EQ(rd(Reg::MuCntl), 0x03u);
    EXPECT_EQ(rd(Reg::MuLsr), 0x60u) << "nothing was received";
}

TEST_F(Bcm2835AuxTest, ReadWriteRegistersKeepOnlyTheirDefinedBits) {
    wr(Reg::Enables, 0xffffffff);
    EXPECT_EQ(rd(Reg::Enables), 0x7u); // SPI1 and SPI2 enables are stored
    wr(Reg::MuIer, 0xffffffff);
    EXPECT_EQ(rd(Reg::MuIer), 0xfu);
    wr(Reg::MuIer, 0);
    wr(Reg::MuLcr, 0xffffff7f); // everything but DLAB
    EXPECT_EQ(rd(Reg::MuLcr), 0x43u);
    wr(Reg::MuLcr, 0);
    wr(Reg::MuMcr, 0xffffffff);
    EXPECT_EQ(rd(Reg::MuMcr), 0x02u);
    wr(Reg::MuScratch, 0xffffffa5);
    EXPECT_EQ(rd(Reg::MuScratch), 0xa5u);
    wr(Reg::MuCntl, 0xffffffff);
    EXPECT_EQ(rd(Reg::MuCntl), 0xffu);
    wr(Reg::MuBaud, 0x12345678);
    EXPECT_EQ(rd(Reg::MuBaud), 0x5678u);
}

TEST_F(Bcm2835AuxTest, ReadOnlyRegistersIgnoreWrites) {
    enable();
    wr(Reg::MuLsr, 0);
    wr(Reg::MuMsr, 0);
    wr(Reg::MuStat, 0);
    wr(Reg::Irq, 1);
    EXPECT_EQ(rd(Reg::MuLsr), 0x60u);
    EXPECT_EQ(rd(Reg::MuMsr), 0x20u);
    EXPECT_EQ(rd(Reg::MuStat), 0x38eu);
    EXPECT_EQ(rd(Reg::Irq), 0u);
}

// ---- transmit ----

TEST_F(Bcm2835AuxTest, TransmitsAStringToTheSink) {
    enable();
    program_115200();
    send("Hello, Pi\n");
    EXPECT_EQ(tx, "Hello, Pi\n");
    EXPECT_EQ(rd(Reg::MuLsr), 0x60u);
    EXPECT_EQ(rd(Reg::MuStat) >> 24, 0u) << "TX level";
    EXPECT_EQ(rd(Reg::MuStat) & 0x300u, 0x300u) << "TX empty and done";
}

TEST_F(Bcm2835AuxTest, TxFifoFillsWhileTheTransmitterIsDisabled) {
    enable();
    wr(Reg::MuCntl, 0x01); // receiver only
    send("abc");
    EXPECT_EQ(tx, "");
    EXPECT_EQ(rd(Reg::MuLsr), 0x20u) << "space left, not idle";
    // TX level 3, CTS, TX idle, RX idle, space available; not empty, not done.
    EXPECT_EQ(rd(Reg::MuStat), 0x0300008eu);
    send("defgh");
    EXPECT_EQ(rd(Reg::MuStat), 0x080000acu) << "TX level 8, TX FIFO full, no space";
    EXPECT_EQ(rd(Reg::MuLsr), 0x00u);
    wr(Reg::MuIo, 'X'); // lost
    EXPECT_EQ(rd(Reg::MuStat) >> 24, 8u);
    wr(Reg::MuCntl, 0x03);
    EXPECT_EQ(tx, "abcdefgh");
    EXPECT_EQ(rd(Reg::MuLsr), 0x60u);
    EXPECT_EQ(rd(Reg::MuStat), 0x38eu);
}

TEST_F(Bcm2835AuxTest, DisablingTheMiniUartHoldsQueuedBytes) {
    enable();
    wr(Reg::MuCntl, 0x01);
    send("hi");
    wr(Reg::Enables, 0);
    wr(Reg::Enables, 1);
    EXPECT_EQ(tx, "");
    wr(Reg::MuCntl, 0x03);
    EXPECT_EQ(tx, "hi");
}

TEST_F(Bcm2835AuxTest, IirWritesClearTheFifos) {
    enable();
    wr(Reg::MuCntl, 0x01);
    send("abcd");
    aux.push_rx('1');
    aux.push_rx('2');
    wr(Reg::MuIir, 0x02); // clear RX
    EXPECT_EQ(rd(Reg::MuStat) & 0x000f0001u, 0u);
    EXPECT_EQ(rd(Reg::MuStat) >> 24, 4u) << "TX untouched";
    wr(Reg::MuIir, 0x04); // clear TX
    EXPECT_EQ(rd(Reg::MuStat) >> 24, 0u);
    wr(Reg::MuCntl, 0x03);
    EXPECT_EQ(tx, "") << "cleared bytes are never sent";
    EXPECT_EQ(rd(Reg::MuIir), 0xc1u) << "a write does not change what IIR reads";
}

// ---- receive ----

TEST_F(Bcm2835AuxTest, ReceivedBytesSetDataReadyAndTheRxLevel) {
    enable();
    EXPECT_TRUE(aux.push_rx('x'));
    EXPECT_TRUE(aux.push_rx('y'));
    EXPECT_EQ(rd(Reg::MuLsr), 0x61u);
    EXPECT_EQ(rd(Reg::MuStat), 0x0002038fu); // RX level 2, symbol available
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('x'));
    EXPECT_EQ(rd(Reg::MuStat) >> 16 & 0xf, 1u);
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('y'));
    EXPECT_EQ(rd(Reg::MuLsr), 0x60u);
    EXPECT_EQ(rd(Reg::MuIo), 0u) << "empty";
}

TEST_F(Bcm2835AuxTest, ReceiverDisabledIgnoresInput) {
    enable();
    wr(Reg::MuCntl, 0x02);
    EXPECT_FALSE(aux.push_rx('x'));
    EXPECT_EQ(rd(Reg::MuLsr) & 1u, 0u);
}

TEST_F(Bcm2835AuxTest, OverrunLosesTheByteAndIsClearedByReadingLsr) {
    enable();
    for (int i = 0; i < 8; ++i)
        EXPECT_TRUE(aux.push_rx(static_cast<uint8_t>('0' + i)));
    EXPECT_FALSE(aux.push_rx('!'));
    EXPECT_EQ(rd(Reg::MuStat), 0x0008039fu) << "RX level 8, overrun";
    EXPECT_EQ(rd(Reg::MuStat) & 0x10u, 0x10u) << "STAT does not clear it";
    EXPECT_EQ(rd(Reg::MuLsr), 0x63u);
    EXPECT_EQ(rd(Reg::MuLsr), 0x61u) << "the LSR read cleared it";
    EXPECT_EQ(rd(Reg::MuStat) & 0x10u, 0u);
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(rd(Reg::MuIo), uint32_t('0' + i));
}

// ---- interrupts ----

TEST_F(Bcm2835AuxTest, RxInterruptFollowsIerAndTheFifo) {
    enable();
    wr(Reg::MuIer, 0x01);
    EXPECT_FALSE(line());
    EXPECT_EQ(rd(Reg::MuIir), 0xc1u);
    aux.push_rx('a');
    EXPECT_TRUE(line());
    EXPECT_EQ(rd(Reg::Irq), 1u);
    EXPECT_EQ(rd(Reg::MuIir), 0xc4u); // receiver holds a valid byte
    wr(Reg::MuIer, 0x00);
    EXPECT_FALSE(line());
    wr(Reg::MuIer, 0x01);
    EXPECT_TRUE(line());
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('a'));
    EXPECT_FALSE(line());
    EXPECT_EQ(rd(Reg::Irq), 0u);
    const std::vector<std::pair<unsigned, bool>> expected = {
        {29, true}, {29, false}, {29, true}, {29, false}};
    EXPECT_EQ(sink.calls, expected);
}

TEST_F(Bcm2835AuxTest, TxInterruptIsHighWhileTheTxFifoIsEmpty) {
    enable();
    wr(Reg::MuIer, 0x02);
    EXPECT_TRUE(line());
    EXPECT_EQ(rd(Reg::MuIir), 0xc2u); // transmit holding register empty
    send("ok");                       // drains at once: still empty
    EXPECT_TRUE(line());
    wr(Reg::MuCntl, 0x01);
    wr(Reg::MuIo, 'z');
    EXPECT_FALSE(line());
    EXPECT_EQ(rd(Reg::MuIir), 0xc1u);
    wr(Reg::MuCntl, 0x03);
    EXPECT_TRUE(line());
}

TEST_F(Bcm2835AuxTest, IirReportsRxBeforeTx) {
    enable();
    wr(Reg::MuIer, 0x03);
    aux.push_rx('r');
    EXPECT_EQ(rd(Reg::MuIir), 0xc4u);
    rd(Reg::MuIo);
    EXPECT_EQ(rd(Reg::MuIir), 0xc2u);
}

TEST_F(Bcm2835AuxTest, DisablingTheMiniUartLowersTheLine) {
    enable();
    wr(Reg::MuIer, 0x02);
    ASSERT_TRUE(line());
    wr(Reg::Enables, 0);
    EXPECT_FALSE(line());
    EXPECT_EQ(rd(Reg::Irq), 0u);
    enable();
    EXPECT_TRUE(line());
}

TEST_F(Bcm2835AuxTest, IrqOutputsIsTheOneLine) {
    auto lines = aux.irq_outputs();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], &aux.irq());
}

// ---- DLAB and baud rate ----

TEST_F(Bcm2835AuxTest, DlabGivesAccessToTheBaudRegister) {
    enable();
    wr(Reg::MuIer, 0x01);
    wr(Reg::MuLcr, 0x83);
    wr(Reg::MuIo, 0x0e);  // BAUD [7:0]
    wr(Reg::MuIer, 0x01); // BAUD [15:8]
    EXPECT_EQ(rd(Reg::MuBaud), 0x010eu);
    EXPECT_EQ(rd(Reg::MuIo), 0x0eu);
    EXPECT_EQ(rd(Reg::MuIer), 0x01u);
    EXPECT_EQ(tx, "") << "the DLAB write did not transmit";
    wr(Reg::MuBaud, 0xabcd);
    EXPECT_EQ(rd(Reg::MuIo), 0xcdu);
    EXPECT_EQ(rd(Reg::MuIer), 0xabu);
    wr(Reg::MuLcr, 0x03);
    EXPECT_EQ(rd(Reg::MuIer), 0x01u) << "IER kept its own value";
    wr(Reg::MuIo, 'k');
    EXPECT_EQ(tx, "k");
    EXPECT_EQ(rd(Reg::MuBaud), 0xabcdu);
}

TEST_F(Bcm2835AuxTest, BaudRateIsCoreClockOver8TimesBaudPlusOne) {
    enable();
    wr(Reg::MuBaud, 270);
    EXPECT_EQ(aux.baud_rate(), 115313u); // 250e6 / (8 * 271)
    Bcm2835Aux fast("aux400", clock, 400'000'000);
    fast.write(0x04, 1, 4);
    fast.write(0x68, 433, 4);
    EXPECT_EQ(fast.baud_rate(), 115207u); // 400e6 / (8 * 434)
}

// ---- host input ----

TEST_F(Bcm2835AuxTest, InputArrivesOneCharacterTimeApart) {
    enable();
    program_115200();
    wr(Reg::MuIer, 0x01);
    aux.set_input(std::make_unique<UartBytesInput>(std::string_view("ab")));
    run_to(kCharCycles - 1);
    EXPECT_EQ(rd(Reg::MuLsr) & 1u, 0u);
    run_to(kCharCycles);
    EXPECT_EQ(rd(Reg::MuStat) >> 16 & 0xf, 1u);
    EXPECT_TRUE(line());
    run_to(2 * kCharCycles - 1);
    EXPECT_EQ(rd(Reg::MuStat) >> 16 & 0xf, 1u);
    run_to(2 * kCharCycles);
    EXPECT_EQ(rd(Reg::MuStat) >> 16 & 0xf, 2u);
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('a'));
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('b'));
    EXPECT_FALSE(aux.input_exhausted());
    run_to(3 * kCharCycles);
    EXPECT_TRUE(aux.input_exhausted());
    EXPECT_TRUE(aux.input_attached());
}

TEST_F(Bcm2835AuxTest, SevenBitCharactersAreShorter) {
    enable();
    wr(Reg::MuBaud, 270);
    wr(Reg::MuLcr, 0x00); // 7 data bits: 9 bits per character
    aux.set_input(std::make_unique<UartBytesInput>(std::string_view("q")));
    run_to(9 * 8 * 271 * 4 - 1);
    EXPECT_EQ(rd(Reg::MuLsr) & 1u, 0u);
    run_to(9 * 8 * 271 * 4);
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('q'));
}

TEST_F(Bcm2835AuxTest, InputWaitsForRoomInTheFifo) {
    enable();
    program_115200();
    aux.set_input(std::make_unique<UartBytesInput>(std::string_view("0123456789")));
    run_to(20 * kCharCycles);
    EXPECT_EQ(rd(Reg::MuStat) >> 16 & 0xf, 8u);
    EXPECT_EQ(rd(Reg::MuLsr) & 2u, 0u) << "paced by room: no overrun";
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('0'));
    run_to(21 * kCharCycles - 1);
    EXPECT_EQ(rd(Reg::MuStat) >> 16 & 0xf, 7u);
    run_to(21 * kCharCycles);
    EXPECT_EQ(rd(Reg::MuStat) >> 16 & 0xf, 8u);
    std::string got;
    for (int i = 0; i < 8; ++i)
        got.push_back(static_cast<char>(rd(Reg::MuIo)));
    EXPECT_EQ(got, "12345678");
    run_to(22 * kCharCycles);
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('9'));
}

TEST_F(Bcm2835AuxTest, InputPausesWhileTheReceiverIsDisabled) {
    enable();
    program_115200();
    wr(Reg::MuCntl, 0x02);
    auto input = std::make_unique<ScriptedInput>(std::vector<int>{'x'});
    ScriptedInput* src = input.get();
    aux.set_input(std::move(input));
    run_to(10 * kCharCycles);
    EXPECT_EQ(src->asked, 0u);
    wr(Reg::MuCntl, 0x03); // at 10 char times: the next byte one char time later
    run_to(11 * kCharCycles);
    EXPECT_EQ(src->asked, 1u);
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('x'));
}

TEST_F(Bcm2835AuxTest, IdleSourceIsAskedAgainLater) {
    enable();
    program_115200();
    auto input = std::make_unique<ScriptedInput>(std::vector<int>{UartInput::kNone, 'y'});
    ScriptedInput* src = input.get();
    aux.set_input(std::move(input));
    run_to(kCharCycles);
    EXPECT_EQ(src->asked, 1u);
    run_to(17 * kCharCycles - 1);
    EXPECT_EQ(src->asked, 1u);
    run_to(17 * kCharCycles);
    EXPECT_EQ(src->asked, 2u);
    EXPECT_EQ(rd(Reg::MuIo), uint32_t('y'));
}

// ---- reset, bad accesses, sub-word accesses ----

TEST_F(Bcm2835AuxTest, ResetRestoresEverythingButHostWiring) {
    enable();
    program_115200();
    wr(Reg::MuIer, 0x03);
    wr(Reg::MuScratch, 0x77);
    aux.push_rx('a');
    ASSERT_TRUE(line());
    aux.reset();
    EXPECT_EQ(rd(Reg::Enables), 0u);
    EXPECT_FALSE(line());
    EXPECT_EQ(sink.calls.back(), std::make_pair(29u, false));
    enable();
    EXPECT_EQ(rd(Reg::MuIer), 0u);
    EXPECT_EQ(rd(Reg::MuLcr), 0u);
    EXPECT_EQ(rd(Reg::MuBaud), 0u);
    EXPECT_EQ(rd(Reg::MuScratch), 0u);
    EXPECT_EQ(rd(Reg::MuLsr), 0x60u);
    wr(Reg::MuIo, 'z');
    EXPECT_EQ(tx, "z") << "the sink survives reset";
}

TEST_F(Bcm2835AuxTest, BadOffsetsReadZeroAndAreLogged) {
    LogCapture log;
    Bcm2835Aux bad("aux-bad-offsets", clock);
    bad.write(0x04, 1, 4);
    for (uint32_t offset : {0x08u, 0x3cu, 0x6cu, 0x7cu}) {
        EXPECT_EQ(bad.read(offset, 4), 0u) << std::hex << offset;
        bad.write(offset, 0xffffffff, 4);
        EXPECT_EQ(bad.read(offset, 4), 0u) << std::hex << offset;
    }
    EXPECT_EQ(bad.read(0x80, 4), 0u) << "SPI1";
    EXPECT_EQ(bad.read(0xc0, 4), 0u) << "SPI2";
    EXPECT_EQ(bad.read(0x100, 4), 0u) << "outside the window";
    EXPECT_EQ(bad.read(0x42, 4), 0u) << "misaligned";
    std::string text = log.text();
    EXPECT_NE(text.find("guest error: aux-bad-offsets +0x008: read of unknown register"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("guest error: aux-bad-offsets +0x06c: read of unknown register"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("unimplemented: aux-bad-offsets +0x080: SPI1/SPI2 registers"),
              std::string::npos)
        << text;
    EXPECT_EQ(bad.read(0x5c, 4), 0u) << "SCRATCH untouched by the bad writes";
}

TEST_F(Bcm2835AuxTest, DisabledAccessIsLogged) {
    LogCapture log;
    Bcm2835Aux off("aux-disabled-log", clock);
    EXPECT_EQ(off.read(0x54, 4), 0u);
    EXPECT_NE(log.text().find("aux-disabled-log +0x054: mini UART read with AUX_ENABLES bit "
                              "0 clear"),
              std::string::npos)
        << log.text();
}

TEST_F(Bcm2835AuxTest, SubWordAccesses) {
    enable();
    aux.push_rx('p');
    aux.push_rx('q');
    EXPECT_EQ(aux.read(0x40, 1), uint32_t('p')) << "a byte read pops, as the 8250 driver does";
    EXPECT_EQ(aux.read(0x54, 1), 0x61u);
    EXPECT_EQ(aux.read(0x66, 1), 0x01u) << "STAT [23:16]: RX level in [19:16]";
    EXPECT_EQ(aux.read(0x66, 2), 0x0001u);
    aux.write(0x40, 'w', 1);
    EXPECT_EQ(tx, "w");
    wr(Reg::MuBaud, 0x1234);
    aux.write(0x69, 0x56, 1); // BAUD [15:8]
    EXPECT_EQ(rd(Reg::MuBaud), 0x5634u);
    aux.write(0x48, 0x02, 1); // clear RX
    EXPECT_EQ(rd(Reg::MuLsr) & 1u, 0u);
}

} // namespace
