// BCM2835 ARM/VideoCore mailboxes and the firmware's property channel, DT compatible
// "brcm,bcm2835-mbox": at 0x3f00b880 (bus address 0x7e00b880, reg size 0x40) on the Pi 2
// and 3, interrupt ARMCTRL basic bit 1 (QEMU's INTERRUPT_ARM_MAILBOX).
//
// Broadcom documents the mailboxes only in the Raspberry Pi firmware wiki ("Mailboxes",
// "Accessing mailboxes", "Mailbox property interface"). Facts used come from:
//  - the wiki: two 8-deep FIFOs of 32-bit words (mailbox 0 VC->ARM, mailbox 1
//    ARM->VC); a message is a channel in bits 3:0 and data in bits 31:4; channel 8
//    carries the address of a 16-byte aligned property buffer, answered in place and
//    echoed back on mailbox 0; the buffer, tag and response-code layout; every tag
//    number and value layout; "Unknown tags are ignored (the response bit will not be
//    set)"; responses truncated to the value buffer with the full length reported;
//  - Linux drivers/mailbox/bcm2835-mailbox.c: MAIL0_RD 0x00, MAIL0_POL 0x10, MAIL0_STA
//    0x18, MAIL0_CNF 0x1c, MAIL1_WRT 0x20, ARM_MS_FULL bit 31, ARM_MS_EMPTY bit 30,
//    ARM_MC_IHAVEDATAIRQEN bit 0; the IRQ handler reads MAIL0_RD until STATUS says
//    empty; drivers/firmware/raspberrypi.c and include/soc/bcm2835/raspberrypi-
//    firmware.h: the status codes 0, 0x80000000, 0x80000001, the tag numbers, clock
//    ids, "the firmware will error out without parsing" a buffer of 1 MiB or more;
//    drivers/soc/bcm/raspberrypi-power.c: "the firmware doesn't actually return an error
//    on an unknown tag, and just skips over it", and the domain ids (DT index + 1);
//    drivers/gpio/gpio-raspberrypi-exp.c: the Pi 3 GPIO expander tags report success by
//    zeroing the gpio word;
//  - QEMU hw/misc/bcm2835_mbox.c, bcm2835_property.c and hw/display/bcm2835_fb.c:
//    mailbox 0 read aliased over 0x00-0x0c and write over 0x20-0x2c, 0x0000000f read from
//    an empty mailbox, CONFIG bit 4 "data IRQ pending", SENDER reading 0, the bus
//    address masked with 0x3fffffff (RAM aliased at 0, 0x4, 0x8 and 0xc0000000), the
//    legacy framebuffer channel 1 answered with data 0, framebuffer defaults and pitch.
// See bcm2835_mbox.cpp for each modelling choice and its evidence.
//
// The VideoCore is modelled as a server that takes one message from mailbox 1 every
// kReplyDelayNs of virtual time (a TimerEvent), serves it and puts the reply in mailbox
// 0; the ARM interrupt is high while CONFIG bit 0 is set and mailbox 0 is not empty.
//
// Not modelled:
//  - the error bits of CONFIG (overflow, underflow, "none owner"), the space and
//    opposite-empty interrupts (CONFIG bits 1 and 2) and the clear bit (3): writing
//    them is logged as unimplemented; the FIFO level field of STATUS reads 0;
//  - mailbox 1's PEEK, SENDER and CONFIG (0x30, 0x34, 0x3c): the ARM has no business
//    there (Linux never touches them); they read 0 as guest errors;
//  - channels other than 1 and 8 (power 0, virtual UART 2, VCHIQ 3, ...): piemu runs
//    no firmware service behind them, so, as in QEMU, they are consumed and never
//    answered (logged as unimplemented); channel 9 and above are guest errors;
//  - property tags not listed in bcm2835_mbox.cpp (voltages, memory allocation, EDID,
//    OTP, cursor, VCHIQ, command line, ...): ignored as the firmware ignores unknown
//    tags. Changing a clock rate (the ARM's included) changes only what the tags report:
//    it does not change the virtual clock.
//  - the framebuffer's "test" tags answer with the request unchanged; mixing test and
//    set tags is not rejected; nothing is displayed (framebuffer() exposes the state).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "piemu/bus.hpp"
#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

/// Firmware clock ids (Linux enum rpi_firmware_clk_id; the wiki's "Clocks" section).
enum class MboxClockId : uint32_t {
    Emmc = 1,
    Uart = 2,
    Arm = 3,
    Core = 4,
    V3d = 5,
    H264 = 6,
    Isp = 7,
    Sdram = 8,
    Pixel = 9,
    Pwm = 10,
};
/// Entries in a clock table: index 0 (reserved) to 10 (PWM).
inline constexpr unsigned kMboxClockCount = 11;

/// One firmware clock in Hz. A clock with max 0 does not exist: its rate tags answer 0
/// and its state reports "does not exist", as the wiki specifies.
struct MboxClock {
    uint32_t rate = 0; ///< what "get clock rate" reports after reset
    uint32_t min = 0;
    uint32_t max = 0;
};

using MboxClockTable = std::array<MboxClock, kMboxClockCount>;

/// Clock table of a Pi 2 B (BCM2836) with the firmware's defaults, see .cpp for sources.
MboxClockTable mbox_clocks_pi2();
/// Clock table of a Pi 3 B (BCM2837) with the firmware's defaults, see .cpp for sources.
MboxClockTable mbox_clocks_pi3();

/// What the firmware knows about the board. Board wiring fills it; Pi 2 versus Pi 3 is
/// data here, never a branch in the model.
struct MboxBoardInfo {
    uint32_t board_revision;    ///< e.g. 0xa21041 (Pi 2 B 1.1), 0xa02082 (Pi 3 B)
    uint64_t serial;            ///< "get board serial"
    std::array<uint8_t, 6> mac; ///< "get board MAC address", network byte order
    uint32_t arm_mem_base;      ///< "get ARM memory": ARM physical base ...
    uint32_t arm_mem_size;      ///< ... and size in bytes
    uint32_t vc_mem_base;       ///< "get VC memory" (ARM physical); framebuffers go here
    uint32_t vc_mem_size;       ///< bytes
    uint32_t firmware_revision; ///< Linux prints it as a Unix time ("Attached to ...")
    uint32_t board_model = 0;   ///< "get board model"
    MboxClockTable clocks{};    ///< all zero: no clocks; see mbox_clocks_pi2/pi3()
    bool gpio_expander = false; ///< Pi 3: 8 firmware GPIOs 128-135 (BT, WL, LEDs, ...)
};

/// The framebuffer as the property tags configure it, for display code.
struct MboxFramebuffer {
    // Defaults: QEMU's bcm2835_fb properties (640x480, 16 bpp, RGB, alpha ignored).
    uint32_t width = 640; ///< physical (display) size in pixels
    uint32_t height = 480;
    uint32_t virtual_width = 640; ///< virtual (buffer) size in pixels
    uint32_t virtual_height = 480;
    uint32_t depth = 16;      ///< bits per pixel: 8, 16, 24 or 32
    uint32_t pixel_order = 1; ///< 0 BGR, 1 RGB
    uint32_t alpha_mode = 2;  ///< 0 enabled, 1 reversed, 2 ignored
    uint32_t x_offset = 0;    ///< virtual offset in pixels
    uint32_t y_offset = 0;
    uint32_t base = 0; ///< ARM physical address of the buffer; 0: none allocated
    uint32_t size = 0; ///< bytes allocated
    bool blanked = false;

    /// Bytes per line: the wider of the two widths times the bytes per pixel (QEMU).
    uint32_t pitch() const;
    /// Bytes the current configuration needs: pitch() times the taller height.
    uint64_t bytes_needed() const;
};

class Bcm2835Mbox final : public Device {
public:
    /// Register offsets (wiki "Mailboxes"; Linux bcm2835-mailbox.c). All 32 bits wide,
    /// 32-bit accesses only.
    enum class Reg : uint32_t {
        Read = 0x00,    ///< RO: pops mailbox 0; 0x04-0x0c alias it (QEMU)
        Peek = 0x10,    ///< RO: head of mailbox 0, not popped
        Sender = 0x14,  ///< RO: reads 0; writes ignored
        Status = 0x18,  ///< RO: mailbox 0 FULL [31], EMPTY [30]
        Config = 0x1c,  ///< RW: [0] data IRQ enable; RO [4] data IRQ pending
        Write = 0x20,   ///< WO: pushes mailbox 1; 0x24-0x2c alias it (QEMU)
        Status1 = 0x38, ///< RO: mailbox 1 FULL [31], EMPTY [30]
    };
    static constexpr uint32_t kMmioSize = 0x40;
    /// Messages each mailbox holds ("8-deep FIFO", wiki "Mailboxes"; QEMU uses 32).
    static constexpr unsigned kDepth = 8;
    static constexpr uint32_t kStatusFull = 1u << 31;
    static constexpr uint32_t kStatusEmpty = 1u << 30;
    static constexpr uint32_t kConfigDataIrqEnable = 1u << 0;  ///< ARM_MC_IHAVEDATAIRQEN
    static constexpr uint32_t kConfigDataIrqPending = 1u << 4; ///< ARM_MC_IHAVEDATAIRQPEND
    /// What READ and PEEK return while mailbox 0 is empty (QEMU's MBOX_INVALID_DATA).
    static constexpr uint32_t kEmptyRead = 0x0000000f;
    static constexpr uint32_t kChannelFramebuffer = 1;
    static constexpr uint32_t kChannelProperty = 8;
    /// Virtual time the VideoCore takes to serve one message. The firmware's real
    /// latency varies (tens of microseconds); what matters to guests is that the reply
    /// is not there at once, so polling and interrupt paths both get exercised.
    static constexpr uint64_t kReplyDelayNs = 1000;

    /// `bus` is where property buffers live (guest RAM, ARM physical addresses).
    Bcm2835Mbox(std::string name, VirtualClock& clock, Bus& bus, const MboxBoardInfo& info);

    /// What the firmware reports (the Linux loader writes the ARM memory into /memory).
    const MboxBoardInfo& board_info() const { return info_; }

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Both mailboxes empty, CONFIG 0, line low, no reply pending. The firmware state
    /// goes back to power-on too: clock rates from the board's table, clocks with a
    /// non-zero rate on, power devices off, power domains off except ARM, expander GPIOs
    /// inputs at 0, framebuffer at its defaults and unallocated.
    void reset() override;

    /// The one output, ARMCTRL basic pending bit 1.
    std::vector<IrqLine*> irq_outputs() override { return {&irq_}; }
    /// High while CONFIG bit 0 is set and mailbox 0 holds a message.
    IrqLine& irq() { return irq_; }

    /// The framebuffer configuration the guest asked for.
    const MboxFramebuffer& framebuffer() const { return fb_; }
    /// A clock's current rate in Hz (0 for a clock that does not exist).
    uint32_t clock_rate(MboxClockId id) const;

private:
    // One mailbox: a FIFO of kDepth messages.
    struct Fifo {
        std::array<uint32_t, kDepth> slot{};
        unsigned head = 0;
        unsigned count = 0;
        bool empty() const { return count == 0; }
        bool full() const { return count == kDepth; }
        uint32_t front() const { return slot[head]; }
        void push(uint32_t v) { slot[(head + count++) % kDepth] = v; }
        uint32_t pop();
        uint32_t status() const;
    };
    // Request words of a tag's value buffer, zero past its end.
    static constexpr unsigned kMaxArgs = 8;
    using Args = std::span<const uint32_t>;
    // A tag's response values (bytes: the MAC address is 6).
    using Reply = std::vector<uint8_t>;

    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    void update();

    // The VideoCore side (bcm2835_mbox.cpp).
    void kick(uint64_t from);
    void serve_next();
    std::optional<uint32_t> serve(uint32_t message);
    void serve_framebuffer(uint32_t addr, uint32_t alias);
    void serve_property(uint32_t addr);
    static std::array<uint32_t, kMaxArgs> tag_args(std::span<const uint8_t> buf, uint32_t at);
    void answer(std::span<uint8_t> buf, uint32_t at);

    // Property tags by family (bcm2835_mbox.cpp); nullopt: not a tag of the family.
    std::optional<Reply> board_tag(uint32_t id);
    std::optional<Reply> power_tag(uint32_t id, Args a);
    std::optional<Reply> clock_tag(uint32_t id, Args a);
    std::optional<Reply> gpio_tag(uint32_t id, Args a);
    std::optional<Reply> fb_tag(uint32_t id, Args a);
    void apply_fb_set(uint32_t id, Args a);
    Reply allocate_fb(uint32_t alignment);
    bool clock_exists(uint32_t id) const;

    VirtualClock& clock_;
    Bus& bus_;
    const MboxBoardInfo info_;
    IrqLine irq_;
    TimerEvent vc_timer_;

    // Registers.
    Fifo to_arm_; // mailbox 0
    Fifo to_vc_;  // mailbox 1
    uint32_t config_ = 0;

    // Firmware state.
    MboxClockTable clocks_{};
    std::array<bool, kMboxClockCount> clock_on_{};
    std::array<bool, 9> power_on_{};   // SD, UART0, UART1, USB, I2C0-2, SPI, CCP2TX
    std::array<bool, 24> domain_on_{}; // ids 1-23; 0 unused
    struct ExpGpio {
        uint32_t direction = 0, polarity = 0, term_en = 0, term_pull_up = 0, state = 0;
    };
    std::array<ExpGpio, 8> exp_gpio_{};
    MboxFramebuffer fb_;
    /// The property buffer being served, kept between requests: a buffer of up to
    /// 1 MiB is not allocated and faulted in afresh for every request.
    std::vector<uint8_t> property_buf_;
};

} // namespace piemu
