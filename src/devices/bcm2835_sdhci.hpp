// BCM2835 EMMC controller, DT compatible "brcm,bcm2835-sdhci": an Arasan SD host
// controller at 0x3f300000 (bus address 0x7e300000, reg size 0x100) on the Pi 2 and 3,
// one interrupt (GPU IRQ 62, Linux's "mmc1"). The SD Host Controller Simplified
// Specification version 3.00 register set, as Linux's sdhci-iproc (sdhci.c) and the
// common bare-metal EMMC drivers program it.
//
// Sources: the SD Host Controller Simplified Specification 3.00 (register numbers and
// bits, section 2.2), BCM2835 ARM Peripherals chapter 5 (the same registers under
// Broadcom's names: ARG2, BLKSIZECNT, ARG1, CMDTM, RESP0-3, DATA, STATUS, CONTROL0-2,
// INTERRUPT, IRPT_MASK, IRPT_EN, SLOTISR_VER), Linux's drivers/mmc/host/sdhci.h and
// sdhci-iproc.c (the bcm2835 quirks), QEMU's hw/sd/sdhci.c and hw/arm/
// bcm2835_peripherals.c (QEMU's raspi model of this block). bcm2835_sdhci.cpp gives
// the reasoning behind each modelled choice.
//
// What the model does: a 32-bit write of CMDTM (0x0c) issues a command; it reaches the
// attached SdCard after kCommandNs of virtual time, with Command Inhibit (CMD) set until
// then. A missing or mismatched response sets Command Timeout Error. Data moves by PIO
// through the one-block buffer behind DATA (0x20): reads fill the buffer from the card
// a block at a time (Buffer Read Ready), writes send each block to the card when the
// guest has filled it (Buffer Write Ready for the next); Block Count Enable counts
// BLKCNT down, Auto CMD12 stops a multi-block transfer, Transfer Complete ends it. A
// card that stops sending or taking data gives Data Timeout Error. The interrupt line
// is high while (normal | error status) & signal enable is non-zero.
//
// Not modelled:
//  - DMA (SDMA, ADMA): the capabilities advertise neither, as QEMU's raspi; the
//    transfer mode's DMA Enable reads 0 and data always moves through DATA;
//  - bus timing: the clock divider, timeout counter, bus width and high-speed bits are
//    stored and read back; the internal clock is stable as soon as it is enabled and
//    data takes no time;
//  - CRC and end-bit errors (the model's frames are never corrupted), index checks,
//    current limit, tuning, UHS-I (Host Control 2 reads 0), Auto CMD23, SDIO card
//    interrupts, suspend/resume, stop at block gap (stored only), wakeup events;
//  - the card-detect test bits of Host Control 1 (stored only);
//  - BCM2835-specific registers past 0x50 (boot timeout, debug select, extension FIFO,
//    tuning steps, SPI interrupt support): guest errors, read as 0.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "devices/sd_card.hpp"
#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Sdhci final : public Device {
public:
    /// Register offsets (SDHCI 3.00 section 2.2; BCM2835 names in brackets). The BCM2835
    /// takes 32-bit accesses only (BCM2835 ARM Peripherals chapter 5), so SDHCI's 8- and 16-bit
    /// registers are the lanes of these words.
    enum class Reg : uint32_t {
        Arg2 = 0x00,       ///< RW 32: SDMA address / Argument 2 [ARG2] (stored only)
        BlkSizeCnt = 0x04, ///< RW: block size [11:0], SDMA boundary [14:12], count [31:16]
        Arg1 = 0x08,       ///< RW 32: command argument [ARG1]
        CmdTm = 0x0c,      ///< RW: transfer mode [5:0], command [29:16]; writing issues
        Resp0 = 0x10,      ///< RO 32: response bits 39:8 (R2: 127:8 over RESP0-3)
        Resp1 = 0x14,      ///< RO 32
        Resp2 = 0x18,      ///< RO 32
        Resp3 = 0x1c,      ///< RO 32: also the Auto CMD12 response
        Data = 0x20,       ///< RW 32: buffer data port [DATA]
        Status = 0x24,     ///< RO 32: present state [STATUS]
        Control0 = 0x28,   ///< RW: host control 1 [7:0], power [15:8], block gap [23:16],
                           ///< wakeup [31:24]
        Control1 = 0x2c,   ///< RW: clock control [15:0], timeout [19:16], software
                           ///< reset [26:24] (self-clearing)
        Interrupt = 0x30,  ///< RW1C: normal status [15:0] (15 = error summary, RO),
                           ///< error status [31:16]
        IrptMask = 0x34,   ///< RW: normal/error status enable
        IrptEn = 0x38,     ///< RW: normal/error signal enable
        Control2 = 0x3c,   ///< RO: Auto CMD error status [7:0]; host control 2 reads 0
        Caps0 = 0x40,      ///< RO 32: capabilities [31:0]
        Caps1 = 0x44,      ///< RO 32: capabilities [63:32]
        MaxCurrent = 0x48, ///< RO 32: maximum current capabilities
        ForceIrpt = 0x50,  ///< WO: force Auto CMD error [15:0] / error status [31:16]
        SlotIsrVer = 0xfc, ///< RO: slot interrupt status [7:0], host controller version
                           ///< [31:16]
    };
    static constexpr uint32_t kMmioSize = 0x100;
    /// QEMU's BCM2835_SDHC_CAPAREG (hw/arm/bcm2835_peripherals.c): timeout clock and
    /// base clock 52 MHz, max block length 1024, high speed, 3.3 V and 1.8 V; no DMA,
    /// no 64-bit bus. (Linux ignores the register on this SoC: SDHCI_QUIRK_MISSING_CAPS
    /// with 1024-byte blocks, 3.3 V and high speed in sdhci-iproc.c.)
    static constexpr uint32_t kCapabilities = 0x052134b4;
    /// Specification version 3.00 (2) with QEMU's vendor version 0x24 (SDHC_HCVER_VENDOR).
    static constexpr uint16_t kHostVersion = 0x2402;
    /// The largest block the buffer holds (capabilities' max block length).
    static constexpr uint32_t kMaxBlockSize = 1024;
    /// From the CMDTM write to the command's completion: about a 48-bit command, the
    /// card's turnaround and a 48-bit response at 50 MHz, as Bcm2835Sdhost::kCommandNs.
    static constexpr uint64_t kCommandNs = 2000;

    Bcm2835Sdhci(std::string name, VirtualClock& clock);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Power-on reset: every register 0 except capabilities, maximum current and
    /// version; present state shows the card (0x01ff0000 writable, 0x01f70000
    /// write-protected, 0x01fa0000 no card). Power-cycles the attached card
    /// (SdCard::reset()) and arms the Raspberry Pi's pending card-insert interrupt.
    void reset() override;

    /// Inserts `card` (nullptr: removes it). The card is host wiring: it outlives the
    /// controller and survives reset(). A change of presence latches Card Insertion or
    /// Card Removal (when enabled); removal also clears SD Bus Power and SD Clock Enable
    /// and ends a data transfer with Data Timeout Error.
    void attach(SdCard* card);
    SdCard* card() const { return card_; }

    /// The single interrupt line (DT `interrupts`).
    std::vector<IrqLine*> irq_outputs() override { return {&irq_}; }
    IrqLine& irq() { return irq_; }

private:
    enum class Phase : uint8_t { Idle, Reading, Writing };

    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    void update();

    uint32_t present_state() const;
    uint32_t interrupt_status() const;
    void write_block_size_count(uint32_t value);
    void write_control0(uint32_t value);
    void write_control1(uint32_t value);
    void write_irpt_mask(uint32_t value);
    void write_force_irpt(uint32_t value);
    void software_reset(uint32_t bits);

    void issue_command(uint32_t value);
    void complete_command();
    void start_data();
    void load_block();
    void commit_block();
    void count_block();
    void auto_cmd12();
    void end_transfer(bool ok);
    uint32_t read_data();
    void write_data(uint32_t word);

    void raise(uint16_t normal_bit);
    void raise_error(uint16_t error_bit);

    VirtualClock& clock_;
    IrqLine irq_;
    SdCard* card_ = nullptr;
    TimerEvent command_timer_;

    // Registers.
    uint32_t arg2_ = 0;
    uint16_t block_size_ = 0; // with the SDMA boundary in bits 14:12
    uint16_t block_count_ = 0;
    uint32_t arg1_ = 0;
    uint16_t transfer_mode_ = 0;
    uint16_t command_ = 0;
    std::array<uint32_t, 4> resp_{};
    uint8_t host_control_ = 0;
    uint8_t power_control_ = 0;
    uint8_t block_gap_ = 0;
    uint8_t wakeup_ = 0;
    uint16_t clock_control_ = 0;
    uint8_t timeout_control_ = 0;
    uint16_t normal_status_ = 0; // latched bits; the error summary is computed
    uint16_t error_status_ = 0;
    uint16_t normal_enable_ = 0;
    uint16_t error_enable_ = 0;
    uint16_t normal_signal_ = 0;
    uint16_t error_signal_ = 0;
    uint16_t auto_cmd_error_ = 0;

    // Command and data state.
    bool cmd_inhibit_ = false;    // a command is on its way to the card
    bool dat_inhibit_ = false;    // a data or busy command is under way
    bool pending_insert_ = false; // the Pi's insert interrupt not yet shown
    Phase phase_ = Phase::Idle;
    std::array<uint8_t, kMaxBlockSize> buffer_{};
    uint32_t transfer_block_ = 0; // block size latched at the command
    uint32_t buffer_pos_ = 0;     // next byte of the buffer the guest reads or writes
    bool buffer_ready_ = false;   // Buffer Read Enable / Buffer Write Enable
    bool last_block_ = false;     // the block in the buffer is the transfer's last
};

} // namespace piemu
