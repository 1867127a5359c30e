// BCM2835 mailboxes and the firmware property channel. See bcm2835_mbox.hpp for the
// sources and what is not modelled.
//
// Modelling choices, with their evidence:
//
//  - Registers: only 32-bit accesses (QEMU's valid.min/max_access_size 4; a narrow READ
//    must not pop). Others read 0 and are logged. READ at 0x00-0x0c and WRITE at
//    0x20-0x2c are one register each, as QEMU decodes them (0x80 ... 0x8c, 0xa0 ... 0xac).
//  - Reading an empty mailbox 0 returns 0x0000000f, QEMU's MBOX_INVALID_DATA (channel
//    15, data 0), not the last value, and is logged as a guest error: the hardware
//    flags it as an error too (QEMU's ARM_MC_ERRUNDRFLW "read from empty mailbox").
//    PEEK of an empty mailbox returns the same marker without logging (QEMU's reg[0]).
//  - Writing a full mailbox 1 drops the message and is a guest error (QEMU "mailbox
//    full"; ARM_MC_ERROVERFLW "write to fill mailbox"). Linux never does it: it polls
//    MAIL0_STA FULL in last_tx_done and sends one message at a time.
//  - CONFIG keeps only bit 0 (QEMU writes value & ARM_MC_IHAVEDATAIRQEN); reads add bit
//    4, "data IRQ pending", while mailbox 0 holds a message (QEMU). Linux writes 1 at
//    startup and 0 at shutdown.
//  - The VideoCore: each message written to mailbox 1 is served kReplyDelayNs of virtual
//    time later, one at a time, in order; the reply goes into mailbox 0. If mailbox 0 is
//    full the VideoCore waits, holding the message in mailbox 1, until the ARM reads
//    one. The buffer is read and answered when the message is served, not when it is
//    written, as a VPU working through its mailbox would.
//  - The interrupt is a level: CONFIG bit 0 and mailbox 0 not empty (QEMU's
//    bcm2835_mbox_update), recomputed by update() after every change (STYLE.md rule 5).
//  - Addresses: a message's data is a VideoCore bus address; RAM appears at 0x00000000,
//    0x40000000, 0x80000000 and 0xc0000000 on that bus (QEMU maps four aliases of RAM at
//    n << 30), so the ARM physical address is data & 0x3fffffff. Linux on the Pi 2 and
//    3 sends 0xc0000000-alias addresses (dma_alloc_coherent with the DT's dma-ranges).
//    The reply echoes the message unchanged (the wiki: "the callee is not allowed to
//    return a different buffer address"; QEMU answers MBOX_CHAN_PROPERTY | addr).
//  - Property buffers: the size word must be a multiple of 4, at least 12 (header and
//    end tag) and below 1 MiB (raspberrypi.c: "the firmware will error out without
//    parsing in this case"); otherwise the code word gets 0x80000001 and nothing is
//    parsed. Tags are walked as the wiki lays them out: 12-byte header, value buffer,
//    padding to 32 bits (QEMU skips the padding; Linux never has any). A tag running
//    past the buffer or a missing end tag stops the walk with 0x80000001, "error
//    parsing request buffer (partial response)": tags before it are answered. A request
//    code other than 0 is logged but the buffer is still served, as QEMU does.
//  - Each answered tag gets its response code 0x80000000 | length and its values
//    truncated to its value buffer, the length saying how much was wanted (wiki).
//    Unknown tags are left untouched, code included, and the buffer still gets
//    0x80000000 (wiki: "Unknown tags are ignored (the response bit will not be set)";
//    raspberrypi-power.c relies on it to detect firmware without domain support). QEMU
//    instead marks unknown tags answered with length 0.
//  - Framebuffer tags follow the wiki's recipe: all Set tags of a buffer are applied
//    first, then every tag is answered in order, so Get, Set (answered with the value
//    now in force) and allocate see the final configuration wherever they sit in the
//    buffer. An unsupported value leaves the setting as it was (the wiki: "may be the
//    previous ..."): sizes must be 1-16384 pixels, depth 8/16/24/32, pixel order 0-1,
//    alpha mode 0-2. Allocate takes the start of VC memory aligned as requested (0 means
//    16), pitch() * the taller height bytes; an alignment that is not a power of two or
//    a buffer that does not fit returns the current base and size unchanged (wiki). The
//    base is returned as a 0xc0000000-alias bus address, as the firmware does (bare-metal
//    code masks it with 0x3fffffff, "convert GPU address to ARM address"; QEMU returns
//    the ARM physical address). Release frees it (base and size 0).
//  - Channel 1, the legacy framebuffer: the 40-byte request (width, height, virtual
//    width, virtual height, pitch, depth, x/y offset, pointer, size) is applied and
//    answered like QEMU's bcm2835_fb_mbox_push (pointer with the request's alias bits),
//    and the reply is the channel with data 0 (QEMU's bcm2835_fb_read).
//  - Other channels get no reply: QEMU has no device behind 0 and 2-7 (the write goes
//    nowhere) and rejects 9 and above ("invalid channel").
#include "devices/bcm2835_mbox.hpp"

#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>

namespace piemu {

namespace {

using Reg = Bcm2835Mbox::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

constexpr uint32_t kBusToArm = 0x3fffffff;         // drops the four RAM alias bits
constexpr uint32_t kBusAliasUncached = 0xc0000000; // "0xC alias uncached" (wiki)
constexpr uint32_t kAliasMask = 0xc0000000;
constexpr uint32_t kChannelMask = 0xf;
constexpr uint32_t kFirstInvalidChannel = 9; // QEMU's MBOX_CHAN_COUNT

// Property buffer (raspberrypi-firmware.h enum rpi_firmware_property_status).
constexpr uint32_t kStatusSuccess = 0x80000000;
constexpr uint32_t kStatusParseError = 0x80000001;
constexpr uint32_t kResponseBit = 0x80000000;
constexpr uint32_t kMinBuffer = 12;       // size, code, end tag
constexpr uint32_t kMaxBuffer = 1u << 20; // the firmware refuses 1 MiB and more
constexpr uint32_t kTagHeader = 12;       // id, value buffer size, request/response

// Tags (raspberrypi-firmware.h enum rpi_firmware_property_tag; the wiki).
enum : uint32_t {
    kGetFirmwareRevision = 0x00000001,
    kGetBoardModel = 0x00010001,
    kGetBoardRevision = 0x00010002,
    kGetBoardMac = 0x00010003,
    kGetBoardSerial = 0x00010004,
    kGetArmMemory = 0x00010005,
    kGetVcMemory = 0x00010006,
    kGetClocks = 0x00010007,
    kGetPowerState = 0x00020001,
    kGetTiming = 0x00020002,
    kSetPowerState = 0x00028001,
    kGetClockState = 0x00030001,
    kGetClockRate = 0x00030002,
    kGetMaxClockRate = 0x00030004,
    kGetTemperature = 0x00030006,
    kGetMinClockRate = 0x00030007,
    kGetMaxTemperature = 0x0003000a,
    kGetDomainState = 0x00030030,
    kGetGpioState = 0x00030041,
    kGetGpioConfig = 0x00030043,
    kGetThrottled = 0x00030046,
    kGetClockMeasured = 0x00030047,
    kNotifyReboot = 0x00030048,
    kSetClockState = 0x00038001,
    kSetClockRate = 0x00038002,
    kSetDomainState = 0x00038030,
    kSetGpioState = 0x00038041,
    kSetGpioConfig = 0x00038043,
    kFbAllocate = 0x00040001,
    kFbBlank = 0x00040002,
    kFbGetPhysicalSize = 0x00040003,
    kFbGetVirtualSize = 0x00040004,
    kFbGetDepth = 0x00040005,
    kFbGetPixelOrder = 0x00040006,
    kFbGetAlphaMode = 0x00040007,
    kFbGetPitch = 0x00040008,
    kFbGetVirtualOffset = 0x00040009,
    kFbGetOverscan = 0x0004000a,
    kFbTestPhysicalSize = 0x00044003,
    kFbTestVirtualSize = 0x00044004,
    kFbTestDepth = 0x00044005,
    kFbTestPixelOrder = 0x00044006,
    kFbTestAlphaMode = 0x00044007,
    kFbTestVirtualOffset = 0x00044009,
    kFbTestOverscan = 0x0004400a,
    kFbRelease = 0x00048001,
    kFbSetPhysicalSize = 0x00048003,
    kFbSetVirtualSize = 0x00048004,
    kFbSetDepth = 0x00048005,
    kFbSetPixelOrder = 0x00048006,
    kFbSetAlphaMode = 0x00048007,
    kFbSetVirtualOffset = 0x00048009,
    kFbSetOverscan = 0x0004800a,
};

constexpr uint32_t kStateOn = 1u << 0;       // power and clock states, bit 0
constexpr uint32_t kStateNoDevice = 1u << 1; // "device/clock does not exist"
constexpr uint32_t kDomainArm = 23;          // RPI_POWER_DOMAIN_ARM (22) + 1
constexpr uint32_t kExpGpioBase = 128;       // RPI_EXP_GPIO_BASE
constexpr uint32_t kMaxFbPixels = 16384;     // per side; keeps pitch * height in range
constexpr uint32_t kTemperature = 25000;     // QEMU's value, thousandths of a degree C
constexpr uint32_t kMaxTemperature = 85000;  // config.txt temp_limit default, 85 C

uint32_t get32(std::span<const uint8_t> b, uint32_t at) {
    return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 |
           uint32_t(b[at + 3]) << 24;
}

void put32(std::span<uint8_t> b, uint32_t at, uint32_t v) {
    for (unsigned i = 0; i < 4; ++i)
        b[at + i] = uint8_t(v >> (8 * i));
}

std::vector<uint8_t> words(std::initializer_list<uint32_t> values) {
    std::vector<uint8_t> r(values.size() * 4);
    uint32_t at = 0;
    for (uint32_t v : values) {
        put32(r, at, v);
        at += 4;
    }
    return r;
}

// Header offsets of the tags before the end tag; false if the walk ran off the buffer.
bool walk_tags(std::span<const uint8_t> buf, std::vector<uint32_t>& tags) {
    uint32_t at = 8;
    while (at + 4 <= buf.size()) {
        if (get32(buf, at) == 0)
            return true;
        if (at + kTagHeader > buf.size())
            return false;
        uint64_t end = uint64_t(at) + kTagHeader + get32(buf, at + 4);
        if (end > buf.size())
            return false;
        tags.push_back(at);
        at = static_cast<uint32_t>((end + 3) & ~uint64_t(3));
    }
    return false;
}

} // namespace

// ---- clock tables ----
//
// Rates in Hz as the firmware reports them, rate = what "get clock rate" answers after
// reset (the emulated ARM always runs at its maximum). Sources:
//  - ARM, CORE, V3D, H264, ISP maxima: config.txt's documented defaults, arm_freq 900
//    (Pi 2) and 1200 (Pi 3); gpu_freq 250 for every block on the Pi 2; on the Pi 3
//    core_freq 400 and h264/isp/v3d 300;
//  - minima: a Pi 3 B (revision a02082) at idle reports arm 600 MHz, core, h264, isp
//    and v3d 250 MHz (vcgencmd measure_clock); the Pi 2's arm minimum is taken as the
//    same 600 MHz;
//  - UART 48 MHz and EMMC 250 MHz: the same Pi 3 listing (47999000, 250000000). The
//    wiki's "3MHz for UART" (and QEMU's 3000000) is the pre-2016 firmware default;
//  - SDRAM 400 MHz (Pi 2) and 450 MHz (Pi 3): config.txt's sdram_freq defaults, not
//    confirmed by a second source;
//  - PIXEL and PWM read 0 on a headless Pi 3: modelled as absent, which reports the
//    same rate 0 (their state then says "does not exist").

namespace {
constexpr uint32_t MHz(uint32_t m) {
    return m * 1'000'000;
}
MboxClockTable common_clocks() {
    MboxClockTable t{};
    t[uint32_t(MboxClockId::Emmc)] = {MHz(250), MHz(250), MHz(250)};
    t[uint32_t(MboxClockId::Uart)] = {MHz(48), MHz(48), MHz(48)};
    return t;
}
} // namespace

MboxClockTable mbox_clocks_pi2() {
    MboxClockTable t = common_clocks();
    t[uint32_t(MboxClockId::Arm)] = {MHz(900), MHz(600), MHz(900)};
    for (MboxClockId id :
         {MboxClockId::Core, MboxClockId::V3d, MboxClockId::H264, MboxClockId::Isp})
        t[uint32_t(id)] = {MHz(250), MHz(250), MHz(250)};
    t[uint32_t(MboxClockId::Sdram)] = {MHz(400), MHz(400), MHz(400)};
    return t;
}

MboxClockTable mbox_clocks_pi3() {
    MboxClockTable t = common_clocks();
    t[uint32_t(MboxClockId::Arm)] = {MHz(1200), MHz(600), MHz(1200)};
    t[uint32_t(MboxClockId::Core)] = {MHz(400), MHz(250), MHz(400)};
    for (MboxClockId id : {MboxClockId::V3d, MboxClockId::H264, MboxClockId::Isp})
        t[uint32_t(id)] = {MHz(300), MHz(250), MHz(300)};
    t[uint32_t(MboxClockId::Sdram)] = {MHz(450), MHz(450), MHz(450)};
    return t;
}

uint32_t MboxFramebuffer::pitch() const {
    return std::max(width, virtual_width) * (depth / 8);
}

uint64_t MboxFramebuffer::bytes_needed() const {
    return uint64_t(pitch()) * std::max(height, virtual_height);
}

// ---- construction and reset ----

Bcm2835Mbox::Bcm2835Mbox(std::string name, VirtualClock& clock, Bus& bus, const MboxBoardInfo& info)
    : Device(std::move(name)), clock_(clock), bus_(bus), info_(info),
      vc_timer_(clock, this->name() + ".vc", [this] { serve_next(); }) {
    Bcm2835Mbox::reset();
}

void Bcm2835Mbox::reset() {
    vc_timer_.cancel();
    to_arm_ = {};
    to_vc_ = {};
    config_ = 0;
    clocks_ = info_.clocks;
    for (uint32_t id = 0; id < kMboxClockCount; ++id)
        clock_on_[id] = clock_exists(id) && clocks_[id].rate != 0;
    power_on_.fill(false);
    domain_on_.fill(false);
    domain_on_[kDomainArm] = true; // the ARM is running
    exp_gpio_.fill({});
    fb_ = {};
    update();
}

uint32_t Bcm2835Mbox::clock_rate(MboxClockId id) const {
    uint32_t n = static_cast<uint32_t>(id);
    return clock_exists(n) ? clocks_[n].rate : 0;
}

bool Bcm2835Mbox::clock_exists(uint32_t id) const {
    return id < kMboxClockCount && id != 0 && clocks_[id].max != 0;
}

uint32_t Bcm2835Mbox::Fifo::pop() {
    uint32_t v = slot[head];
    head = (head + 1) % kDepth;
    --count;
    return v;
}

uint32_t Bcm2835Mbox::Fifo::status() const {
    return (empty() ? kStatusEmpty : 0) | (full() ? kStatusFull : 0);
}

// ---- MMIO ----

uint32_t Bcm2835Mbox::read(uint32_t offset, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "not a 32-bit register read: reads 0");
        return 0;
    }
    return read_reg(offset);
}

void Bcm2835Mbox::write(uint32_t offset, uint32_t value, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "not a 32-bit register write: ignored");
        return;
    }
    write_reg(offset, value);
}

uint32_t Bcm2835Mbox::read_reg(uint32_t offset) {
    if (offset < off(Reg::Peek)) { // READ and its aliases
        if (to_arm_.empty()) {
            log_guest_error(*this, offset, "read of empty mailbox 0: reads 0x0000000f");
            return kEmptyRead;
        }
        uint32_t message = to_arm_.pop();
        kick(clock_.now()); // the VideoCore may be waiting for space
        update();
        return message;
    }
    switch (static_cast<Reg>(offset)) {
    case Reg::Peek:
        return to_arm_.empty() ? kEmptyRead : to_arm_.front();
    case Reg::Sender:
        return 0;
    case Reg::Status:
        return to_arm_.status();
    case Reg::Config:
        return config_ | (to_arm_.empty() ? 0 : kConfigDataIrqPending);
    case Reg::Status1:
        return to_vc_.status();
    default:
        log_guest_error(*this, offset, "read of a write-only or unknown register: reads 0");
        return 0;
    }
}

void Bcm2835Mbox::write_reg(uint32_t offset, uint32_t value) {
    if (offset >= off(Reg::Write) && offset < off(Reg::Write) + 0x10) { // WRITE, aliases
        if (to_vc_.full()) {
            log_guest_error(*this, offset, "write to full mailbox 1: message dropped");
            return;
        }
        to_vc_.push(value);
        kick(clock_.now());
        update();
        return;
    }
    switch (static_cast<Reg>(offset)) {
    case Reg::Config:
        if (value & ~kConfigDataIrqEnable)
            log_unimplemented(*this, offset, "CONFIG bits other than 0 (data IRQ enable)");
        config_ = value & kConfigDataIrqEnable;
        break;
    case Reg::Sender:
        return; // NOTE: ignored, as QEMU does
    default:
        log_guest_error(*this, offset, "write to a read-only or unknown register ignored");
        return;
    }
    update();
}

// Drives the ARM interrupt from CONFIG and mailbox 0. Ends every state change.
void Bcm2835Mbox::update() {
    irq_.set((config_ & kConfigDataIrqEnable) && !to_arm_.empty());
}

// ---- the VideoCore ----

// Schedules the next message of mailbox 1, if any and none is being served, one reply
// delay after `from`: now() for a new message, the previous expiry when chaining, so a
// late run_due() does not stretch a queue of messages.
void Bcm2835Mbox::kick(uint64_t from) {
    if (to_vc_.empty() || vc_timer_.armed())
        return;
    uint64_t cycles = clock_.hz() * kReplyDelayNs / 1'000'000'000;
    vc_timer_.arm_at(from + std::max<uint64_t>(cycles, 1));
}

void Bcm2835Mbox::serve_next() {
    if (to_arm_.full())
        return; // waits for the ARM to read: the READ kicks again
    if (auto reply = serve(to_vc_.pop()))
        to_arm_.push(*reply);
    kick(vc_timer_.expiry());
    update();
}

// Serves one message; the reply for mailbox 0, if the channel answers.
std::optional<uint32_t> Bcm2835Mbox::serve(uint32_t message) {
    uint32_t channel = message & kChannelMask;
    uint32_t addr = message & ~kChannelMask & kBusToArm;
    if (channel == kChannelProperty) {
        serve_property(addr);
        return message;
    }
    if (channel == kChannelFramebuffer) {
        serve_framebuffer(addr, message & kAliasMask);
        return kChannelFramebuffer;
    }
    if (channel >= kFirstInvalidChannel)
        log_guest_error(*this, off(Reg::Write), "message on an invalid channel: dropped");
    else
        log_unimplemented(*this, off(Reg::Write),
                          fmt::format("channel {}: no firmware service, not answered", channel));
    return std::nullopt;
}

void Bcm2835Mbox::serve_framebuffer(uint32_t addr, uint32_t alias) {
    std::array<uint8_t, 40> raw{};
    if (!bus_.read_phys(addr, raw)) {
        log_guest_error(*this, off(Reg::Write), "framebuffer request not in RAM");
        return;
    }
    auto w = [&](unsigned i) { return get32(raw, 4 * i); };
    const uint32_t phys[] = {w(0), w(1)}, virt[] = {w(2), w(3)}, depth[] = {w(5)},
                   offset[] = {w(6), w(7)};
    apply_fb_set(kFbSetPhysicalSize, phys);
    apply_fb_set(kFbSetVirtualSize, virt);
    apply_fb_set(kFbSetDepth, depth);
    apply_fb_set(kFbSetVirtualOffset, offset);
    allocate_fb(0);
    put32(raw, 16, fb_.pitch());
    put32(raw, 32, fb_.base ? fb_.base | alias : 0);
    put32(raw, 36, fb_.size);
    bus_.write_phys(addr, raw);
}

void Bcm2835Mbox::serve_property(uint32_t addr) {
    uint32_t size = 0;
    if (!bus_.read32(addr, size) || !bus_.is_memory(addr, 8)) {
        log_guest_error(*this, off(Reg::Write), "property buffer not in RAM: not parsed");
        return;
    }
    if (size < kMinBuffer || size % 4 != 0 || size >= kMaxBuffer || !bus_.is_memory(addr, size)) {
        log_guest_error(*this, off(Reg::Write), "bad property buffer size: not parsed");
        std::array<uint8_t, 4> code{};
        put32(code, 0, kStatusParseError);
        bus_.write_phys(addr + 4, code);
        return;
    }
    std::vector<uint8_t>& buf = property_buf_;
    buf.resize(size);
    bus_.read_phys(addr, buf);
    if (get32(buf, 4) != 0)
        log_guest_error(*this, off(Reg::Write), "property request code not 0: served anyway");
    std::vector<uint32_t> tags;
    bool complete = walk_tags(buf, tags);
    for (uint32_t at : tags) // framebuffer Set tags first (wiki "Frame Buffer")
        if ((get32(buf, at) & 0xffff8000) == 0x00048000) {
            auto args = tag_args(buf, at);
            apply_fb_set(get32(buf, at), args);
        }
    for (uint32_t at : tags)
        answer(buf, at);
    put32(buf, 4, complete ? kStatusSuccess : kStatusParseError);
    if (!complete)
        log_guest_error(*this, off(Reg::Write), "property buffer without a valid end tag");
    bus_.write_phys(addr, buf);
}

std::array<uint32_t, Bcm2835Mbox::kMaxArgs> Bcm2835Mbox::tag_args(std::span<const uint8_t> buf,
                                                                  uint32_t at) {
    std::array<uint32_t, kMaxArgs> args{};
    uint32_t n = std::min<uint32_t>(get32(buf, at + 4) / 4, kMaxArgs);
    for (uint32_t i = 0; i < n; ++i)
        args[i] = get32(buf, at + kTagHeader + 4 * i);
    return args;
}

// Answers the tag at `at` in place, or leaves it untouched if it is unknown.
void Bcm2835Mbox::answer(std::span<uint8_t> buf, uint32_t at) {
    uint32_t id = get32(buf, at);
    uint32_t buf_size = get32(buf, at + 4);
    auto args = tag_args(buf, at);
    std::optional<Reply> reply;
    switch (id >> 16) {
    case 0x0:
    case 0x1:
        reply = board_tag(id);
        break;
    case 0x2:
        reply = power_tag(id, args);
        break;
    case 0x3:
        reply = clock_tag(id, args);
        if (!reply)
            reply = power_tag(id, args); // domain state
        if (!reply && info_.gpio_expander)
            reply = gpio_tag(id, args);
        break;
    case 0x4:
        reply = fb_tag(id, args);
        break;
    }
    if (!reply) {
        log_unimplemented(*this, off(Reg::Write),
                          fmt::format("property tag {:#010x} ignored, as the firmware ignores "
                                      "unknown tags",
                                      id));
        return;
    }
    uint32_t n = std::min<uint32_t>(buf_size, static_cast<uint32_t>(reply->size()));
    std::copy_n(reply->begin(), n, buf.begin() + at + kTagHeader);
    put32(buf, at + 8, kResponseBit | static_cast<uint32_t>(reply->size()));
}

// ---- property tags ----

std::optional<Bcm2835Mbox::Reply> Bcm2835Mbox::board_tag(uint32_t id) {
    switch (id) {
    case kGetFirmwareRevision:
        return words({info_.firmware_revision});
    case kGetBoardModel:
        return words({info_.board_model});
    case kGetBoardRevision:
        return words({info_.board_revision});
    case kGetBoardMac:
        return Reply(info_.mac.begin(), info_.mac.end());
    case kGetBoardSerial:
        return words(
            {static_cast<uint32_t>(info_.serial), static_cast<uint32_t>(info_.serial >> 32)});
    case kGetArmMemory:
        return words({info_.arm_mem_base, info_.arm_mem_size});
    case kGetVcMemory:
        return words({info_.vc_mem_base, info_.vc_mem_size});
    case kGetClocks: { // (parent, id) pairs; every clock is a root here
        Reply r;
        for (uint32_t n = 0; n < kMboxClockCount; ++n)
            if (clock_exists(n)) {
                auto pair = words({0, n});
                r.insert(r.end(), pair.begin(), pair.end());
            }
        return r;
    }
    default:
        return std::nullopt;
    }
}

// Power devices (0x0002xxxx) and power domains (get/set domain state).
std::optional<Bcm2835Mbox::Reply> Bcm2835Mbox::power_tag(uint32_t id, Args a) {
    bool device = a[0] < power_on_.size();
    bool domain = a[0] != 0 && a[0] < domain_on_.size();
    switch (id) {
    case kGetPowerState:
        return words({a[0], device ? uint32_t(power_on_[a[0]]) : kStateNoDevice});
    case kGetTiming: // NOTE: piemu's devices are stable at once; 0 for absent ones too
        return words({a[0], 0});
    case kSetPowerState: // bit 1 ("wait") needs no waiting here
        if (device)
            power_on_[a[0]] = a[1] & kStateOn;
        return words({a[0], device ? uint32_t(power_on_[a[0]]) : kStateNoDevice});
    case kGetDomainState:
        return words({a[0], domain ? uint32_t(domain_on_[a[0]]) : 0});
    case kSetDomainState:
        if (domain)
            domain_on_[a[0]] = a[1] != 0;
        return words({a[0], domain ? uint32_t(domain_on_[a[0]]) : 0});
    default:
        return std::nullopt;
    }
}

// Clocks (by MboxClockId), temperature, throttling, reboot notice.
std::optional<Bcm2835Mbox::Reply> Bcm2835Mbox::clock_tag(uint32_t id, Args a) {
    uint32_t n = a[0];
    bool exists = clock_exists(n);
    MboxClock c = exists ? clocks_[n] : MboxClock{};
    switch (id) {
    case kGetClockState:
        return words({n, exists ? uint32_t(clock_on_[n]) : kStateNoDevice});
    case kSetClockState:
        if (exists)
            clock_on_[n] = a[1] & kStateOn;
        return words({n, exists ? uint32_t(clock_on_[n]) : kStateNoDevice});
    case kGetClockRate: // the rate it runs at when enabled, even if off (wiki)
        return words({n, c.rate});
    case kGetClockMeasured:
        return words({n, exists && clock_on_[n] ? c.rate : 0});
    case kGetMaxClockRate:
        return words({n, c.max});
    case kGetMinClockRate:
        return words({n, c.min});
    case kSetClockRate: // "may be clamped to the supported range"; a[2] (skip turbo) unused
        if (exists)
            clocks_[n].rate = std::clamp(a[1], c.min, c.max);
        return words({n, exists ? clocks_[n].rate : 0});
    case kGetTemperature:
        return words({a[0], kTemperature});
    case kGetMaxTemperature:
        return words({a[0], kMaxTemperature});
    case kGetThrottled: // never throttled, never was
        return words({0});
    case kNotifyReboot:
        return Reply{};
    default:
        return std::nullopt;
    }
}

// The Pi 3's firmware GPIO expander: success is the gpio word answered as 0; an unknown
// line keeps its number there, which gpio-raspberrypi-exp.c reports as a failure.
std::optional<Bcm2835Mbox::Reply> Bcm2835Mbox::gpio_tag(uint32_t id, Args a) {
    if (id != kGetGpioState && id != kSetGpioState && id != kGetGpioConfig && id != kSetGpioConfig)
        return std::nullopt;
    if (a[0] < kExpGpioBase || a[0] - kExpGpioBase >= exp_gpio_.size())
        return words({a[0], 0});
    ExpGpio& g = exp_gpio_[a[0] - kExpGpioBase];
    switch (id) {
    case kSetGpioState:
        g.state = a[1] != 0;
        [[fallthrough]];
    case kGetGpioState:
        return words({0, g.state});
    case kSetGpioConfig: // {gpio, direction, polarity, term_en, term_pull_up, state}
        g = {a[1], a[2], a[3], a[4], a[1] ? uint32_t(a[5] != 0) : g.state};
        return words({0, g.direction, g.polarity, g.term_en, g.term_pull_up, g.state});
    default: // kGetGpioConfig
        return words({0, g.direction, g.polarity, g.term_en, g.term_pull_up});
    }
}

void Bcm2835Mbox::apply_fb_set(uint32_t id, Args a) {
    auto size_ok = [&] { return a[0] && a[1] && a[0] <= kMaxFbPixels && a[1] <= kMaxFbPixels; };
    switch (id) {
    case kFbSetPhysicalSize:
        if (size_ok()) {
            fb_.width = a[0];
            fb_.height = a[1];
        }
        break;
    case kFbSetVirtualSize:
        if (size_ok()) {
            fb_.virtual_width = a[0];
            fb_.virtual_height = a[1];
        }
        break;
    case kFbSetDepth:
        if (a[0] == 8 || a[0] == 16 || a[0] == 24 || a[0] == 32)
            fb_.depth = a[0];
        break;
    case kFbSetPixelOrder:
        if (a[0] <= 1)
            fb_.pixel_order = a[0];
        break;
    case kFbSetAlphaMode:
        if (a[0] <= 2)
            fb_.alpha_mode = a[0];
        break;
    case kFbSetVirtualOffset:
        fb_.x_offset = a[0];
        fb_.y_offset = a[1];
        break;
    default:
        break; // NOTE: overscan stays 0; release and unknown Set tags change nothing here
    }
}

std::optional<Bcm2835Mbox::Reply> Bcm2835Mbox::fb_tag(uint32_t id, Args a) {
    switch (id) {
    case kFbAllocate:
        return allocate_fb(a[0]);
    case kFbRelease:
        fb_.base = 0;
        fb_.size = 0;
        return Reply{};
    case kFbBlank:
        fb_.blanked = a[0] & 1;
        return words({a[0] & 1});
    case kFbGetPhysicalSize:
    case kFbSetPhysicalSize:
        return words({fb_.width, fb_.height});
    case kFbGetVirtualSize:
    case kFbSetVirtualSize:
        return words({fb_.virtual_width, fb_.virtual_height});
    case kFbGetDepth:
    case kFbSetDepth:
        return words({fb_.depth});
    case kFbGetPixelOrder:
    case kFbSetPixelOrder:
        return words({fb_.pixel_order});
    case kFbGetAlphaMode:
    case kFbSetAlphaMode:
        return words({fb_.alpha_mode});
    case kFbGetPitch:
        return words({fb_.pitch()});
    case kFbGetVirtualOffset:
    case kFbSetVirtualOffset:
        return words({fb_.x_offset, fb_.y_offset});
    case kFbGetOverscan:
    case kFbTestOverscan:
    case kFbSetOverscan:
        return words({0, 0, 0, 0});
    case kFbTestPhysicalSize:
    case kFbTestVirtualSize:
    case kFbTestVirtualOffset:
        return words({a[0], a[1]});
    case kFbTestDepth:
    case kFbTestPixelOrder:
    case kFbTestAlphaMode:
        return words({a[0]});
    default:
        return std::nullopt;
    }
}

// {bus base, size} of the buffer after an allocate request aligned to `alignment`.
Bcm2835Mbox::Reply Bcm2835Mbox::allocate_fb(uint32_t alignment) {
    uint64_t align = alignment ? alignment : 16;
    uint64_t base = (uint64_t(info_.vc_mem_base) + align - 1) & ~(align - 1);
    uint64_t need = fb_.bytes_needed();
    bool fits = need != 0 && base + need <= uint64_t(info_.vc_mem_base) + info_.vc_mem_size;
    if ((align & (align - 1)) == 0 && fits) {
        fb_.base = static_cast<uint32_t>(base);
        fb_.size = static_cast<uint32_t>(need);
    } else {
        log_guest_error(*this, off(Reg::Write),
                        "framebuffer allocation impossible: current buffer returned");
    }
    return words({fb_.base ? fb_.base | kBusAliasUncached : 0, fb_.size});
}

} // namespace piemu
