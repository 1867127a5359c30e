// BCM2835 auxiliary peripherals, DT compatible "brcm,bcm2835-aux": the AUX block at
// 0x3f215000 (bus address 0x7e215000) holding the mini UART (UART1, Linux's
// "brcm,bcm2835-aux-uart" node at +0x40) and the SPI1/SPI2 masters. Interrupt: GPU IRQ
// 29, shared by all three (the DT puts it on the uart1 node).
//
// Modelled after BCM2835 ARM Peripherals, chapter 2 "Auxiliaries: UART1 & SPI1, SPI2"
// (2.1 register map, 2.2 mini UART), which BCM2836 and BCM2837 share. The window is
// the whole 0x100-byte block, as in QEMU's hw/char/bcm2835_aux.c: the DT's aux node
// claims only AUX_IRQ and AUX_ENABLES (reg size 8, what Linux's clk-bcm2835-aux gates)
// and the uart1 node the mini UART registers at +0x40 (reg size 0x40); both land here.
//
// The mini UART (2.2): "as far as possible the first 8 control and status registers
// are laid out like a 16550 UART"; 8-entry TX and RX FIFOs, 7 or 8 data bits, one
// start and one stop bit, no parity; baud = core clock / (8 * (AUX_MU_BAUD + 1)).
// Linux drives it with its 8250 driver (8250_bcm2835aux.c: regshift 2, fifosize 8,
// uartclk = 2 * core clock "because the HW-clock divider for bcm2835aux is 8").
//
// Host side, as in pl011.hpp: a byte written to AUX_MU_IO goes to the TX sink at once
// (the link has no speed) while the transmitter is enabled; received bytes come from
// push_rx() or a UartInput (uart_input.hpp), asked for one byte per character time at
// the programmed baud rate, only while the RX FIFO has room (see bcm2835_aux.cpp for
// the reasoning behind each modelled choice).
//
// Not modelled:
//  - SPI1 and SPI2 (0x80-0xff, AUX_ENABLES bits 1-2 and AUX_IRQ bits 1-2): the enable
//    bits are stored, the registers read as zero and ignore writes (logged);
//  - bit-level timing of transmission: TX is instantaneous, so the TX FIFO only fills
//    while AUX_MU_CNTL holds the transmitter disabled;
//  - break (LCR bit 6), RTS/CTS auto flow control (CNTL bits 2-7): stored only; the host
//    link is always clear to send and the host sender is paced by FIFO room;
//  - framing: the data size (LCR bit 0) only sets the character time; bytes pass whole.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "devices/uart_input.hpp"
#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Aux final : public Device {
public:
    /// Register offsets, BCM2835 ARM Peripherals 2.1. Widths are of the defined bits; the
    /// rest read as zero.
    enum class Reg : uint32_t {
        Irq = 0x00,       ///< RO 3: mini UART [0], SPI1 [1], SPI2 [2] interrupt pending
        Enables = 0x04,   ///< RW 3: mini UART [0], SPI1 [1], SPI2 [2] enable; reset 0
        MuIo = 0x40,      ///< RW 8: read pops RX, write pushes TX; DLAB: BAUD [7:0]
        MuIer = 0x44,     ///< RW 4: RX int enable [0], TX int enable [1]; DLAB: BAUD [15:8]
        MuIir = 0x48,     ///< R: 0xc0 | id [2:1] | no-int [0]; W: clear RX [1], TX [2] FIFO
        MuLcr = 0x4c,     ///< RW 8: data size [1:0] (8 bits if bit 0), break [6], DLAB [7]
        MuMcr = 0x50,     ///< RW 8: RTS [1]
        MuLsr = 0x54,     ///< RO 8: data ready [0], overrun [1] (clears on read),
                          ///< TX empty [5], TX idle [6]
        MuMsr = 0x58,     ///< RO 8: CTS status [5]
        MuScratch = 0x5c, ///< RW 8: a byte of storage
        MuCntl = 0x60,    ///< RW 8: RX enable [0], TX enable [1], flow control [7:2]
        MuStat = 0x64,    ///< RO 28: flags [9:0], RX level [19:16], TX level [27:24]
        MuBaud = 0x68,    ///< RW 16: baud rate divisor
    };
    static constexpr uint32_t kMmioSize = 0x100;
    /// Entries in each FIFO (2.2: "8 Symbols deep FIFOs for receive and transmit").
    static constexpr unsigned kFifoDepth = 8;
    /// The VPU core clock the baud generator divides: 250 MHz on the Pi 2 and 3 (the
    /// boards' clk_vpu; the Pi firmware pins core_freq at 250 MHz with enable_uart=1).
    static constexpr uint64_t kDefaultCoreClockHz = 250'000'000;

    Bcm2835Aux(std::string name, VirtualClock& clock, uint64_t core_clock_hz = kDefaultCoreClockHz);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Datasheet reset values: AUX_ENABLES 0 (mini UART off), IER 0, LCR 0, MCR 0,
    /// SCRATCH 0, CNTL 0x03 (RX and TX enabled), BAUD 0, FIFOs empty, so IIR 0xc1, LSR
    /// 0x60, MSR 0x20, STAT 0x38e. The TX sink and the input source are host wiring and
    /// survive.
    void reset() override;

    /// {&irq()}: the one line of the DT uart1 node's `interrupts` (GPU IRQ 29).
    std::vector<IrqLine*> irq_outputs() override { return {&irq_}; }
    /// The AUX interrupt: high while AUX_IRQ is non-zero, i.e. the mini UART is enabled
    /// and (RX interrupt enabled and RX data) or (TX interrupt enabled and TX FIFO empty).
    IrqLine& irq() { return irq_; }

    /// Where transmitted bytes go; without a sink they are dropped.
    void set_tx_sink(std::function<void(uint8_t)> sink) { tx_sink_ = std::move(sink); }
    /// One character arriving on the RX line now. Returns false when the receiver
    /// ignores it (mini UART or receiver disabled) or loses it to an overrun.
    bool push_rx(uint8_t byte);
    /// Feeds the RX line from `input`, one byte per character time while the RX FIFO has
    /// room and the receiver is enabled. Replaces any previous source; nullptr detaches.
    void set_input(std::unique_ptr<UartInput> input);
    /// True once the input source has returned kEof.
    bool input_exhausted() const { return input_eof_; }
    /// True when an input source is attached (it may still be exhausted).
    bool input_attached() const { return input_ != nullptr; }

    /// The baud rate AUX_MU_BAUD selects: core clock / (8 * (BAUD + 1)).
    uint32_t baud_rate() const;

private:
    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    /// The register's value without side effects, for merging sub-word writes.
    uint32_t merge_base(uint32_t offset) const;
    void update();

    bool uart_enabled() const;
    bool dlab() const;
    bool irq_pending() const;
    uint32_t iir() const;
    uint32_t lsr() const;
    uint32_t stat() const;
    uint8_t pop_rx();
    void write_io(uint8_t byte);
    void write_iir(uint32_t value);
    bool receive(uint8_t byte);
    bool rx_accepting() const;
    void drain_tx();

    uint64_t char_time_cycles() const;
    void poll_input();
    void kick_input();

    VirtualClock& clock_;
    const uint64_t core_clock_hz_;
    IrqLine irq_;
    std::function<void(uint8_t)> tx_sink_;
    std::unique_ptr<UartInput> input_;
    bool input_eof_ = false;
    TimerEvent input_timer_;

    // Registers.
    uint32_t enables_ = 0;
    uint32_t ier_ = 0;
    uint32_t lcr_ = 0;
    uint32_t mcr_ = 0;
    uint32_t scratch_ = 0;
    uint32_t cntl_ = 0;
    uint32_t baud_ = 0;

    // FIFOs: ring buffers of kFifoDepth entries.
    std::array<uint8_t, kFifoDepth> rx_fifo_{};
    unsigned rx_head_ = 0;
    unsigned rx_count_ = 0;
    std::array<uint8_t, kFifoDepth> tx_fifo_{};
    unsigned tx_head_ = 0;
    unsigned tx_count_ = 0;
    bool overrun_ = false; // sticky until LSR is read (STAT bit 4 reads it without clearing)
};

} // namespace piemu
