// BCM2835 DMA controller, DT compatible "brcm,bcm2835-dma": channels 0-14 at 0x3f007000
// (bus address 0x7e007000), one 0x100-byte register page each, plus INT_STATUS (0xfe0)
// and ENABLE (0xff0) in the same 4 KiB page. The window is that whole page (as QEMU maps
// it); the DT node's reg stops at 0xf00, before INT_STATUS and ENABLE.
//
// Modelled after BCM2835 ARM Peripherals, chapter 4 "DMA Controller" (4.2.1 register
// map, 4.2.1.1 control blocks, 4.5 DMA Lite engines), which BCM2836 and BCM2837 share,
// and checked against Linux's drivers/dma/bcm2835-dma.c and QEMU's hw/dma/bcm2835_dma.c.
// A channel is started by writing a control block (CB) address to CONBLK_AD and setting
// CS.ACTIVE; it fetches the 32-byte-aligned CB (TI, SOURCE_AD, DEST_AD, TXFR_LEN,
// STRIDE, NEXTCONBK, two reserved words) from memory into its read-only registers,
// moves the data, sets CS.END (and CS.INT if TI.INTEN), then follows NEXTCONBK until it
// loads 0, which clears ACTIVE.
//
// Addresses in CBs are VideoCore bus addresses, translated as the boards' dma-ranges and
// ranges say (bus_to_phys()): 0x7exxxxxx is the peripherals at ARM 0x3fxxxxxx; the four
// RAM aliases 0x0, 0x4, 0x8 and 0xc (datasheet 1.2.4, the Pi 2/3 use 0xc0000000) reach
// ARM physical address & 0x3fffffff. RAM is accessed with Bus::read_phys/write_phys,
// anything else with Bus::mmio_read/mmio_write.
//
// Transfers take virtual time (bcm2835_dma.cpp: the rate and the reasoning behind each
// modelled choice). Channels 7-14 are Lite engines: no 2D mode, 16-bit TXFR_LEN, half
// the bandwidth, DEBUG.LITE set (Linux reads it to cap CB lengths at 64 KiB - 4).
//
// Interrupts, in the DT `interrupts` order of boards/raspi3b.dts ("dma0".."dma14",
// "dma-shared-all"): channels 0-10 each have their own GPU IRQ (16-26); channels 11-14
// share GPU IRQ 27, so outputs 11-14 all carry the OR of those four channels' INT (the
// four DT specifiers name the same controller input and must agree on its level);
// output 15 ("dma-shared-all", GPU IRQ 28) is the OR of every channel's INT, Linux's
// "catch all" interrupt.
//
// Not modelled:
//  - channel 15, which lives in another page (0x3fe05000) and is not in this DT node;
//  - DREQ pacing: every peripheral is always ready (NOTE: SRC_DREQ/DEST_DREQ and PERMAP
//    are decoded and stored only; CS.DREQ reads 1 once a CB is loaded). A peripheral
//    without data simply returns what its register reads;
//  - AXI details: burst length, 128-bit width, WAIT_RESP, NO_WIDE_BURSTS, priorities
//    (stored only); writes complete at once, so WAITING_FOR_OUTSTANDING_WRITES and
//    DEBUG.OUTSTANDING_WRITES read 0; DEBUG's DMA_ID, DMA_STATE and VERSION read 0;
//  - the debug pause signal (CS.DISDEBUG is stored only);
//  - bus errors on writes: a write nobody claims is logged by the Bus and dropped (AXI
//    writes are posted; the datasheet has no write error flag). A read nobody claims
//    sets DEBUG.READ_ERROR and stops the channel;
//  - code translated from RAM that a DMA transfer overwrites is not invalidated here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "piemu/bus.hpp"
#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Dma final : public Device {
public:
    /// Per-channel register offsets within a channel's 0x100-byte page, datasheet
    /// 4.2.1.2. Channel n's page starts at n * kChannelStride.
    enum class Reg : uint32_t {
        Cs = 0x00,        ///< RW: ACTIVE [0], END [1] W1C, INT [2] W1C, DREQ [3] RO,
                          ///< PAUSED [4] RO, ERROR [8] RO, PRIORITY [19:16],
                          ///< PANIC_PRIORITY [23:20], WAIT_FOR_OUTSTANDING_WRITES [28],
                          ///< DISDEBUG [29], ABORT [30] W1SC, RESET [31] W1SC
        ConblkAd = 0x04,  ///< RW: CB address (bus), bits 4:0 read as 0
        Ti = 0x08,        ///< RO: CB word 0, transfer information
        SourceAd = 0x0c,  ///< RO: CB word 1, source bus address (advances)
        DestAd = 0x10,    ///< RO: CB word 2, destination bus address (advances)
        TxfrLen = 0x14,   ///< RO: CB word 3, bytes left; 2D: YLENGTH [29:16], XLENGTH [15:0]
        Stride = 0x18,    ///< RO: CB word 4, 2D strides: D_STRIDE [31:16], S_STRIDE [15:0]
        NextConbk = 0x1c, ///< RW: CB word 5, next CB address (bus), bits 4:0 read as 0
        Debug = 0x20,     ///< READ_LAST_NOT_SET [0], FIFO [1], READ [2] errors, W1C;
                          ///< LITE [28] RO
    };
    /// Registers shared by all channels.
    static constexpr uint32_t kIntStatus = 0xfe0; ///< RO: INT of channel n in bit n
    static constexpr uint32_t kEnable = 0xff0;    ///< RW 15: channel n runs while bit n set
    static constexpr uint32_t kMmioSize = 0x1000;
    static constexpr uint32_t kChannelStride = 0x100;
    static constexpr unsigned kChannels = 15;
    /// irq_outputs() entries: one per channel (11-14 shared, see above), then the
    /// "dma-shared-all" line.
    static constexpr unsigned kIrqOutputs = 16;
    static constexpr unsigned kSharedAllOutput = 15;
    /// Channels from this one up share one GPU IRQ (27) and so one level on 11-14.
    static constexpr unsigned kFirstSharedChannel = 11;
    /// The first Lite channel (4.5); channels 7-14 are Lite engines.
    static constexpr unsigned kFirstLiteChannel = 7;
    /// The ARM physical base of the peripherals (bus 0x7e000000) on the Pi 2 and 3: the
    /// boards' soc `ranges` <0x7e000000 0x3f000000 0x01000000>.
    static constexpr uint32_t kPeripheralPhysBase = 0x3f000000;

    Bcm2835Dma(std::string name, VirtualClock& clock, Bus& bus);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Every channel reset (CS, CONBLK_AD, the CB registers and DEBUG's error flags 0,
    /// nothing in flight), INT_STATUS 0, ENABLE 0x7fff (all channels enabled, as QEMU
    /// resets it), every line low.
    void reset() override;

    /// The 16 lines in DT `interrupts` order: "dma0".."dma14", "dma-shared-all".
    std::vector<IrqLine*> irq_outputs() override;
    /// Output `index` (0-15) of irq_outputs().
    IrqLine& irq(unsigned index);

    /// The ARM physical address a DMA engine reaches at VideoCore bus address `bus_addr`.
    static uint32_t bus_to_phys(uint32_t bus_addr);

private:
    struct Channel {
        uint32_t cs = 0; // ACTIVE, END, INT and the stored RW fields; the rest is derived
        uint32_t conblk_ad = 0;
        uint32_t ti = 0;
        uint32_t source_ad = 0;
        uint32_t dest_ad = 0;
        uint32_t txfr_len = 0;
        uint32_t stride = 0;
        uint32_t nextconbk = 0;
        uint32_t debug_errors = 0; // DEBUG bits 2:0
        bool loaded = false;       // a CB is fetched and its transfer not finished
        bool dreq_valid = false;   // a CB has been loaded since the last reset
        uint32_t row_len = 0;      // 2D: XLENGTH of every row
        uint32_t slice = 0;        // bytes the armed timer will move
        uint64_t epoch = 0;        // bumped by RESET and ABORT: stale steps give up
    };

    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    uint32_t merge_base(uint32_t offset) const;
    uint32_t read_channel(unsigned n, uint32_t reg);
    void write_channel(unsigned n, uint32_t reg, uint32_t value);
    void update();

    uint32_t read_cs(unsigned n) const;
    void write_cs(unsigned n, uint32_t value);
    void reset_channel(unsigned n);
    void abort_cb(unsigned n);
    bool lite(unsigned n) const { return n >= kFirstLiteChannel; }
    bool running(unsigned n) const;

    void kick(unsigned n);
    void start_next(unsigned n, uint64_t base);
    bool fetch_cb(unsigned n);
    void schedule(unsigned n, bool with_fetch, uint64_t base);
    void step(unsigned n);
    void finish_cb(unsigned n, uint64_t base);
    void stop_with_error(unsigned n, uint32_t debug_bit);
    uint32_t bytes_left_in_row(unsigned n) const;
    bool move(unsigned n, uint32_t bytes);
    bool copy_in_ram(Channel& c, uint32_t bytes);
    bool bus_read(uint32_t bus_addr, uint8_t* out, unsigned len);
    void bus_write(uint32_t bus_addr, const uint8_t* in, unsigned len);
    uint64_t cycles_for(unsigned n, uint32_t beats) const;

    TimerEvent make_timer(unsigned n);

    VirtualClock& clock_;
    Bus& bus_;
    std::array<Channel, kChannels> ch_;
    std::array<TimerEvent, kChannels> timer_;
    std::array<IrqLine, kIrqOutputs> irq_;
    uint32_t enable_ = 0;
};

} // namespace piemu
