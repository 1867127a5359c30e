// PL011 UART register-level tests: reset values, register masks, FIFOs and their flags,
// overrun, IFLS trigger levels, the receive timeout in virtual time, loopback, modem
// lines, ID registers, unknown offsets, sub-word accesses, the IRQ line, and host input
// paced in virtual time. Expected values are written as numbers, not with the model's
// own constants, so a wrong constant in the model fails here.
//
// The clock runs at 192 MHz, four times the 48 MHz UARTCLK, so one CPU cycle is one
// quarter UARTCLK tick and a bit period is exactly 64 * IBRD + FBRD cycles.
#include <gtest/gtest.h>

#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "devices/pl011.hpp"

using namespace piemu;
using Reg = Pl011::Reg;

namespace {

constexpr uint64_t kHz = 192'000'000;

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

class Pl011Test : public ::testing::Test {
protected:
    VirtualClock clock{kHz};
    Pl011 uart{"uart0", clock};
    std::string tx;
    RecordingSink sink;

    void SetUp() override {
        uart.set_tx_sink([this](uint8_t b) { tx.push_back(static_cast<char>(b)); });
        uart.irq().connect(&sink, 57);
    }
    uint32_t rd(Reg r) { return uart.read(static_cast<uint32_t>(r), 4); }
    void wr(Reg r, uint32_t v) { uart.write(static_cast<uint32_t>(r), v, 4); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    // 8 data bits, FIFOs as asked, divisor IBRD/FBRD latched by the LCR_H write.
    void program(uint32_t ibrd, uint32_t fbrd, bool fifo) {
        wr(Reg::Ibrd, ibrd);
        wr(Reg::Fbrd, fbrd);
        wr(Reg::LcrH, fifo ? 0x70 : 0x60);
    }
    // CTS flow control on and CTS deasserted: written bytes stay in the TX FIFO.
    void hold_tx() {
        wr(Reg::Cr, 0x8301); // CTSEN | RXE | TXE | UARTEN
        uart.set_cts(false);
        wr(Reg::Icr, 0x7ff);
    }
};

// ---- reset values and register masks ----

TEST_F(Pl011Test, ResetValuesMatchTheTrm) {
    EXPECT_EQ(rd(Reg::RsrEcr), 0x000u);
    EXPECT_EQ(rd(Reg::Fr), 0x091u); // TXFE | RXFE | CTS (host CTS asserted)
    EXPECT_EQ(rd(Reg::Ilpr), 0x00u);
    EXPECT_EQ(rd(Reg::Ibrd), 0x0000u);
    EXPECT_EQ(rd(Reg::Fbrd), 0x00u);
    EXPECT_EQ(rd(Reg::LcrH), 0x00u);
    EXPECT_EQ(rd(Reg::Cr), 0x0300u); // TXE | RXE
    EXPECT_EQ(rd(Reg::Ifls), 0x12u); // both at 1/2
    EXPECT_EQ(rd(Reg::Imsc), 0x000u);
    EXPECT_EQ(rd(Reg::Ris), 0x000u);
    EXPECT_EQ(rd(Reg::Mis), 0x000u);
    EXPECT_EQ(rd(Reg::Dmacr), 0x00u);
    EXPECT_EQ(rd(Reg::Dr), 0x000u); // empty FIFO
    EXPECT_FALSE(uart.irq().level());
    EXPECT_EQ(uart.baud_rate(), 0u);
}

TEST_F(Pl011Test, ResetRestoresEverythingButHostWiring) {
    program(26, 3, true);
    wr(Reg::Ilpr, 0x12);
    wr(Reg::Ifls, 0x09);
    wr(Reg::Imsc, 0x7ff);
    wr(Reg::Dmacr, 0x4);
    uart.push_rx('a');
    wr(Reg::Dr, 'b');
    ASSERT_TRUE(uart.irq().level());
    uart.reset();
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    EXPECT_EQ(rd(Reg::Ibrd), 0u);
    EXPECT_EQ(rd(Reg::Fbrd), 0u);
    EXPECT_EQ(rd(Reg::LcrH), 0u);
    EXPECT_EQ(rd(Reg::Cr), 0x300u);
    EXPECT_EQ(rd(Reg::Ifls), 0x12u);
    EXPECT_EQ(rd(Reg::Imsc), 0u);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    EXPECT_EQ(rd(Reg::Ilpr), 0u);
    EXPECT_EQ(rd(Reg::Dmacr), 0u);
    EXPECT_EQ(uart.baud_rate(), 0u);
    EXPECT_FALSE(uart.irq().level());
    EXPECT_EQ(sink.calls.back(), std::make_pair(57u, false));
    wr(Reg::Dr, 'c'); // the sink survives reset
    EXPECT_EQ(tx, "bc");
}

TEST_F(Pl011Test, ReadWriteRegistersKeepOnlyTheirDefinedBits) {
    wr(Reg::Ilpr, 0xffffffff);
    EXPECT_EQ(rd(Reg::Ilpr), 0xffu);
    wr(Reg::Ibrd, 0xffffffff);
    EXPECT_EQ(rd(Reg::Ibrd), 0xffffu);
    wr(Reg::Fbrd, 0xffffffff);
    EXPECT_EQ(rd(Reg::Fbrd), 0x3fu);
    wr(Reg::LcrH, 0xffffff6e); // FEN clear
    EXPECT_EQ(rd(Reg::LcrH), 0x6eu);
    wr(Reg::Ifls, 0xffffffe4);
    EXPECT_EQ(rd(Reg::Ifls), 0x24u);
    wr(Reg::Imsc, 0xffffffff);
    EXPECT_EQ(rd(Reg::Imsc), 0x7ffu);
    wr(Reg::Imsc, 0);
    wr(Reg::Dmacr, 0xffffffff);
    EXPECT_EQ(rd(Reg::Dmacr), 0x7u);
    wr(Reg::Cr, 0xffff7f7f); // everything but LBE and CTSEN
    EXPECT_EQ(rd(Reg::Cr), 0x7f07u);
}

TEST_F(Pl011Test, ReadOnlyRegistersIgnoreWrites) {
    wr(Reg::Fr, 0);
    wr(Reg::Ris, 0x7ff);
    wr(Reg::Mis, 0x7ff);
    uart.write(0xfe8, 0x55, 4);
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    EXPECT_EQ(rd(Reg::Mis), 0u);
    EXPECT_EQ(uart.read(0xfe8, 4), 0x34u);
}

TEST_F(Pl011Test, IdRegistersReadPl011AndPrimeCellValues) {
    const uint32_t expect[8] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
    for (uint32_t i = 0; i < 8; ++i)
        EXPECT_EQ(uart.read(0xfe0 + 4 * i, 4), expect[i])
            << "offset 0x" << std::hex << 0xfe0 + 4 * i;

    Pl011 r1p3("uart-r1p3", clock, Pl011Config{.periph_id = 0x00241011});
    EXPECT_EQ(r1p3.read(0xfe8, 4), 0x24u);
    EXPECT_EQ(r1p3.read(0xfe0, 4), 0x11u);
}

TEST_F(Pl011Test, UnknownAndUnmodelledOffsetsReadZeroAndIgnoreWrites) {
    for (uint32_t o : {0x008u, 0x00cu, 0x010u, 0x014u, 0x01cu, 0x04cu, 0x07cu, 0x080u, 0x084u,
                       0x088u, 0x08cu, 0x090u, 0x800u, 0xfdcu}) {
        uart.write(o, 0xffffffff, 4);
        EXPECT_EQ(uart.read(o, 4), 0u) << "offset 0x" << std::hex << o;
    }
    EXPECT_EQ(rd(Reg::Icr), 0u); // write-only
    EXPECT_EQ(rd(Reg::Cr), 0x300u);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    EXPECT_EQ(tx, "");
}

// ---- transmit ----

TEST_F(Pl011Test, TransmitIsImmediateEvenWithTheUartDisabled) {
    wr(Reg::Cr, 0); // UARTEN, TXE clear: sent anyway, as QEMU does
    wr(Reg::Dr, 'h');
    wr(Reg::Cr, 0x301);
    wr(Reg::Dr, 0x169); // only [7:0] is data
    EXPECT_EQ(tx, "hi");
    EXPECT_EQ(rd(Reg::Fr), 0x091u); // TXFE, not BUSY: nothing stays in the FIFO
}

TEST_F(Pl011Test, TxFifoNeverFillsWithoutFlowControl) {
    program(1, 0, true);
    for (int i = 0; i < 100; ++i) {
        wr(Reg::Dr, 'A' + i % 26);
        ASSERT_EQ(rd(Reg::Fr) & 0x28u, 0u) << "TXFF or BUSY after write " << i;
    }
    EXPECT_EQ(tx.size(), 100u);
}

TEST_F(Pl011Test, EachWriteRaisesTxInterruptUntilCleared) {
    program(1, 0, true);
    wr(Reg::Imsc, 0x20); // TXIM
    wr(Reg::Dr, 'a');
    EXPECT_EQ(rd(Reg::Ris), 0x20u);
    EXPECT_EQ(rd(Reg::Mis), 0x20u);
    EXPECT_TRUE(uart.irq().level());
    wr(Reg::Icr, 0x20);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    EXPECT_FALSE(uart.irq().level());
    wr(Reg::Dr, 'b');
    EXPECT_EQ(rd(Reg::Ris), 0x20u);
    EXPECT_TRUE(uart.irq().level());
}

TEST_F(Pl011Test, TxFifoFullWhileCtsHoldsData) {
    program(1, 0, true);
    hold_tx();
    EXPECT_EQ(rd(Reg::Fr), 0x090u); // CTS deasserted
    for (int i = 0; i < 15; ++i)
        wr(Reg::Dr, 'a' + i);
    EXPECT_EQ(rd(Reg::Fr), 0x018u); // BUSY | RXFE
    wr(Reg::Dr, 'p');
    EXPECT_EQ(rd(Reg::Fr), 0x038u); // + TXFF at 16
    wr(Reg::Dr, 'q');               // lost
    EXPECT_EQ(tx, "");
    uart.set_cts(true);
    EXPECT_EQ(tx, "abcdefghijklmnop");
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    EXPECT_EQ(rd(Reg::Ris) & 0x20u, 0x20u);
}

TEST_F(Pl011Test, TxHoldingRegisterWithFifosDisabled) {
    program(1, 0, false);
    hold_tx();
    wr(Reg::Dr, 'x');
    EXPECT_EQ(rd(Reg::Fr), 0x038u); // TXFF | BUSY | RXFE: one byte fills it
    EXPECT_EQ(rd(Reg::Ris) & 0x20u, 0u);
    wr(Reg::Dr, 'y');    // lost
    wr(Reg::Cr, 0x0301); // CTSEN off releases it
    EXPECT_EQ(tx, "x");
    EXPECT_EQ(rd(Reg::Ris) & 0x20u, 0x20u); // holding register empty
}

TEST_F(Pl011Test, TxTriggerLevelsFollowIfls) {
    const unsigned level[5] = {2, 4, 8, 12, 14}; // 1/8 .. 7/8 of 16
    for (uint32_t sel = 0; sel < 5; ++sel) {
        SCOPED_TRACE(sel);
        uart.reset();
        tx.clear();
        program(1, 0, true);
        wr(Reg::Ifls, sel);
        wr(Reg::Dr, '!'); // passes through: TXRIS set
        hold_tx();
        wr(Reg::Dr, '!');
        wr(Reg::Icr, 0); // nothing cleared
        ASSERT_EQ(rd(Reg::Ris), 0u);
        // Set TXRIS again by a flush-free path: release and re-hold.
        uart.set_cts(true);
        ASSERT_EQ(rd(Reg::Ris) & 0x20u, 0x20u);
        uart.set_cts(false);
        for (unsigned i = 0; i < level[sel]; ++i)
            wr(Reg::Dr, 'a');
        EXPECT_EQ(rd(Reg::Ris) & 0x20u, 0x20u) << "at the level: still set";
        wr(Reg::Dr, 'a');
        EXPECT_EQ(rd(Reg::Ris) & 0x20u, 0u) << "above the level: cleared by the write";
        uart.set_cts(true);
        EXPECT_EQ(rd(Reg::Ris) & 0x20u, 0x20u) << "drained through the level";
        EXPECT_EQ(tx.size(), 3 + level[sel]);
    }
}

// ---- receive ----

TEST_F(Pl011Test, RxHoldingRegisterWithFifosDisabled) {
    EXPECT_TRUE(uart.push_rx('a'));
    EXPECT_EQ(rd(Reg::Fr), 0x0c1u); // TXFE | RXFF | CTS
    EXPECT_EQ(rd(Reg::Dr), 0x061u);
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
}

TEST_F(Pl011Test, RxFifoHolds16AndOverrunLosesTheNewCharacter) {
    program(1, 0, true);
    wr(Reg::Imsc, 0x400); // OEIM
    for (int i = 0; i < 15; ++i)
        ASSERT_TRUE(uart.push_rx('a' + i));
    EXPECT_EQ(rd(Reg::Fr), 0x081u); // neither RXFE nor RXFF
    ASSERT_TRUE(uart.push_rx('p'));
    EXPECT_EQ(rd(Reg::Fr), 0x0c1u); // RXFF
    EXPECT_FALSE(uart.irq().level());
    EXPECT_FALSE(uart.push_rx('q'));
    EXPECT_EQ(rd(Reg::RsrEcr), 0x8u); // OE
    EXPECT_EQ(rd(Reg::Ris), 0x410u);  // OEIS, and RXRIS (masked) since the 8th
    EXPECT_TRUE(uart.irq().level());
    EXPECT_EQ(rd(Reg::Dr), 0x861u); // 'a' with OE: first read after the overrun
    EXPECT_EQ(rd(Reg::Dr), 0x062u); // 'b' clean
    for (int i = 2; i < 16; ++i)
        EXPECT_EQ(rd(Reg::Dr), uint32_t('a' + i));
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    EXPECT_EQ(rd(Reg::RsrEcr), 0x8u); // sticky until ECR
    wr(Reg::RsrEcr, 0);
    EXPECT_EQ(rd(Reg::RsrEcr), 0u);
    EXPECT_EQ(rd(Reg::Ris), 0x400u); // OEIS stays until ICR
    wr(Reg::Icr, 0x400);
    EXPECT_FALSE(uart.irq().level());
}

TEST_F(Pl011Test, OverrunWithFifosDisabled) {
    ASSERT_TRUE(uart.push_rx('a'));
    EXPECT_FALSE(uart.push_rx('b'));
    EXPECT_EQ(rd(Reg::Ris), 0x410u); // OEIS | RXRIS
    EXPECT_EQ(rd(Reg::Dr), 0x861u);
    EXPECT_EQ(rd(Reg::Dr), 0u); // 'b' was lost
}

TEST_F(Pl011Test, ChangingFenFlushesBothFifos) {
    program(1, 0, true);
    uart.push_rx('a');
    uart.push_rx('b');
    wr(Reg::LcrH, 0x60); // FEN off
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    EXPECT_EQ(rd(Reg::Dr), 0u);
    uart.push_rx('c');
    wr(Reg::LcrH, 0x70); // FEN on
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    wr(Reg::LcrH, 0x72); // FEN unchanged: no flush
    uart.push_rx('d');
    wr(Reg::LcrH, 0x70);
    EXPECT_EQ(rd(Reg::Dr), 0x064u);
}

TEST_F(Pl011Test, RxInterruptWithFifosDisabledFollowsTheHoldingRegister) {
    wr(Reg::Imsc, 0x10); // RXIM
    uart.push_rx('z');
    EXPECT_EQ(rd(Reg::Ris), 0x10u);
    EXPECT_EQ(rd(Reg::Mis), 0x10u);
    EXPECT_TRUE(uart.irq().level());
    EXPECT_EQ(rd(Reg::Dr), 0x7au);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    EXPECT_FALSE(uart.irq().level());
}

TEST_F(Pl011Test, RxTriggerLevelsFollowIfls) {
    const unsigned level[5] = {2, 4, 8, 12, 14};
    for (uint32_t sel = 0; sel < 5; ++sel) {
        SCOPED_TRACE(sel);
        uart.reset();
        program(1, 0, true);
        wr(Reg::Ifls, sel << 3);
        for (unsigned i = 0; i + 1 < level[sel]; ++i)
            uart.push_rx('a');
        EXPECT_EQ(rd(Reg::Ris) & 0x10u, 0u);
        uart.push_rx('a');
        EXPECT_EQ(rd(Reg::Ris) & 0x10u, 0x10u);
        rd(Reg::Dr);
        EXPECT_EQ(rd(Reg::Ris) & 0x10u, 0u) << "read below the level clears it";
    }
}

TEST_F(Pl011Test, RxInterruptClearedByIcrWaitsForTheNextCrossing) {
    program(1, 0, true);
    wr(Reg::Ifls, 0x00); // RX at 2
    uart.push_rx('a');
    uart.push_rx('b');
    ASSERT_EQ(rd(Reg::Ris) & 0x10u, 0x10u);
    wr(Reg::Icr, 0x10);
    uart.push_rx('c'); // still above the level: no new crossing
    EXPECT_EQ(rd(Reg::Ris) & 0x10u, 0u);
    rd(Reg::Dr);
    rd(Reg::Dr);       // one left, below the level
    uart.push_rx('d'); // crosses again
    EXPECT_EQ(rd(Reg::Ris) & 0x10u, 0x10u);
}

TEST_F(Pl011Test, ReceiverDisabledIgnoresTheLine) {
    wr(Reg::Cr, 0x0101); // RXE clear
    EXPECT_FALSE(uart.push_rx('a'));
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    wr(Reg::Cr, 0x0200); // RXE alone is enough: UARTEN is not required
    EXPECT_TRUE(uart.push_rx('b'));
    EXPECT_EQ(rd(Reg::Dr), 0x062u);
}

TEST_F(Pl011Test, BreakIsOneZeroCharacterWithBeAndRsrIsSticky) {
    program(1, 0, true);
    wr(Reg::Imsc, 0x200); // BEIM
    EXPECT_TRUE(uart.push_break());
    EXPECT_EQ(rd(Reg::Ris) & 0x200u, 0x200u);
    EXPECT_TRUE(uart.irq().level());
    EXPECT_EQ(rd(Reg::RsrEcr), 0u); // RSR follows DR reads
    uart.push_rx('a');
    EXPECT_EQ(rd(Reg::Dr), 0x400u);
    EXPECT_EQ(rd(Reg::RsrEcr), 0x4u); // BE
    EXPECT_EQ(rd(Reg::Dr), 0x061u);
    EXPECT_EQ(rd(Reg::RsrEcr), 0x4u); // cleared only by ECR
    uart.write(0x004, 0x1234, 4);
    EXPECT_EQ(rd(Reg::RsrEcr), 0u);
}

// ---- receive timeout ----

TEST_F(Pl011Test, ReceiveTimeoutFires32BitPeriodsAfterTheLastCharacter) {
    program(1, 0, true); // bit period 64 cycles: timeout 2048
    wr(Reg::Imsc, 0x40); // RTIM
    run_to(1000);
    uart.push_rx('a');
    run_to(1000 + 2047);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    EXPECT_FALSE(uart.irq().level());
    run_to(1000 + 2048);
    EXPECT_EQ(rd(Reg::Ris), 0x40u);
    EXPECT_TRUE(uart.irq().level());
    EXPECT_EQ(rd(Reg::Dr), 0x61u);
    EXPECT_EQ(rd(Reg::Ris), 0u) << "emptying the FIFO clears RTRIS";
    EXPECT_FALSE(uart.irq().level());
}

TEST_F(Pl011Test, ReceiveTimeoutRestartsWithEachCharacter) {
    program(1, 0, true);
    uart.push_rx('a');
    run_to(2000);
    uart.push_rx('b');
    run_to(2048);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    run_to(2000 + 2047);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    run_to(2000 + 2048);
    EXPECT_EQ(rd(Reg::Ris), 0x40u);
}

TEST_F(Pl011Test, ReceiveTimeoutNeedsANonEmptyFifo) {
    program(1, 0, true);
    uart.push_rx('a');
    run_to(100);
    rd(Reg::Dr);
    run_to(10'000);
    EXPECT_EQ(rd(Reg::Ris), 0u);
}

TEST_F(Pl011Test, ReceiveTimeoutClearedByIcrStaysClearWithoutNewData) {
    program(1, 0, true);
    uart.push_rx('a');
    run_to(2048);
    ASSERT_EQ(rd(Reg::Ris), 0x40u);
    wr(Reg::Icr, 0x40);
    run_to(100'000);
    EXPECT_EQ(rd(Reg::Ris), 0u);
    uart.push_rx('b');
    run_to(100'000 + 2048);
    EXPECT_EQ(rd(Reg::Ris), 0x40u);
}

TEST_F(Pl011Test, ReceiveTimeoutAt115200BaudOnAPi3Clock) {
    VirtualClock pi3(1'200'000'000);
    Pl011 u("uart0", pi3);
    u.write(0x24, 26, 4); // IBRD: 48 MHz / (16 * 26.046875) = 115176 baud
    u.write(0x28, 3, 4);  // FBRD
    u.write(0x2c, 0x70, 4);
    EXPECT_EQ(u.baud_rate(), 115176u);
    u.push_rx('a');
    // 32 bits * 1667 quarter ticks = 53344 ticks of 192 MHz = 333400 cycles of 1.2 GHz.
    pi3.set_now(333399);
    pi3.run_due();
    EXPECT_EQ(u.read(0x3c, 4), 0u);
    pi3.set_now(333400);
    pi3.run_due();
    EXPECT_EQ(u.read(0x3c, 4), 0x40u);
}

TEST_F(Pl011Test, BaudDivisorTakesEffectOnlyOnAnLcrHWrite) {
    wr(Reg::Ibrd, 1);
    EXPECT_EQ(uart.baud_rate(), 0u);
    uart.push_rx('a'); // unprogrammed: timed at 115200 baud, 1667 cycles a bit
    run_to(32 * 1667 - 1);
    EXPECT_EQ(rd(Reg::Ris) & 0x40u, 0u);
    run_to(32 * 1667);
    EXPECT_EQ(rd(Reg::Ris) & 0x40u, 0x40u);
    rd(Reg::Dr);
    wr(Reg::LcrH, 0x60); // latches IBRD = 1: 3 Mbaud, 64 cycles a bit
    EXPECT_EQ(uart.baud_rate(), 3'000'000u);
    uint64_t t = clock.now();
    uart.push_rx('b');
    run_to(t + 2047);
    EXPECT_EQ(rd(Reg::Ris) & 0x40u, 0u);
    run_to(t + 2048);
    EXPECT_EQ(rd(Reg::Ris) & 0x40u, 0x40u);
}

// ---- loopback and modem lines ----

TEST_F(Pl011Test, LoopbackFeedsTxIntoRxAndStillReachesTheSink) {
    program(1, 0, true);
    wr(Reg::Cr, 0x0381); // RXE | TXE | LBE | UARTEN
    wr(Reg::Dr, 'x');
    EXPECT_EQ(tx, "x");
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0u);
    EXPECT_EQ(rd(Reg::Dr), 0x78u);
    EXPECT_FALSE(uart.push_rx('y')) << "the external line is disconnected in loopback";
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0x10u);
    wr(Reg::Cr, 0x0181); // RXE clear: looped data is not received
    wr(Reg::Dr, 'z');
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0x10u);
    EXPECT_EQ(tx, "xz");
}

TEST_F(Pl011Test, LoopbackBreakReceivesABreakCharacter) {
    program(1, 0, true);
    wr(Reg::Cr, 0x0381);
    wr(Reg::LcrH, 0x71); // BRK
    EXPECT_EQ(rd(Reg::Ris) & 0x200u, 0x200u);
    EXPECT_EQ(rd(Reg::Dr), 0x400u);
}

TEST_F(Pl011Test, LoopbackDrivesModemInputsFromCr) {
    wr(Reg::Cr, 0x0380); // LBE: CTS now follows RTS (clear), a change from the host's CTS
    EXPECT_EQ(rd(Reg::Fr), 0x090u);
    EXPECT_EQ(rd(Reg::Ris), 0x002u); // CTSRMIS
    wr(Reg::Icr, 0x7ff);
    wr(Reg::Cr, 0x0380 | 0x0800); // RTS -> CTS
    EXPECT_EQ(rd(Reg::Fr) & 0x1ffu, 0x091u);
    EXPECT_EQ(rd(Reg::Ris), 0x002u);
    wr(Reg::Cr, 0x0380 | 0x0400); // DTR -> DSR; CTS drops
    EXPECT_EQ(rd(Reg::Fr), 0x092u);
    EXPECT_EQ(rd(Reg::Ris), 0x00au); // DSRRMIS | CTSRMIS
    wr(Reg::Icr, 0x7ff);
    wr(Reg::Cr, 0x0380 | 0x0400 | 0x1000); // Out1 -> DCD
    EXPECT_EQ(rd(Reg::Fr), 0x096u);
    EXPECT_EQ(rd(Reg::Ris), 0x004u); // DCDRMIS
    wr(Reg::Icr, 0x7ff);
    wr(Reg::Cr, 0x0380 | 0x0400 | 0x1000 | 0x2000); // Out2 -> RI
    EXPECT_EQ(rd(Reg::Fr), 0x196u);
    EXPECT_EQ(rd(Reg::Ris), 0x001u); // RIRMIS
}

TEST_F(Pl011Test, CtsChangeRaisesModemInterrupt) {
    wr(Reg::Imsc, 0x002); // CTSMIM
    uart.set_cts(false);
    EXPECT_EQ(rd(Reg::Fr), 0x090u);
    EXPECT_EQ(rd(Reg::Ris), 0x002u);
    EXPECT_TRUE(uart.irq().level());
    wr(Reg::Icr, 0x002);
    EXPECT_FALSE(uart.irq().level());
    uart.set_cts(false); // no change, no interrupt
    EXPECT_EQ(rd(Reg::Ris), 0u);
    uart.set_cts(true);
    EXPECT_EQ(rd(Reg::Fr), 0x091u);
    EXPECT_EQ(rd(Reg::Ris), 0x002u);
}

// ---- interrupt registers ----

TEST_F(Pl011Test, IcrClearsExactlyTheBitsWrittenAsOne) {
    wr(Reg::Dr, 'a');    // TXRIS
    uart.push_rx('a');   // RXRIS (FIFOs off)
    uart.push_rx('b');   // OEIS
    uart.set_cts(false); // CTSRMIS
    ASSERT_EQ(rd(Reg::Ris), 0x432u);
    wr(Reg::Icr, 0);
    EXPECT_EQ(rd(Reg::Ris), 0x432u);
    wr(Reg::Icr, 0x402);
    EXPECT_EQ(rd(Reg::Ris), 0x030u);
    wr(Reg::Icr, 0xfffff810); // bits above 10 mean nothing
    EXPECT_EQ(rd(Reg::Ris), 0x020u);
    wr(Reg::Icr, 0x7ff);
    EXPECT_EQ(rd(Reg::Ris), 0u);
}

TEST_F(Pl011Test, MisIsRisAndImsc) {
    wr(Reg::Dr, 'a');
    uart.push_rx('a');
    uart.set_cts(false);
    ASSERT_EQ(rd(Reg::Ris), 0x032u);
    for (uint32_t mask : {0x000u, 0x002u, 0x010u, 0x020u, 0x7ffu, 0x7cdu}) {
        wr(Reg::Imsc, mask);
        EXPECT_EQ(rd(Reg::Mis), 0x032u & mask) << "IMSC 0x" << std::hex << mask;
        EXPECT_EQ(uart.irq().level(), (0x032u & mask) != 0);
    }
}

TEST_F(Pl011Test, IrqLineChangesOnlyThroughUpdate) {
    ASSERT_TRUE(sink.calls.empty());
    wr(Reg::Imsc, 0x10);
    EXPECT_TRUE(sink.calls.empty());
    uart.push_rx('a');
    ASSERT_EQ(sink.calls.size(), 1u);
    EXPECT_EQ(sink.calls[0], std::make_pair(57u, true));
    wr(Reg::Imsc, 0);
    wr(Reg::Imsc, 0x10);
    rd(Reg::Dr);
    ASSERT_EQ(sink.calls.size(), 4u);
    EXPECT_EQ(sink.calls[1], std::make_pair(57u, false));
    EXPECT_EQ(sink.calls[2], std::make_pair(57u, true));
    EXPECT_EQ(sink.calls[3], std::make_pair(57u, false));
}

// ---- access sizes ----

TEST_F(Pl011Test, ByteAndHalfwordAccesses) {
    uart.write(0x000, 'A', 1); // earlycon's byte write to DR
    EXPECT_EQ(tx, "A");
    uart.write(0x030, 0x0301, 2); // Linux's halfword CR write
    EXPECT_EQ(rd(Reg::Cr), 0x301u);
    uart.write(0x031, 0x02, 1); // upper CR byte: RXE alone, UARTEN kept
    EXPECT_EQ(rd(Reg::Cr), 0x201u);
    uart.write(0x024, 0xabcd, 2);
    uart.write(0x025, 0x12, 1);
    EXPECT_EQ(rd(Reg::Ibrd), 0x12cdu);
    EXPECT_EQ(uart.read(0x024, 1), 0xcdu); // narrow reads return only their lanes
    EXPECT_EQ(uart.read(0x025, 1), 0x12u);
    EXPECT_EQ(uart.read(0x030, 1), 0x01u);
    EXPECT_EQ(uart.read(0x032, 2), 0x0000u);
    EXPECT_EQ(uart.read(0x018, 1), 0x91u);
    EXPECT_EQ(uart.read(0x019, 1), 0x00u);
    EXPECT_EQ(uart.read(0x018, 2), 0x0091u);
    EXPECT_EQ(uart.read(0xff0, 1), 0x0du);
    EXPECT_EQ(uart.read(0xffc, 2), 0xb1u);

    uart.push_break();
    EXPECT_EQ(uart.read(0x001, 1), 0x04u); // DR[15:8] = BE; the read pops
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0x10u);
    uart.push_rx('q');
    EXPECT_EQ(uart.read(0x000, 2), 0x71u);

    uart.push_rx('r');
    EXPECT_EQ(uart.read(0x002, 4), 0u); // misaligned: rejected, no pop
    uart.write(0x031, 0x0, 2);          // misaligned: ignored
    EXPECT_EQ(rd(Reg::Cr), 0x201u);
    EXPECT_EQ(uart.read(0x000, 1), 0x72u);
}

// ---- host input ----

TEST_F(Pl011Test, InputArrivesOneCharacterTimeApart) {
    program(1, 0, true); // 8N1: 10 bits * 64 = 640 cycles a character
    uart.set_input(std::make_unique<UartBytesInput>(std::string_view("ab")));
    run_to(639);
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0x10u);
    run_to(640);
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0u);
    run_to(1279);
    EXPECT_EQ(rd(Reg::Dr), 0x61u);
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0x10u);
    run_to(1280);
    EXPECT_EQ(rd(Reg::Dr), 0x62u);
    EXPECT_FALSE(uart.input_exhausted());
    run_to(1920);
    EXPECT_TRUE(uart.input_exhausted());
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever) << "no polling after EOF";
}

TEST_F(Pl011Test, InputCharacterTimeFollowsTheFrameFormat) {
    wr(Reg::Ibrd, 1);
    wr(Reg::LcrH, 0x1a); // 5 data bits, parity, 2 stop bits, FIFOs: 9 bits = 576 cycles
    uart.set_input(std::make_unique<UartBytesInput>(std::string_view("a")));
    run_to(575);
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0x10u);
    run_to(576);
    EXPECT_EQ(rd(Reg::Dr), 0x61u);
}

TEST_F(Pl011Test, InputWaitsForRoomInsteadOfOverrunning) {
    program(1, 0, false); // holding register only
    uart.set_input(std::make_unique<UartBytesInput>(std::string_view("xyz")));
    run_to(640);
    run_to(5000);
    EXPECT_EQ(rd(Reg::Ris) & 0x400u, 0u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever) << "stalled, not polling";
    EXPECT_EQ(rd(Reg::Dr), 0x78u); // read at 5000: the next character is 640 later
    run_to(5639);
    EXPECT_EQ(rd(Reg::Fr) & 0x10u, 0x10u);
    run_to(5640);
    EXPECT_EQ(rd(Reg::Dr), 0x79u);
}

TEST_F(Pl011Test, InputWaitsWhileTheReceiverIsDisabled) {
    program(1, 0, true);
    wr(Reg::Cr, 0x0101); // RXE clear
    uart.set_input(std::make_unique<UartBytesInput>(std::string_view("k")));
    run_to(10'000);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
    wr(Reg::Cr, 0x0301);
    run_to(10'640);
    EXPECT_EQ(rd(Reg::Dr), 0x6bu);
}

TEST_F(Pl011Test, InputWithNothingNowIsAskedAgainLater) {
    program(1, 0, true);
    auto src = std::make_unique<ScriptedInput>(std::vector<int>{UartInput::kNone, 'n'});
    ScriptedInput* raw = src.get();
    uart.set_input(std::move(src));
    run_to(640);
    EXPECT_EQ(raw->asked, 1u);
    run_to(640 + 16 * 640 - 1);
    EXPECT_EQ(raw->asked, 1u);
    run_to(640 + 16 * 640);
    EXPECT_EQ(raw->asked, 2u);
    EXPECT_EQ(rd(Reg::Dr), 0x6eu);
}

TEST_F(Pl011Test, FdInputReadsAPipeUntilEof) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(::write(fds[1], "hi", 2), 2);
    close(fds[1]);
    auto in = UartFdInput::for_fd(fds[0]);
    EXPECT_EQ(in->mode(), UartFdInput::Mode::Blocking);
    EXPECT_EQ(in->next_byte(), 'h');
    EXPECT_EQ(in->next_byte(), 'i');
    EXPECT_EQ(in->next_byte(), UartInput::kEof);
    EXPECT_EQ(in->next_byte(), UartInput::kEof);
    close(fds[0]);
}

TEST_F(Pl011Test, FdInputPollingNeverWaits) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    UartFdInput in(fds[0], UartFdInput::Mode::Polling);
    EXPECT_EQ(in.next_byte(), UartInput::kNone);
    ASSERT_EQ(::write(fds[1], "k", 1), 1);
    EXPECT_EQ(in.next_byte(), 'k');
    EXPECT_EQ(in.next_byte(), UartInput::kNone);
    close(fds[1]);
    EXPECT_EQ(in.next_byte(), UartInput::kEof);
    close(fds[0]);
}

} // namespace
