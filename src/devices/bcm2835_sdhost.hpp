// BCM2835 SD host controller ("SDHOST"), DT compatible "brcm,bcm2835-sdhost": at
// 0x3f202000 (bus address 0x7e202000, reg size 0x100) on the Pi 2 and 3, one interrupt
// (GPU IRQ 56). The custom Broadcom block the Pi firmware boots from; the Arasan SDHCI
// ("EMMC") is a separate device.
//
// Broadcom publishes no datasheet for it. The register map, the bits and the way a
// driver uses them come from Linux's drivers/mmc/host/bcm2835.c (the 4.14-era
// "bcm2835-sdhost" driver, whose register comments give each register's width) and
// QEMU's hw/sd/bcm2835_sdhost.c; OpenBSD's bcm2835_sdhost.c defines the same offsets
// and SDCMD/SDHSTS bits. See bcm2835_sdhost.cpp for the reasoning behind each choice.
//
// What the model does: writing SDCMD with NEW_FLAG sends the command to the attached
// SdCard after a fixed kCommandNs of virtual time; NEW_FLAG reads set until then.
// A missing answer (no card, card unpowered, no response from the card, wrong length)
// sets SDHSTS.CMD_TIME_OUT and SDCMD.FAIL_FLAG. The data phase of a READ_CMD/WRITE_CMD
// moves SDHBCT * SDHBLC bytes between the card and the 16-word SDDATA FIFO as fast as
// the FIFO allows (the card is never slow); SDHSTS.DATA_FLAG shows data to read or room
// to write; BLOCK_IRPT marks each block crossing the SD bus, BUSY_IRPT the end of a
// BUSYWAIT command. The interrupt line is high while a status bit is set whose enable
// is set in SDHCFG.
//
// Not modelled:
//  - bus timing: SDCDIV, SDTOUT, SDHCFG's bus-width/clock bits and SDEDM's FIFO
//    thresholds are stored and read back; transfers take no time and a card that
//    stops sending or receiving data gives REW_TIME_OUT at once;
//  - CRC errors (CRC7_ERROR, CRC16_ERROR) and FIFO_ERROR: never set;
//  - SDIO interrupts (SDIO_IRPT is never set: the card is a memory card);
//  - the DMA request line (DREQ 13): only the CPU moves data through SDDATA;
//  - SDEDM's FORCE_DATA_MODE, CLOCK_PULSE and BYPASS actions: the state machine never
//    waits in READWAIT or WRITESTART1, so there is nothing to force.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "devices/sd_card.hpp"
#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Sdhost final : public Device {
public:
    /// Register offsets, Linux bcm2835.c (widths from its comments). All 32-bit.
    enum class Reg : uint32_t {
        Cmd = 0x00,  ///< RW 16: NEW [15], FAIL [14] (RO), BUSYWAIT [11], NO_RESPONSE [10],
                     ///< LONG_RESPONSE [9], WRITE_CMD [7], READ_CMD [6], index [5:0]
        Arg = 0x04,  ///< RW 32: command argument
        Tout = 0x08, ///< RW 32: timeout counter start value (stored only)
        Cdiv = 0x0c, ///< RW 11: clock divider (stored only)
        Rsp0 = 0x10, ///< RO 32: response bits 31:0
        Rsp1 = 0x14, ///< RO 32: response bits 63:32
        Rsp2 = 0x18, ///< RO 32: response bits 95:64
        Rsp3 = 0x1c, ///< RO 32: response bits 127:96
        Hsts = 0x20, ///< RW 11: status; [10:3] write 1 to clear, DATA_FLAG [0] read-only
        Vdd = 0x30,  ///< RW 1: card power
        Edm = 0x34,  ///< RW: FSM [3:0] and FIFO level [8:4] RO; write/read thresholds
                     ///< [13:9]/[18:14] stored
        Hcfg = 0x38, ///< RW 11: REL_CMD_LINE WIDE_INT_BUS WIDE_EXT_BUS SLOW_CARD [3:0],
                     ///< DATA_IRPT_EN [4], SDIO_IRPT_EN [5], BLOCK_IRPT_EN [8], BUSY_IRPT_EN [10]
        Hbct = 0x3c, ///< RW 32: block size in bytes
        Data = 0x40, ///< RW 32: the data FIFO (32-bit accesses only)
        Hblc = 0x50, ///< RW 32: block count
    };
    static constexpr uint32_t kMmioSize = 0x100;
    /// SDDATA_FIFO_WORDS in bcm2835.c.
    static constexpr unsigned kFifoWords = 16;
    /// How long a command takes from the SDCMD write to its completion: about a 48-bit
    /// command, the card's turnaround and a 48-bit response at 50 MHz.
    static constexpr uint64_t kCommandNs = 2000;

    Bcm2835Sdhost(std::string name, VirtualClock& clock);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// SDCDIV 0x1fb (the reset divider bcm2835.c's set_clock comment gives: 507),
    /// SDEDM thresholds 3/3 (QEMU's reset SDEDM, 0xc60f, without its FSM field), SDVDD 1
    /// (powered, as the firmware leaves it), everything else 0; FIFO empty, no command
    /// or transfer in flight. Power-cycles the attached card (SdCard::reset()).
    void reset() override;

    /// Inserts `card` (nullptr: slot empty). The card is host wiring: it outlives the
    /// controller and survives reset(); it is not reset by attaching.
    void attach(SdCard* card) { card_ = card; }
    SdCard* card() const { return card_; }

    /// The single interrupt line (DT `interrupts`).
    std::vector<IrqLine*> irq_outputs() override { return {&irq_}; }
    IrqLine& irq() { return irq_; }

private:
    enum class Phase : uint8_t { Idle, Reading, Writing };

    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    uint32_t merge_base(uint32_t offset) const;
    void update();

    uint32_t status() const;
    uint32_t edm() const;
    void write_cmd(uint32_t value);
    void write_vdd(uint32_t value);
    uint32_t read_data();
    void write_data(uint32_t word);

    void complete_command();
    void fail_command();
    void raise(uint32_t status_bit);
    void pump();
    bool move_byte(uint8_t& byte);
    void end_transfer(bool timed_out);

    VirtualClock& clock_;
    IrqLine irq_;
    SdCard* card_ = nullptr;
    TimerEvent command_timer_;

    // Registers.
    uint32_t cmd_ = 0; // SDCMD as written, without NEW and FAIL
    bool pending_ = false;
    bool failed_ = false;
    uint32_t arg_ = 0;
    uint32_t tout_ = 0;
    uint32_t cdiv_ = 0;
    std::array<uint32_t, 4> rsp_{};
    uint32_t hsts_ = 0; // latched bits 10:3
    uint32_t vdd_ = 0;
    uint32_t edm_ = 0; // the threshold fields
    uint32_t hcfg_ = 0;
    uint32_t hbct_ = 0;
    uint32_t hblc_ = 0;

    // The FIFO and the data phase. block_size_/bytes_left_ are latched from SDHBCT and
    // SDHBLC when the command is issued.
    std::array<uint32_t, kFifoWords> fifo_{};
    unsigned fifo_head_ = 0;
    unsigned fifo_count_ = 0;
    Phase phase_ = Phase::Idle;
    uint32_t block_size_ = 0;
    uint64_t bytes_left_ = 0; // bytes still to cross the SD bus
    uint64_t block_pos_ = 0;  // bytes of the current block already across
    bool data_mode_ = false;  // a data phase has run since reset: FSM idles in DATAMODE
};

} // namespace piemu
