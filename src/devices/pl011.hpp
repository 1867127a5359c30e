// ARM PrimeCell UART (PL011), DT compatible "arm,pl011": the Pi's UART0 at 0x3f201000
// (bus address 0x7e201000).
//
// Modelled after the ARM PrimeCell UART (PL011) Technical Reference Manual, ARM DDI 0183
// (r1p5), chapter 3 "Programmers Model", and BCM2835 ARM Peripherals, chapter 13 "UART"
// (which the Pi 2 and 3 share): 16x8 transmit and 16x12 receive FIFOs (section 13.1),
// CTS/RTS but no DCD, DSR, DTR or RI pins, no IrDA, no DMA handshake.
//
// Host side: every transmitted byte goes to the TX sink at once (the link has no speed);
// received bytes come from push_rx() or from a UartInput (uart_input.hpp), which the UART
// asks for one byte per character time at the programmed baud rate, only while its
// receive FIFO has room. The receive timeout (RTINTR) fires 32 bit periods after the last
// received character, in virtual time. Bit periods are UARTCLK based: UARTCLK is 48 MHz
// by default, the value the Pi firmware sets for UART0 (init_uart_clock).
//
// Not modelled (see pl011.cpp for the reasoning behind each modelled choice):
//  - bit-level timing of transmission: TX is instantaneous, so BUSY and a non-empty TX
//    FIFO are only seen while CTS flow control (CR.CTSEN with CTS deasserted) holds data;
//  - framing and parity errors (FE, PE): the host link carries whole bytes; word length,
//    parity and stop bits only set the character time;
//  - IrDA SIR (ILPR and CR.SIREN/SIRLP are stored, nothing else), DMA (DMACR is stored),
//    the nUARTRTS output and RTS flow control (the host sender is paced by FIFO room
//    whatever CR.RTSEN says), the test registers 0x080-0x08c (read as zero);
//  - the DSR, DCD and RI inputs: not bonded out on BCM283x, they read as deasserted
//    except in loopback, where DTR, Out1 and Out2 drive them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "devices/uart_input.hpp"
#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

/// Board data: what differs between PL011 integrations.
struct Pl011Config {
    /// UARTCLK. 48 MHz is what the Pi firmware programs for UART0.
    uint64_t uartclk_hz = 48'000'000;
    /// Entries in each FIFO when LCR_H.FEN is set: 16 on BCM283x (BCM2835 ARM
    /// Peripherals 13.1), 32 on a stock r1p5 PL011 (e.g. BCM2711). At most 32.
    unsigned fifo_depth = 16;
    /// UARTPeriphID0-3 as one word. BCM283x silicon reports r1p5 (0x00341011) although
    /// its FIFOs are 16 deep; Linux's bcm283x.dtsi overrides it with
    /// arm,primecell-periphid = <0x00241011> for that reason (FreeBSD commit 2cb357c5
    /// makes the same point). QEMU's model reports 0x00141011.
    uint32_t periph_id = 0x00341011;
};

class Pl011 final : public Device {
public:
    /// Register offsets, DDI 0183 table 3-1. Widths are of the defined bits; the rest
    /// read as zero.
    enum class Reg : uint32_t {
        Dr = 0x000,     ///< RW 12/8: read pops RX, data [7:0] + FE PE BE OE [11:8]; write TX [7:0]
        RsrEcr = 0x004, ///< R: RSR FE PE BE OE [3:0], sticky; W: ECR, any value clears RSR
        Fr = 0x018,     ///< RO 9: CTS DSR DCD BUSY RXFE TXFF RXFF TXFE RI
        Ilpr = 0x020,   ///< RW 8: IrDA low-power divisor (stored only)
        Ibrd = 0x024,   ///< RW 16: integer baud divisor (takes effect on an LCR_H write)
        Fbrd = 0x028,   ///< RW 6: fractional baud divisor (takes effect on an LCR_H write)
        LcrH = 0x02c,   ///< RW 8: BRK PEN EPS STP2 FEN WLEN[6:5] SPS
        Cr = 0x030,     ///< RW 16: UARTEN SIREN SIRLP LBE TXE RXE DTR RTS OUT1 OUT2 RTSEN CTSEN
        Ifls = 0x034,   ///< RW 6: TXIFLSEL [2:0], RXIFLSEL [5:3]
        Imsc = 0x038,   ///< RW 11: interrupt mask, 1 = enabled
        Ris = 0x03c,    ///< RO 11: raw interrupt status
        Mis = 0x040,    ///< RO 11: RIS & IMSC
        Icr = 0x044,    ///< WO 11: write 1 to clear RIS bits
        Dmacr = 0x048,  ///< RW 3: RXDMAE TXDMAE DMAONERR (stored only)
        Itcr = 0x080,   ///< integration test registers ITCR ITIP ITOP TDR: not modelled,
        Itip = 0x084,   ///< read as zero, writes ignored
        Itop = 0x088,
        Tdr = 0x08c,
        PeriphId0 = 0xfe0, ///< RO 8, periph_id [7:0]; then PeriphId1-3 at 0xfe4-0xfec
        PCellId0 = 0xff0,  ///< RO 8: 0x0d, 0xf0, 0x05, 0xb1 at 0xff0-0xffc
    };
    static constexpr uint32_t kMmioSize = 0x1000;

    Pl011(std::string name, VirtualClock& clock, Pl011Config config = {});

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// TRM reset values: CR 0x0300, IFLS 0x12, FR 0x90 | CTS, all else 0, FIFOs empty.
    /// The TX sink, the input source and the CTS input are host wiring and survive.
    void reset() override;

    /// UARTINTR, the combined interrupt: high while RIS & IMSC is non-zero.
    IrqLine& irq() { return irq_; }

    /// Where transmitted bytes go; without a sink they are dropped.
    void set_tx_sink(std::function<void(uint8_t)> sink) { tx_sink_ = std::move(sink); }
    /// One character arriving on the RX line now. Returns false when the receiver
    /// ignores it (CR.RXE clear, or loopback) or loses it to an overrun.
    bool push_rx(uint8_t byte);
    /// A break condition arriving on the RX line: one 0 character with BE set.
    bool push_break();
    /// Feeds the RX line from `input`, one byte per character time while the receive
    /// FIFO has room and the receiver is enabled. Replaces any previous source; nullptr
    /// detaches.
    void set_input(std::unique_ptr<UartInput> input);
    /// True once the input source has returned kEof.
    bool input_exhausted() const { return input_eof_; }
    /// True when an input source is attached (it may still be exhausted).
    bool input_attached() const { return input_ != nullptr; }
    /// The nUARTCTS modem input (true = asserted, clear to send). Defaults to asserted:
    /// the host side always accepts data. A change raises CTSRMIS.
    void set_cts(bool asserted);

    /// The baud rate in effect (latched at the last LCR_H write), 0 if unprogrammed.
    uint32_t baud_rate() const;

private:
    void write_reg(uint32_t offset, uint32_t value);
    uint32_t read_reg(uint32_t offset);
    /// The register's value without side effects, for merging sub-word writes.
    uint32_t merge_base(uint32_t offset) const;
    void update();

    uint32_t read_dr();
    void write_dr(uint8_t byte);
    void write_lcr_h(uint32_t value);
    void write_cr(uint32_t value);
    uint32_t flags() const;

    bool fifo_enabled() const;
    unsigned depth() const;
    unsigned rx_trigger() const;
    unsigned tx_trigger() const;
    bool rx_accepting() const;
    bool receive(uint16_t entry);
    void flush_fifos();
    void drain_tx();
    void transmit(uint8_t byte);
    uint32_t modem_inputs() const;
    void sync_modem();

    uint64_t bit_period_qticks() const;
    uint64_t qticks_to_cycles(uint64_t qticks) const;
    uint64_t char_time_cycles() const;
    void receive_timeout();
    void poll_input();
    void kick_input();

    VirtualClock& clock_;
    const Pl011Config config_;
    IrqLine irq_;
    std::function<void(uint8_t)> tx_sink_;
    std::unique_ptr<UartInput> input_;
    bool input_eof_ = false;
    bool cts_in_ = true;
    TimerEvent rt_timer_;
    TimerEvent input_timer_;

    // Registers.
    uint32_t rsr_ = 0;
    uint32_t ilpr_ = 0;
    uint32_t ibrd_ = 0;
    uint32_t fbrd_ = 0;
    uint32_t lcr_h_ = 0;
    uint32_t cr_ = 0;
    uint32_t ifls_ = 0;
    uint32_t imsc_ = 0;
    uint32_t ris_ = 0;
    uint32_t dmacr_ = 0;
    // IBRD/FBRD/LCR_H as latched by the last LCR_H write (TRM 3.3.6).
    uint32_t baud_divisor_ = 0; // 64 * IBRD + FBRD
    uint32_t frame_lcr_h_ = 0;

    // FIFOs: ring buffers; entries beyond depth() are never used.
    std::array<uint16_t, 32> rx_fifo_{};
    unsigned rx_head_ = 0;
    unsigned rx_count_ = 0;
    std::array<uint8_t, 32> tx_fifo_{};
    unsigned tx_head_ = 0;
    unsigned tx_count_ = 0;
    bool overrun_ = false;     // a character was lost; reported by the next DR read
    bool rx_at_level_ = false; // last seen: RX FIFO at or above its trigger
    bool tx_at_level_ = true;  // last seen: TX FIFO at or below its trigger
    uint32_t modem_ = 0;       // last seen modem inputs, in FR bit positions
};

} // namespace piemu
