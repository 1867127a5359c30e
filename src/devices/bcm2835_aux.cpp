// BCM2835 auxiliary peripherals (mini UART). See bcm2835_aux.hpp for the sources and
// what is not modelled.
//
// Modelling choices, with their evidence:
//
//  - AUX_ENABLES bit 0 gates the mini UART as the datasheet says (2.1.1: "If the enable
//    bits are clear you will have no access to a peripheral. You can not even read or
//    write the registers"): with it clear, 0x40-0x7f read as zero, writes are ignored
//    (logged), nothing is received and the interrupt is low. It resets to 0. QEMU
//    instead reads AUX_ENABLES as 1 always; on a Pi the firmware (enable_uart=1) sets
//    it, and Linux's clk-bcm2835-aux sets it when the uart1 clock is enabled.
//  - IER: bit 0 enables the RX interrupt and bit 1 the TX interrupt, the 16550 order
//    (serial_reg.h: UART_IER_RDI 0x01, UART_IER_THRI 0x02) that Linux's 8250 driver
//    writes and later QEMU versions use (IER_RX_IRQ_ENABLE 0x1, IER_TX_IRQ_ENABLE 0x2).
//    The datasheet's table has them the other way round, a known erratum. Bits 3:2 are
//    stored without effect: reports that silicon needs them set for RX interrupts are
//    not modelled, as neither QEMU nor Linux's driver depends on them.
//  - Both interrupts are levels (2.2.2, AUX_MU_IER: asserted "whenever the transmit
//    FIFO is empty" / "whenever the receive FIFO holds at least 1 byte"); update()
//    recomputes the line from FIFO levels and IER after every change. IIR reports the
//    RX interrupt first when both are pending, as a 16550 and QEMU do.
//  - IIR writes clear the RX FIFO (bit 1) and the TX FIFO (bit 2), the 16550 FCR bits;
//    the other bits of a 16550 FCR have no function here.
//  - DLAB (LCR bit 7) redirects AUX_MU_IO to BAUD[7:0] and AUX_MU_IER to BAUD[15:8],
//    both ways, as the 8250 driver's DLL/DLM accesses expect.
//  - Transmission is instantaneous while CNTL bit 1 enables the transmitter (as pl011.cpp
//    does for its TX); with it clear bytes wait in the TX FIFO (2.2.2 CNTL: "no new
//    symbols will be sent by the transmitter") and leave when it is set again. The
//    transmitter itself is never busy: STAT "transmitter is idle" reads 1 and
//    "transmitter done" / LSR "transmitter idle" follow the TX FIFO being empty.
//  - A byte written with the TX FIFO full is lost (logged); a byte arriving with the RX
//    FIFO full is lost and sets the overrun flag, which a LSR read clears and STAT bit 4
//    reads without clearing (2.2.2).
//  - Reception needs AUX_ENABLES bit 0 and CNTL bit 0 ("If this bit is clear no new
//    symbols will be accepted by the receiver"). Host input is paced in virtual time:
//    one byte per character time (start + 7 or 8 data + stop bits at the programmed
//    baud rate) while the receiver can store it, never by host timing. BAUD resets to 0,
//    which on silicon means core clock / 8 (31.25 Mbaud); that rate is used as is.
//  - Reading AUX_MU_IO with the RX FIFO empty returns 0 and changes nothing.
//  - MSR reads CTS asserted (bit 5, the datasheet table's position; a 16550 has CTS in
//    bit 4): the host link is always clear to send. STAT's CTS line (bit 7) reads 1
//    and its RTS status (bit 6) follows MCR bit 1.
//  - Sub-word accesses act on the containing register, as in pl011.cpp: Linux's 8250
//    driver makes byte accesses (UPIO_MEM, regshift 2), so a byte read of AUX_MU_IO pops
//    the FIFO and a narrow write merges into the register's current value (zero for
//    AUX_MU_IO and AUX_MU_IIR, whose writes act).
#include "devices/bcm2835_aux.hpp"

#include <cassert>

namespace piemu {

namespace {

using Reg = Bcm2835Aux::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

// AUX_IRQ and AUX_ENABLES.
constexpr uint32_t kAuxMiniUart = 1u << 0;
constexpr uint32_t kAuxSpiMask = 0x6; // SPI1, SPI2
constexpr uint32_t kEnablesMask = 0x7;
// AUX_MU_IER.
constexpr uint32_t kIerRx = 1u << 0;
constexpr uint32_t kIerTx = 1u << 1;
constexpr uint32_t kIerMask = 0xf;
// AUX_MU_IIR: read.
constexpr uint32_t kIirFifosOn = 0xc0;
constexpr uint32_t kIirNoInt = 1u << 0;
constexpr uint32_t kIirIdTx = 1u << 1; // 01: transmit holding register empty
constexpr uint32_t kIirIdRx = 2u << 1; // 10: receiver holds a valid byte
// AUX_MU_IIR: write.
constexpr uint32_t kIirClearRx = 1u << 1;
constexpr uint32_t kIirClearTx = 1u << 2;
// AUX_MU_LCR.
constexpr uint32_t kLcr8Bit = 1u << 0;
constexpr uint32_t kLcrBreak = 1u << 6;
constexpr uint32_t kLcrDlab = 1u << 7;
constexpr uint32_t kLcrMask = 0xc3;
// AUX_MU_MCR.
constexpr uint32_t kMcrRts = 1u << 1;
constexpr uint32_t kMcrMask = kMcrRts;
// AUX_MU_LSR.
constexpr uint32_t kLsrDataReady = 1u << 0;
constexpr uint32_t kLsrOverrun = 1u << 1;
constexpr uint32_t kLsrTxEmpty = 1u << 5; // the TX FIFO can accept a byte
constexpr uint32_t kLsrTxIdle = 1u << 6;  // the TX FIFO is empty, the transmitter idle
// AUX_MU_MSR.
constexpr uint32_t kMsrCts = 1u << 5;
// AUX_MU_CNTL.
constexpr uint32_t kCntlRxEnable = 1u << 0;
constexpr uint32_t kCntlTxEnable = 1u << 1;
constexpr uint32_t kCntlFlowMask = 0xfc; // auto flow control and assert levels
constexpr uint32_t kCntlReset = kCntlRxEnable | kCntlTxEnable;
// AUX_MU_STAT.
constexpr uint32_t kStatSymbolAvailable = 1u << 0;
constexpr uint32_t kStatSpaceAvailable = 1u << 1;
constexpr uint32_t kStatRxIdle = 1u << 2;
constexpr uint32_t kStatTxIdle = 1u << 3;
constexpr uint32_t kStatRxOverrun = 1u << 4;
constexpr uint32_t kStatTxFull = 1u << 5;
constexpr uint32_t kStatRts = 1u << 6;
constexpr uint32_t kStatCts = 1u << 7;
constexpr uint32_t kStatTxEmpty = 1u << 8;
constexpr uint32_t kStatTxDone = 1u << 9;
constexpr unsigned kStatRxLevelShift = 16;
constexpr unsigned kStatTxLevelShift = 24;

constexpr uint32_t kBaudMask = 0xffff;
// A source with nothing to give is asked again after this many character times.
constexpr uint64_t kIdlePollChars = 16;

constexpr bool is_mini_uart(uint32_t offset) {
    return offset >= off(Reg::MuIo) && offset <= off(Reg::MuBaud);
}

constexpr bool is_spi(uint32_t offset) {
    return offset >= 0x80;
}

} // namespace

Bcm2835Aux::Bcm2835Aux(std::string name, VirtualClock& clock, uint64_t core_clock_hz)
    : Device(std::move(name)), clock_(clock), core_clock_hz_(core_clock_hz),
      input_timer_(clock, this->name() + ".rx-input", [this] { poll_input(); }) {
    assert(core_clock_hz_ > 0);
    Bcm2835Aux::reset();
}

void Bcm2835Aux::reset() {
    input_timer_.cancel();
    enables_ = 0;
    ier_ = 0;
    lcr_ = 0;
    mcr_ = 0;
    scratch_ = 0;
    cntl_ = kCntlReset;
    baud_ = 0;
    rx_head_ = rx_count_ = 0;
    tx_head_ = tx_count_ = 0;
    overrun_ = false;
    update();
}

// ---- MMIO ----

uint32_t Bcm2835Aux::read(uint32_t offset, unsigned size) {
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Aux::write(uint32_t offset, uint32_t value, unsigned size) {
    write_register_lane(
        *this, offset, value, size, kMmioSize,
        [this](uint32_t aligned) { return merge_base(aligned); },
        [this](uint32_t aligned, uint32_t v) { write_reg(aligned, v); });
}

uint32_t Bcm2835Aux::read_reg(uint32_t offset) {
    if (is_spi(offset)) {
        log_unimplemented(*this, offset, "SPI1/SPI2 registers");
        return 0;
    }
    if (is_mini_uart(offset) && !uart_enabled()) {
        log_guest_error(*this, offset, "mini UART read with AUX_ENABLES bit 0 clear");
        return 0;
    }
    switch (static_cast<Reg>(offset)) {
    case Reg::Irq:
        return irq_pending() ? kAuxMiniUart : 0;
    case Reg::Enables:
        return enables_;
    case Reg::MuIo: {
        if (dlab())
            return baud_ & 0xff;
        uint32_t v = pop_rx();
        update();
        return v;
    }
    case Reg::MuIer:
        return dlab() ? (baud_ >> 8) & 0xff : ier_;
    case Reg::MuIir:
        return iir();
    case Reg::MuLcr:
        return lcr_;
    case Reg::MuMcr:
        return mcr_;
    case Reg::MuLsr: {
        uint32_t v = lsr();
        overrun_ = false; // "cleared each time this register is read"
        return v;
    }
    case Reg::MuMsr:
        return kMsrCts;
    case Reg::MuScratch:
        return scratch_;
    case Reg::MuCntl:
        return cntl_;
    case Reg::MuStat:
        return stat();
    case Reg::MuBaud:
        return baud_;
    default:
        log_guest_error(*this, offset, "read of unknown register");
        return 0;
    }
}

void Bcm2835Aux::write_reg(uint32_t offset, uint32_t value) {
    if (is_spi(offset)) {
        log_unimplemented(*this, offset, "SPI1/SPI2 registers");
        return;
    }
    if (is_mini_uart(offset) && !uart_enabled()) {
        log_guest_error(*this, offset, "mini UART write with AUX_ENABLES bit 0 clear ignored");
        return;
    }
    switch (static_cast<Reg>(offset)) {
    case Reg::Enables:
        enables_ = value & kEnablesMask;
        if (enables_ & kAuxSpiMask)
            log_unimplemented(*this, offset, "SPI1/SPI2");
        drain_tx(); // bytes queued before a disable may leave now
        break;
    case Reg::MuIo:
        if (dlab())
            baud_ = (baud_ & 0xff00) | (value & 0xff);
        else
            write_io(static_cast<uint8_t>(value));
        break;
    case Reg::MuIer:
        if (dlab())
            baud_ = (baud_ & 0x00ff) | ((value & 0xff) << 8);
        else
            ier_ = value & kIerMask;
        break;
    case Reg::MuIir:
        write_iir(value);
        break;
    case Reg::MuLcr:
        lcr_ = value & kLcrMask;
        if (lcr_ & kLcrBreak)
            log_unimplemented(*this, offset, "break");
        break;
    case Reg::MuMcr:
        mcr_ = value & kMcrMask;
        break;
    case Reg::MuScratch:
        scratch_ = value & 0xff;
        break;
    case Reg::MuCntl:
        cntl_ = value & 0xff;
        if (cntl_ & kCntlFlowMask)
            log_unimplemented(*this, offset, "auto flow control (stored only)");
        drain_tx(); // the transmitter may have been enabled
        break;
    case Reg::MuBaud:
        baud_ = value & kBaudMask;
        break;
    case Reg::Irq:
    case Reg::MuLsr:
    case Reg::MuMsr:
    case Reg::MuStat:
        log_guest_error(*this, offset, "write to read-only register ignored");
        return;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        return;
    }
    update();
}

uint32_t Bcm2835Aux::merge_base(uint32_t offset) const {
    switch (static_cast<Reg>(offset)) {
    case Reg::Enables:
        return enables_;
    case Reg::MuIo:
        return dlab() ? baud_ & 0xff : 0;
    case Reg::MuIer:
        return dlab() ? (baud_ >> 8) & 0xff : ier_;
    case Reg::MuLcr:
        return lcr_;
    case Reg::MuMcr:
        return mcr_;
    case Reg::MuScratch:
        return scratch_;
    case Reg::MuCntl:
        return cntl_;
    case Reg::MuBaud:
        return baud_;
    default:
        return 0; // IO data and IIR act on the written bits only; the rest ignore writes
    }
}

// Drives the AUX interrupt from AUX_IRQ and lets the host input deliver if the receiver
// can take a character. Ends every state change.
void Bcm2835Aux::update() {
    irq_.set(irq_pending());
    kick_input();
}

// ---- state ----

bool Bcm2835Aux::uart_enabled() const {
    return (enables_ & kAuxMiniUart) != 0;
}

bool Bcm2835Aux::dlab() const {
    return (lcr_ & kLcrDlab) != 0;
}

bool Bcm2835Aux::irq_pending() const {
    if (!uart_enabled())
        return false;
    return ((ier_ & kIerRx) && rx_count_ != 0) || ((ier_ & kIerTx) && tx_count_ == 0);
}

uint32_t Bcm2835Aux::iir() const {
    if ((ier_ & kIerRx) && rx_count_ != 0)
        return kIirFifosOn | kIirIdRx;
    if ((ier_ & kIerTx) && tx_count_ == 0)
        return kIirFifosOn | kIirIdTx;
    return kIirFifosOn | kIirNoInt;
}

uint32_t Bcm2835Aux::lsr() const {
    uint32_t v = 0;
    if (rx_count_ != 0)
        v |= kLsrDataReady;
    if (overrun_)
        v |= kLsrOverrun;
    if (tx_count_ < kFifoDepth)
        v |= kLsrTxEmpty;
    if (tx_count_ == 0)
        v |= kLsrTxIdle;
    return v;
}

uint32_t Bcm2835Aux::stat() const {
    uint32_t v = kStatRxIdle | kStatTxIdle | kStatCts;
    if (rx_count_ != 0)
        v |= kStatSymbolAvailable;
    if (tx_count_ < kFifoDepth)
        v |= kStatSpaceAvailable;
    if (overrun_)
        v |= kStatRxOverrun;
    if (tx_count_ == kFifoDepth)
        v |= kStatTxFull;
    if (mcr_ & kMcrRts)
        v |= kStatRts;
    if (tx_count_ == 0)
        v |= kStatTxEmpty | kStatTxDone;
    v |= rx_count_ << kStatRxLevelShift;
    v |= tx_count_ << kStatTxLevelShift;
    return v;
}

// ---- FIFOs ----

uint8_t Bcm2835Aux::pop_rx() {
    if (rx_count_ == 0)
        return 0;
    uint8_t byte = rx_fifo_[rx_head_];
    rx_head_ = (rx_head_ + 1) % kFifoDepth;
    --rx_count_;
    return byte;
}

void Bcm2835Aux::write_io(uint8_t byte) {
    if (tx_count_ >= kFifoDepth) {
        log_guest_error(*this, off(Reg::MuIo), "AUX_MU_IO written with the TX FIFO full: lost");
        return;
    }
    tx_fifo_[(tx_head_ + tx_count_) % kFifoDepth] = byte;
    ++tx_count_;
    drain_tx();
}

void Bcm2835Aux::write_iir(uint32_t value) {
    if (value & kIirClearRx)
        rx_head_ = rx_count_ = 0;
    if (value & kIirClearTx)
        tx_head_ = tx_count_ = 0;
}

bool Bcm2835Aux::rx_accepting() const {
    return uart_enabled() && (cntl_ & kCntlRxEnable);
}

// Stores one received character, or records an overrun.
bool Bcm2835Aux::receive(uint8_t byte) {
    if (rx_count_ >= kFifoDepth) {
        overrun_ = true;
        return false;
    }
    rx_fifo_[(rx_head_ + rx_count_) % kFifoDepth] = byte;
    ++rx_count_;
    return true;
}

// Sends everything in the TX FIFO while the transmitter runs: at once, see above.
void Bcm2835Aux::drain_tx() {
    if (!uart_enabled() || !(cntl_ & kCntlTxEnable))
        return;
    while (tx_count_ != 0) {
        uint8_t byte = tx_fifo_[tx_head_];
        tx_head_ = (tx_head_ + 1) % kFifoDepth;
        --tx_count_;
        if (tx_sink_)
            tx_sink_(byte);
    }
}

bool Bcm2835Aux::push_rx(uint8_t byte) {
    bool stored = rx_accepting() && receive(byte);
    update();
    return stored;
}

// ---- timing ----

uint32_t Bcm2835Aux::baud_rate() const {
    return static_cast<uint32_t>(core_clock_hz_ / (8 * (uint64_t(baud_) + 1)));
}

// One start bit, 7 or 8 data bits, one stop bit; each bit is 8 * (BAUD + 1) core clocks.
uint64_t Bcm2835Aux::char_time_cycles() const {
    uint64_t bits = 1 + ((lcr_ & kLcr8Bit) ? 8 : 7) + 1;
    return clock_.ticks_to_cycles(bits * 8 * (uint64_t(baud_) + 1), core_clock_hz_);
}

// ---- host input ----

void Bcm2835Aux::set_input(std::unique_ptr<UartInput> input) {
    input_timer_.cancel();
    input_ = std::move(input);
    input_eof_ = false;
    update();
}

// Arms the input timer one character time ahead when a source may deliver.
void Bcm2835Aux::kick_input() {
    if (!input_ || input_eof_ || input_timer_.armed())
        return;
    if (!rx_accepting() || rx_count_ >= kFifoDepth)
        return; // resumed by the update() after the guest reads or re-enables
    input_timer_.arm_in(char_time_cycles());
}

// Timer callback. The next character follows this one a character time after it was
// due, not after the run loop fired the timer, so back-to-back input keeps the line rate.
void Bcm2835Aux::poll_input() {
    if (!input_ || input_eof_)
        return;
    uint64_t due = input_timer_.expiry();
    if (rx_accepting() && rx_count_ < kFifoDepth) {
        int b = input_->next_byte();
        if (b == UartInput::kEof) {
            input_eof_ = true;
        } else if (b < 0) {
            input_timer_.arm_at(due + kIdlePollChars * char_time_cycles());
        } else {
            receive(static_cast<uint8_t>(b));
            if (rx_count_ < kFifoDepth)
                input_timer_.arm_at(due + char_time_cycles());
        }
    }
    update();
}

} // namespace piemu
