// ARM PrimeCell UART (PL011). See pl011.hpp for the sources and what is not modelled.
//
// Modelling choices, with their evidence:
//
//  - Transmission ignores CR.UARTEN and CR.TXE: a byte written to DR is sent even with
//    the UART disabled (and logged once as a guest error). The TRM says both must be set,
//    but QEMU deliberately sends anyway: "we have deliberately not emulated the hardware
//    behaviour of discarding data when the UART isn't initialized" (Peter Maydell,
//    linux-serial, Feb 2026), because bare-metal code written against QEMU never enables
//    the PL011, and Linux's pl011 earlycon relies on firmware having enabled it (that
//    thread's patch is what changes this). piemu runs no firmware, so UARTEN is clear
//    at reset where on a Pi the firmware would have set it.
//    Reception likewise needs CR.RXE (set at reset) but not UARTEN.
//  - TX interrupt: the TRM raises TXINTR when the TX FIFO level passes through the
//    trigger level (IFLS), or, FIFOs off, when the holding register empties; it is
//    cleared by ICR or by writing above the level. The modelled drain is instantaneous,
//    so every byte that leaves the FIFO leaving it at or below the level sets TXRIS:
//    one TX interrupt per write, as QEMU does. Without that, a FIFO that never fills
//    would never raise one and interrupt-driven TX would stall.
//  - RX interrupt: set when the RX FIFO level rises to the trigger (1 with FIFOs off),
//    cleared by ICR or by reads taking it below. QEMU ignores IFLS (trigger always 1)
//    because it has no receive timeout; piemu models the timeout, so the leftovers
//    below the level reach the guest through RTINTR as on hardware.
//  - Receive timeout: 32 bit periods after the last character stored, if the FIFO is
//    still non-empty (TRM, UARTRTINTR). Cleared by ICR or by emptying the FIFO.
//  - IBRD, FBRD and LCR_H form one register updated by the LCR_H write (TRM 3.3.6), so
//    timing uses the divisor latched then. Until a valid divisor (IBRD >= 1) is latched,
//    timing uses 115200 baud, the Pi firmware's setting, so input still flows to guests
//    that never program the UART.
//  - Overrun (TRM, UARTDR/UARTRSR): a character arriving at a full FIFO is lost, RSR.OE
//    and OEIS are set, and the next DR read reports OE (the flag clears once the FIFO
//    has room). FE/PE/BE travel with their character and are ORed into RSR when it is
//    read from DR; RSR clears only on an ECR write.
//  - Changing LCR_H.FEN flushes both FIFOs, as QEMU does (the TRM's CR programming
//    sequence flushes the TX FIFO this way).
//  - Loopback (CR.LBE): transmitted bytes enter the RX path (if RXE) and still reach the
//    TX sink, as in QEMU (so QEMU differential runs see the same output); the external
//    RX line is ignored; CTS, DSR, DCD and RI follow RTS, DTR, Out1 and Out2 (TRM).
//    Setting LCR_H.BRK in loopback receives one break character, as in QEMU.
//  - Host input is paced in virtual time: one byte per character time (frame bits at
//    the latched baud rate) while the receiver can store it, never by host timing. A
//    source answering kNone is asked again after kIdlePollChars character times.
//  - Sub-word accesses act on the containing register (APB has no byte lanes for
//    reads): a byte or halfword read of DR pops the FIFO; a narrow write is merged
//    into the register's current value (zero for DR, ECR and ICR). Linux's driver uses
//    halfword accesses and its earlycon byte writes to DR.
#include "devices/pl011.hpp"

#include <cassert>

namespace piemu {

namespace {

using Reg = Pl011::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

// UARTDR read, bits above the data byte.
constexpr uint16_t kDrFe = 1u << 8;
constexpr uint16_t kDrPe = 1u << 9;
constexpr uint16_t kDrBe = 1u << 10;
constexpr uint16_t kDrOe = 1u << 11;
// UARTRSR.
constexpr uint32_t kRsrOe = 1u << 3;
constexpr uint32_t kRsrErrors = 0x7; // FE PE BE, i.e. DR[10:8] >> 8
// UARTFR.
constexpr uint32_t kFrCts = 1u << 0;
constexpr uint32_t kFrDsr = 1u << 1;
constexpr uint32_t kFrDcd = 1u << 2;
constexpr uint32_t kFrBusy = 1u << 3;
constexpr uint32_t kFrRxfe = 1u << 4;
constexpr uint32_t kFrTxff = 1u << 5;
constexpr uint32_t kFrRxff = 1u << 6;
constexpr uint32_t kFrTxfe = 1u << 7;
constexpr uint32_t kFrRi = 1u << 8;
// UARTLCR_H.
constexpr uint32_t kLcrBrk = 1u << 0;
constexpr uint32_t kLcrPen = 1u << 1;
constexpr uint32_t kLcrStp2 = 1u << 3;
constexpr uint32_t kLcrFen = 1u << 4;
constexpr unsigned kLcrWlenShift = 5;
// UARTCR. Bits 6:3 are reserved.
constexpr uint32_t kCrUarten = 1u << 0;
constexpr uint32_t kCrSiren = 1u << 1;
constexpr uint32_t kCrLbe = 1u << 7;
constexpr uint32_t kCrTxe = 1u << 8;
constexpr uint32_t kCrRxe = 1u << 9;
constexpr uint32_t kCrDtr = 1u << 10;
constexpr uint32_t kCrRts = 1u << 11;
constexpr uint32_t kCrOut1 = 1u << 12;
constexpr uint32_t kCrOut2 = 1u << 13;
constexpr uint32_t kCrCtsen = 1u << 15;
constexpr uint32_t kCrMask = 0xff87;
// Interrupt bits: IMSC, RIS, MIS, ICR.
constexpr uint32_t kIntRi = 1u << 0;
constexpr uint32_t kIntCts = 1u << 1;
constexpr uint32_t kIntDcd = 1u << 2;
constexpr uint32_t kIntDsr = 1u << 3;
constexpr uint32_t kIntRx = 1u << 4;
constexpr uint32_t kIntTx = 1u << 5;
constexpr uint32_t kIntRt = 1u << 6;
constexpr uint32_t kIntFe = 1u << 7;
constexpr uint32_t kIntPe = 1u << 8;
constexpr uint32_t kIntBe = 1u << 9;
constexpr uint32_t kIntOe = 1u << 10;
constexpr uint32_t kIntMask = 0x7ff;

// Reset values, TRM table 3-1.
constexpr uint32_t kCrReset = kCrRxe | kCrTxe; // 0x0300
constexpr uint32_t kIflsReset = 0x12;          // both triggers at 1/2

constexpr unsigned kFifoSlots = 32; // ring size: the largest depth supported
constexpr uint8_t kPCellId[4] = {0x0d, 0xf0, 0x05, 0xb1};
// The receive timeout, in bit periods (TRM, UARTRTINTR).
constexpr uint64_t kTimeoutBits = 32;
// A source with nothing to give is asked again after this many character times.
constexpr uint64_t kIdlePollChars = 16;
// Baud rate assumed until the guest latches a valid divisor: the Pi firmware's.
constexpr uint64_t kDefaultBaud = 115200;

// IFLS fields 0-4 select 1/8, 1/4, 1/2, 3/4, 7/8 of the FIFO; 5-7 are reserved.
constexpr unsigned kLevelEighths[5] = {1, 2, 4, 6, 7};

unsigned level_eighths(uint32_t field) {
    return field < 5 ? kLevelEighths[field] : 4;
}

} // namespace

Pl011::Pl011(std::string name, VirtualClock& clock, Pl011Config config)
    : Device(std::move(name)), clock_(clock), config_(config),
      rt_timer_(clock, this->name() + ".rx-timeout", [this] { receive_timeout(); }),
      input_timer_(clock, this->name() + ".rx-input", [this] { poll_input(); }) {
    assert(config_.fifo_depth >= 1 && config_.fifo_depth <= kFifoSlots);
    assert(config_.uartclk_hz > 0);
    Pl011::reset();
}

void Pl011::reset() {
    rt_timer_.cancel();
    input_timer_.cancel();
    rsr_ = 0;
    ilpr_ = 0;
    ibrd_ = 0;
    fbrd_ = 0;
    lcr_h_ = 0;
    cr_ = kCrReset;
    ifls_ = kIflsReset;
    imsc_ = 0;
    ris_ = 0;
    dmacr_ = 0;
    baud_divisor_ = 0;
    frame_lcr_h_ = 0;
    rx_head_ = rx_count_ = 0;
    tx_head_ = tx_count_ = 0;
    overrun_ = false;
    rx_at_level_ = false; // empty FIFO: below any RX trigger
    tx_at_level_ = true;  // empty FIFO: at or below any TX trigger, TXRIS still 0
    modem_ = modem_inputs();
    update();
}

// ---- MMIO ----

uint32_t Pl011::read(uint32_t offset, unsigned size) {
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Pl011::write(uint32_t offset, uint32_t value, unsigned size) {
    write_register_lane(
        *this, offset, value, size, kMmioSize,
        [this](uint32_t aligned) { return merge_base(aligned); },
        [this](uint32_t aligned, uint32_t v) { write_reg(aligned, v); });
}

uint32_t Pl011::read_reg(uint32_t offset) {
    if (offset >= off(Reg::PeriphId0) && offset < off(Reg::PCellId0))
        return (config_.periph_id >> ((offset - off(Reg::PeriphId0)) * 2)) & 0xff;
    if (offset >= off(Reg::PCellId0))
        return kPCellId[(offset - off(Reg::PCellId0)) / 4];
    switch (static_cast<Reg>(offset)) {
    case Reg::Dr: {
        uint32_t v = read_dr();
        update();
        return v;
    }
    case Reg::RsrEcr:
        return rsr_;
    case Reg::Fr:
        return flags();
    case Reg::Ilpr:
        return ilpr_;
    case Reg::Ibrd:
        return ibrd_;
    case Reg::Fbrd:
        return fbrd_;
    case Reg::LcrH:
        return lcr_h_;
    case Reg::Cr:
        return cr_;
    case Reg::Ifls:
        return ifls_;
    case Reg::Imsc:
        return imsc_;
    case Reg::Ris:
        return ris_;
    case Reg::Mis:
        return ris_ & imsc_;
    case Reg::Dmacr:
        return dmacr_;
    case Reg::Icr:
        log_guest_error(*this, offset, "read of write-only ICR");
        return 0;
    case Reg::Itcr:
    case Reg::Itip:
    case Reg::Itop:
    case Reg::Tdr:
        log_unimplemented(*this, offset, "integration test registers");
        return 0;
    default:
        log_guest_error(*this, offset, "read of unknown register");
        return 0;
    }
}

void Pl011::write_reg(uint32_t offset, uint32_t value) {
    if (offset >= off(Reg::PeriphId0)) {
        log_guest_error(*this, offset, "write to read-only ID register");
        return;
    }
    switch (static_cast<Reg>(offset)) {
    case Reg::Dr:
        write_dr(static_cast<uint8_t>(value));
        break;
    case Reg::RsrEcr:
        rsr_ = 0;
        break;
    case Reg::Ilpr:
        ilpr_ = value & 0xff;
        break;
    case Reg::Ibrd:
        ibrd_ = value & 0xffff;
        break;
    case Reg::Fbrd:
        fbrd_ = value & 0x3f;
        break;
    case Reg::LcrH:
        write_lcr_h(value & 0xff);
        break;
    case Reg::Cr:
        write_cr(value & kCrMask);
        break;
    case Reg::Ifls:
        ifls_ = value & 0x3f;
        if ((ifls_ & 7) > 4 || (ifls_ >> 3) > 4)
            log_guest_error(*this, offset, "reserved IFLS level (treated as 1/2)");
        break;
    case Reg::Imsc:
        imsc_ = value & kIntMask;
        break;
    case Reg::Icr:
        ris_ &= ~(value & kIntMask);
        break;
    case Reg::Dmacr:
        dmacr_ = value & 0x7;
        if (dmacr_ & 0x3)
            log_unimplemented(*this, offset, "DMA");
        break;
    case Reg::Fr:
    case Reg::Ris:
    case Reg::Mis:
        log_guest_error(*this, offset, "write to read-only register");
        return;
    case Reg::Itcr:
    case Reg::Itip:
    case Reg::Itop:
    case Reg::Tdr:
        log_unimplemented(*this, offset, "integration test registers");
        return;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        return;
    }
    update();
}

uint32_t Pl011::merge_base(uint32_t offset) const {
    switch (static_cast<Reg>(offset)) {
    case Reg::Ilpr:
        return ilpr_;
    case Reg::Ibrd:
        return ibrd_;
    case Reg::Fbrd:
        return fbrd_;
    case Reg::LcrH:
        return lcr_h_;
    case Reg::Cr:
        return cr_;
    case Reg::Ifls:
        return ifls_;
    case Reg::Imsc:
        return imsc_;
    case Reg::Dmacr:
        return dmacr_;
    default:
        return 0; // DR, ECR, ICR act on the written bits only; the rest ignore writes
    }
}

// Recomputes the level-derived interrupt bits and the IRQ line, and lets the host
// input deliver if the receiver can take a character. Ends every state change.
void Pl011::update() {
    bool rx_level = rx_count_ >= rx_trigger();
    if (rx_level && !rx_at_level_)
        ris_ |= kIntRx;
    if (!rx_level)
        ris_ &= ~kIntRx;
    rx_at_level_ = rx_level;

    bool tx_level = tx_count_ <= tx_trigger();
    if (tx_level && !tx_at_level_)
        ris_ |= kIntTx;
    if (!tx_level)
        ris_ &= ~kIntTx;
    tx_at_level_ = tx_level;

    if (rx_count_ == 0) {
        ris_ &= ~kIntRt;
        rt_timer_.cancel();
    }
    irq_.set((ris_ & imsc_) != 0);
    kick_input();
}

// ---- registers with side effects ----

uint32_t Pl011::read_dr() {
    if (rx_count_ == 0)
        return 0; // the TRM leaves an empty read undefined; reading is harmless
    uint32_t entry = rx_fifo_[rx_head_];
    rx_head_ = (rx_head_ + 1) % kFifoSlots;
    --rx_count_;
    if (overrun_) {
        entry |= kDrOe;
        overrun_ = false; // the FIFO has room again
    }
    rsr_ |= (entry >> 8) & kRsrErrors;
    return entry;
}

void Pl011::write_dr(uint8_t byte) {
    if (tx_count_ >= depth()) {
        log_guest_error(*this, off(Reg::Dr), "DR written with the TX FIFO full: byte lost");
        return;
    }
    tx_fifo_[(tx_head_ + tx_count_) % kFifoSlots] = byte;
    ++tx_count_;
    drain_tx();
}

void Pl011::write_lcr_h(uint32_t value) {
    bool fen_changed = ((lcr_h_ ^ value) & kLcrFen) != 0;
    bool break_started = (value & kLcrBrk) && !(lcr_h_ & kLcrBrk);
    lcr_h_ = value;
    // The write strobe latches IBRD, FBRD and LCR_H together (TRM 3.3.6).
    baud_divisor_ = ibrd_ * 64 + fbrd_;
    frame_lcr_h_ = value;
    if (fen_changed)
        flush_fifos();
    if (break_started && (cr_ & kCrLbe) && (cr_ & kCrRxe))
        receive(kDrBe);
}

void Pl011::write_cr(uint32_t value) {
    if (value & kCrSiren)
        log_unimplemented(*this, off(Reg::Cr), "IrDA SIR mode");
    cr_ = value;
    sync_modem();
    drain_tx(); // CTS flow control may have been released
}

uint32_t Pl011::flags() const {
    uint32_t fr = modem_;
    if (tx_count_ != 0)
        fr |= kFrBusy;
    if (rx_count_ == 0)
        fr |= kFrRxfe;
    if (tx_count_ == depth())
        fr |= kFrTxff;
    if (rx_count_ == depth())
        fr |= kFrRxff;
    if (tx_count_ == 0)
        fr |= kFrTxfe;
    return fr;
}

// ---- FIFOs ----

bool Pl011::fifo_enabled() const {
    return (lcr_h_ & kLcrFen) != 0;
}

unsigned Pl011::depth() const {
    return fifo_enabled() ? config_.fifo_depth : 1;
}

unsigned Pl011::rx_trigger() const {
    if (!fifo_enabled())
        return 1;
    return depth() * level_eighths((ifls_ >> 3) & 7) / 8;
}

unsigned Pl011::tx_trigger() const {
    if (!fifo_enabled())
        return 0; // the holding register is empty
    return depth() * level_eighths(ifls_ & 7) / 8;
}

bool Pl011::rx_accepting() const {
    return (cr_ & kCrRxe) && !(cr_ & kCrLbe);
}

// Stores one received character (data plus FE/PE/BE), or records an overrun.
bool Pl011::receive(uint16_t entry) {
    if (rx_count_ >= depth()) {
        overrun_ = true;
        rsr_ |= kRsrOe;
        ris_ |= kIntOe;
        return false;
    }
    rx_fifo_[(rx_head_ + rx_count_) % kFifoSlots] = entry;
    ++rx_count_;
    if (entry & kDrFe)
        ris_ |= kIntFe;
    if (entry & kDrPe)
        ris_ |= kIntPe;
    if (entry & kDrBe)
        ris_ |= kIntBe;
    rt_timer_.arm_in(qticks_to_cycles(kTimeoutBits * bit_period_qticks()));
    return true;
}

void Pl011::flush_fifos() {
    if (tx_count_ != 0)
        ris_ |= kIntTx; // the level fell through the trigger
    rx_head_ = rx_count_ = 0;
    tx_head_ = tx_count_ = 0;
    overrun_ = false;
}

void Pl011::drain_tx() {
    while (tx_count_ != 0 && (!(cr_ & kCrCtsen) || (modem_ & kFrCts))) {
        uint8_t byte = tx_fifo_[tx_head_];
        tx_head_ = (tx_head_ + 1) % kFifoSlots;
        --tx_count_;
        transmit(byte);
        if (tx_count_ <= tx_trigger())
            ris_ |= kIntTx;
    }
}

void Pl011::transmit(uint8_t byte) {
    if ((cr_ & (kCrUarten | kCrTxe)) != (kCrUarten | kCrTxe))
        log_guest_error(*this, off(Reg::Dr), "data sent with CR.UARTEN or CR.TXE clear");
    if (tx_sink_)
        tx_sink_(byte);
    if ((cr_ & kCrLbe) && (cr_ & kCrRxe))
        receive(byte);
}

bool Pl011::push_rx(uint8_t byte) {
    bool stored = rx_accepting() && receive(byte);
    update();
    return stored;
}

bool Pl011::push_break() {
    bool stored = rx_accepting() && receive(kDrBe);
    update();
    return stored;
}

// ---- modem lines ----

// The modem inputs in FR bit positions: looped back from CR in loopback, else the
// host's CTS (DSR, DCD and RI are not bonded out on BCM283x: deasserted).
uint32_t Pl011::modem_inputs() const {
    if (!(cr_ & kCrLbe))
        return cts_in_ ? kFrCts : 0;
    return ((cr_ & kCrRts) ? kFrCts : 0) | ((cr_ & kCrDtr) ? kFrDsr : 0) |
           ((cr_ & kCrOut1) ? kFrDcd : 0) | ((cr_ & kCrOut2) ? kFrRi : 0);
}

// Raises a modem status interrupt for each input that changed (TRM: UARTMSINTR).
void Pl011::sync_modem() {
    uint32_t now = modem_inputs();
    uint32_t changed = now ^ modem_;
    if (changed & kFrCts)
        ris_ |= kIntCts;
    if (changed & kFrDsr)
        ris_ |= kIntDsr;
    if (changed & kFrDcd)
        ris_ |= kIntDcd;
    if (changed & kFrRi)
        ris_ |= kIntRi;
    modem_ = now;
}

void Pl011::set_cts(bool asserted) {
    cts_in_ = asserted;
    sync_modem();
    drain_tx();
    update();
}

// ---- timing ----

// One bit period in quarter-UARTCLK ticks: 16 * (IBRD + FBRD/64) UARTCLK cycles is
// exactly 64 * IBRD + FBRD quarter ticks.
uint64_t Pl011::bit_period_qticks() const {
    if (baud_divisor_ >= 64) // IBRD >= 1
        return baud_divisor_;
    return (4 * config_.uartclk_hz + kDefaultBaud / 2) / kDefaultBaud;
}

uint64_t Pl011::qticks_to_cycles(uint64_t qticks) const {
    return clock_.ticks_to_cycles(qticks, 4 * config_.uartclk_hz);
}

// Start bit, 5-8 data bits, optional parity, one or two stop bits.
uint64_t Pl011::char_time_cycles() const {
    uint64_t bits = 1 + 5 + ((frame_lcr_h_ >> kLcrWlenShift) & 3) +
                    ((frame_lcr_h_ & kLcrPen) ? 1 : 0) + ((frame_lcr_h_ & kLcrStp2) ? 2 : 1);
    return qticks_to_cycles(bits * bit_period_qticks());
}

uint32_t Pl011::baud_rate() const {
    if (baud_divisor_ < 64)
        return 0;
    return static_cast<uint32_t>(4 * config_.uartclk_hz / baud_divisor_);
}

void Pl011::receive_timeout() {
    if (rx_count_ != 0)
        ris_ |= kIntRt;
    update();
}

// ---- host input ----

void Pl011::set_input(std::unique_ptr<UartInput> input) {
    input_timer_.cancel();
    input_ = std::move(input);
    input_eof_ = false;
    update();
}

// Arms the input timer one character time ahead when a source may deliver.
void Pl011::kick_input() {
    if (!input_ || input_eof_ || input_timer_.armed())
        return;
    if (!rx_accepting() || rx_count_ >= depth())
        return; // resumed by the update() after the guest reads or re-enables
    input_timer_.arm_in(char_time_cycles());
}

void Pl011::poll_input() {
    if (!input_ || input_eof_)
        return;
    if (rx_accepting() && rx_count_ < depth()) {
        int b = input_->next_byte();
        if (b == UartInput::kEof)
            input_eof_ = true;
        else if (b < 0)
            input_timer_.arm_in(kIdlePollChars * char_time_cycles());
        else
            receive(static_cast<uint8_t>(b));
    }
    update();
}

} // namespace piemu
