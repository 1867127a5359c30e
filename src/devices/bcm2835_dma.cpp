// BCM2835 DMA controller. See bcm2835_dma.hpp for the sources and what is not modelled.
//
// Modelling choices, with their evidence:
//
//  - Running is a level: a channel runs while CS.ACTIVE is set, its ENABLE bit is set and
//    it has a CB (datasheet 4.2.1.2 CS.ACTIVE: "The DMA will start if this bit is set and
//    the CB_ADDR is non zero. The DMA transfer can be paused and resumed by clearing, then
//    setting it again."). So writing CONBLK_AD with ACTIVE already set starts it too, and
//    ACTIVE written with CONBLK_AD 0 stays set but idle, which Linux's interrupt handler
//    relies on (it acks with INT | ACTIVE: "If the channel is finished, it will remain
//    idle despite the ACTIVE flag being set"). Clearing an ENABLE bit holds the channel
//    the same way; setting it again resumes.
//  - CS.PAUSED reads 1 while a CB is loaded but the channel is held (ACTIVE or ENABLE
//    clear); the datasheet's other pause causes (wait cycles, debug pause, outstanding
//    writes) never last in this model. CS.ERROR is DEBUG's error flags ORed, cleared by
//    writing 1s to DEBUG (4.2.1.2 CS.ERROR).
//  - At the end of a CB: END is set, INT too if TI.INTEN ("Once set it must be manually
//    cleared down, even if the next CB has INTEN = 0"); CONBLK_AD takes NEXTCONBK; if that
//    is 0 ACTIVE clears ("automatically cleared ... after a NEXTCONBK = 0x0000_0000 has
//    been loaded"), else the next CB is fetched at once.
//  - CB and NEXTCONBK addresses are 256-bit aligned: bits 4:0 read as zero (4.2.1.2
//    NEXTCONBK). A CONBLK_AD write with them set is logged and they are dropped.
//  - RESET (W1SC) puts the channel back to its reset state, whatever else the write
//    holds (Linux writes it alone). ABORT (W1SC) drops the rest of the current CB without
//    END or INT and loads NEXTCONBK ("The DMA will load the next CB and attempt to
//    continue"); the datasheet does not say whether END is set, QEMU ignores ABORT.
//  - 2D mode (TI.TDMODE, full channels only): TXFR_LEN holds XLENGTH [15:0] bytes per
//    row and YLENGTH [29:16], and the engine moves YLENGTH + 1 rows: Raspberry Pi's
//    bcm2708_fb.c programs "height - 1" ("This is not really obvious from the DMA
//    documentation, but the top 16 bits must be programmmed to 'height -1'"); QEMU moves
//    YLENGTH rows. After each row but the last the signed 16-bit S_STRIDE and D_STRIDE
//    are added to the addresses (as QEMU does; bcm2708_fb's stride = pitch - width).
//    TXFR_LEN counts down as the transfer progresses ("Updated by the DMA engine as the
//    transfer progresses"); SOURCE_AD and DEST_AD advance with S_INC and D_INC.
//  - Lite channels 7-14 (4.5): no 2D mode (TDMODE is logged and the CB runs linear),
//    TXFR_LEN is 16 bits; DEBUG.LITE reads 1 (Linux's probe reads it to use
//    MAX_LITE_DMA_LEN).
//  - Data moves in units of up to 4 bytes (a 32-bit beat; a transfer length that is no
//    multiple of 4 ends with a narrower unit). S_IGNORE reads zeros, D_IGNORE drops the
//    writes, both still advance the addresses and the length (as QEMU does). RAM is
//    copied with Bus::read_phys/write_phys; other addresses go through Bus::mmio_read /
//    mmio_write as one word access when the unit is an aligned word, else byte accesses.
//  - Timing, chosen rather than measured (the datasheet gives no throughput): the
//    engines run on the 250 MHz core clock and move one 32-bit beat per 4 core cycles
//    (250 MB/s); Lite engines take twice as long (4.5: about half the bandwidth); TI.WAITS
//    adds its dummy cycles after each read and each write ("the number of dummy cycles
//    burnt after each DMA read or write operation"); a CB fetch costs 8 beats (32
//    bytes). A channel moves at most 64 bytes per timer event (16 beats, the longest
//    burst BURST_LENGTH allows), so pausing, aborting or resetting takes effect within
//    one slice; the data of a slice moves when its time has passed.
//  - Sub-word accesses act on the containing register as in pl011.cpp; a narrow CS write
//    merges into the stored RW fields (never END or INT: those clear only on written 1s).
#include "devices/bcm2835_dma.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace piemu {

namespace {

using Reg = Bcm2835Dma::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

// CS.
constexpr uint32_t kCsActive = 1u << 0;
constexpr uint32_t kCsEnd = 1u << 1;
constexpr uint32_t kCsInt = 1u << 2;
constexpr uint32_t kCsDreq = 1u << 3;
constexpr uint32_t kCsPaused = 1u << 4;
constexpr uint32_t kCsError = 1u << 8;
constexpr uint32_t kCsAbort = 1u << 30;
constexpr uint32_t kCsReset = 1u << 31;
// ACTIVE, PRIORITY, PANIC_PRIORITY, WAIT_FOR_OUTSTANDING_WRITES, DISDEBUG (QEMU's
// BCM2708_DMA_CS_RW_MASK).
constexpr uint32_t kCsRwMask = 0x30ff0001;
// TI.
constexpr uint32_t kTiInten = 1u << 0;
constexpr uint32_t kTiTdmode = 1u << 1;
constexpr uint32_t kTiDestInc = 1u << 4;
constexpr uint32_t kTiDestIgnore = 1u << 7;
constexpr uint32_t kTiSrcInc = 1u << 8;
constexpr uint32_t kTiSrcIgnore = 1u << 11;
constexpr unsigned kTiWaitsShift = 21;
constexpr uint32_t kTiWaitsMask = 0x1f;
// TXFR_LEN.
constexpr uint32_t kLenMask = 0x3fffffff; // 30 bits; 2D: YLENGTH [29:16], XLENGTH [15:0]
constexpr uint32_t kLiteLenMask = 0xffff;
constexpr uint32_t kXlenMask = 0xffff;
constexpr unsigned kYlenShift = 16;
// DEBUG.
constexpr uint32_t kDebugReadError = 1u << 2;
constexpr uint32_t kDebugErrorMask = 0x7;
constexpr uint32_t kDebugLite = 1u << 28;

constexpr uint32_t kCbAlignMask = 0x1f; // CBs are 32-byte aligned
constexpr uint32_t kCbBytes = 32;
constexpr uint32_t kEnableMask = 0x7fff; // channels 0-14

// Timing; see the comment at the top.
constexpr uint64_t kCoreClockHz = 250'000'000;
constexpr uint64_t kCoreCyclesPerBeat = 4;
constexpr uint32_t kCbFetchBeats = 8;
constexpr uint32_t kSliceBytes = 64;

// Bus address aliases (datasheet 1.2.4).
constexpr uint32_t kBusPeripheralMask = 0xff000000;
constexpr uint32_t kBusPeripheralBase = 0x7e000000;
constexpr uint32_t kBusRamMask = 0x3fffffff;

uint32_t le32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

} // namespace

Bcm2835Dma::Bcm2835Dma(std::string name, VirtualClock& clock, Bus& bus)
    : Device(std::move(name)), clock_(clock), bus_(bus),
      timer_([this]<size_t... I>(std::index_sequence<I...>) {
          return std::array<TimerEvent, kChannels>{make_timer(I)...};
      }(std::make_index_sequence<kChannels>{})) {
    Bcm2835Dma::reset();
}

TimerEvent Bcm2835Dma::make_timer(unsigned n) {
    return TimerEvent(clock_, name() + ".ch" + std::to_string(n), [this, n] { step(n); });
}

void Bcm2835Dma::reset() {
    for (unsigned n = 0; n < kChannels; ++n)
        reset_channel(n);
    enable_ = kEnableMask;
    update();
}

std::vector<IrqLine*> Bcm2835Dma::irq_outputs() {
    std::vector<IrqLine*> out;
    for (auto& line : irq_)
        out.push_back(&line);
    return out;
}

IrqLine& Bcm2835Dma::irq(unsigned index) {
    assert(index < kIrqOutputs);
    return irq_[index];
}

uint32_t Bcm2835Dma::bus_to_phys(uint32_t bus_addr) {
    if ((bus_addr & kBusPeripheralMask) == kBusPeripheralBase)
        return kPeripheralPhysBase | (bus_addr & ~kBusPeripheralMask);
    return bus_addr & kBusRamMask;
}

// ---- MMIO ----

uint32_t Bcm2835Dma::read(uint32_t offset, unsigned size) {
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Dma::write(uint32_t offset, uint32_t value, unsigned size) {
    write_register_lane(
        *this, offset, value, size, kMmioSize,
        [this](uint32_t aligned) { return merge_base(aligned); },
        [this](uint32_t aligned, uint32_t v) { write_reg(aligned, v); });
}

uint32_t Bcm2835Dma::read_reg(uint32_t offset) {
    if (offset == kIntStatus) {
        uint32_t v = 0;
        for (unsigned n = 0; n < kChannels; ++n)
            v |= (ch_[n].cs & kCsInt) ? 1u << n : 0;
        return v;
    }
    if (offset == kEnable)
        return enable_;
    unsigned n = offset / kChannelStride;
    uint32_t reg = offset % kChannelStride;
    if (n >= kChannels || reg > off(Reg::Debug)) {
        log_guest_error(*this, offset, "read of unknown register");
        return 0;
    }
    return read_channel(n, reg);
}

uint32_t Bcm2835Dma::read_channel(unsigned n, uint32_t reg) {
    const Channel& c = ch_[n];
    switch (static_cast<Reg>(reg)) {
    case Reg::Cs:
        return read_cs(n);
    case Reg::ConblkAd:
        return c.conblk_ad;
    case Reg::Ti:
        return c.ti;
    case Reg::SourceAd:
        return c.source_ad;
    case Reg::DestAd:
        return c.dest_ad;
    case Reg::TxfrLen:
        return c.txfr_len;
    case Reg::Stride:
        return c.stride;
    case Reg::NextConbk:
        return c.nextconbk;
    case Reg::Debug:
        return c.debug_errors | (lite(n) ? kDebugLite : 0);
    }
    log_guest_error(*this, n * kChannelStride + reg, "read of unknown register");
    return 0;
}

void Bcm2835Dma::write_reg(uint32_t offset, uint32_t value) {
    if (offset == kIntStatus) {
        log_guest_error(*this, offset, "write to read-only INT_STATUS ignored (clear CS.INT)");
        return;
    }
    if (offset == kEnable) {
        enable_ = value & kEnableMask;
        for (unsigned n = 0; n < kChannels; ++n)
            kick(n);
        update();
        return;
    }
    unsigned n = offset / kChannelStride;
    uint32_t reg = offset % kChannelStride;
    if (n >= kChannels || reg > off(Reg::Debug)) {
        log_guest_error(*this, offset, "write to unknown register");
        return;
    }
    write_channel(n, reg, value);
}

void Bcm2835Dma::write_channel(unsigned n, uint32_t reg, uint32_t value) {
    Channel& c = ch_[n];
    uint32_t offset = n * kChannelStride + reg;
    switch (static_cast<Reg>(reg)) {
    case Reg::Cs:
        write_cs(n, value);
        break;
    case Reg::ConblkAd:
        if (value & kCbAlignMask)
            log_guest_error(*this, offset, "CONBLK_AD not 32-byte aligned: bits 4:0 dropped");
        if (c.loaded)
            log_guest_error(*this, offset, "CONBLK_AD written while a CB is in progress");
        c.conblk_ad = value & ~kCbAlignMask;
        kick(n);
        break;
    case Reg::NextConbk:
        // "can be overwritten so that the linked list of Control Block data structures
        // can be altered. However it is only safe to do this when the DMA is paused."
        c.nextconbk = value & ~kCbAlignMask;
        break;
    case Reg::Debug:
        c.debug_errors &= ~(value & kDebugErrorMask);
        break;
    case Reg::Ti:
    case Reg::SourceAd:
    case Reg::DestAd:
    case Reg::TxfrLen:
    case Reg::Stride:
        log_guest_error(*this, offset, "write to read-only CB register ignored");
        return;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        return;
    }
    update();
}

uint32_t Bcm2835Dma::merge_base(uint32_t offset) const {
    if (offset == kEnable)
        return enable_;
    unsigned n = offset / kChannelStride;
    if (n >= kChannels)
        return 0;
    const Channel& c = ch_[n];
    switch (static_cast<Reg>(offset % kChannelStride)) {
    case Reg::Cs:
        return c.cs & kCsRwMask;
    case Reg::ConblkAd:
        return c.conblk_ad;
    case Reg::NextConbk:
        return c.nextconbk;
    default:
        return 0; // DEBUG is W1C; the CB registers ignore writes
    }
}

// Drives every output from the channels' CS.INT: own lines for 0-10, the OR of 11-14
// on outputs 11-14 (one GPU IRQ), the OR of all on "dma-shared-all". Ends every change.
void Bcm2835Dma::update() {
    bool any = false;
    bool shared = false;
    for (unsigned n = 0; n < kChannels; ++n) {
        bool pending = (ch_[n].cs & kCsInt) != 0;
        any |= pending;
        if (n < kFirstSharedChannel)
            irq_[n].set(pending);
        else
            shared |= pending;
    }
    for (unsigned n = kFirstSharedChannel; n < kChannels; ++n)
        irq_[n].set(shared);
    irq_[kSharedAllOutput].set(any);
}

// ---- control and status ----

bool Bcm2835Dma::running(unsigned n) const {
    const Channel& c = ch_[n];
    return (c.cs & kCsActive) && ((enable_ >> n) & 1) && (c.loaded || c.conblk_ad != 0);
}

uint32_t Bcm2835Dma::read_cs(unsigned n) const {
    const Channel& c = ch_[n];
    uint32_t v = c.cs;
    if (c.dreq_valid)
        v |= kCsDreq; // NOTE: DREQ is always asserted (see the header)
    if (c.loaded && !running(n))
        v |= kCsPaused;
    if (c.debug_errors)
        v |= kCsError;
    return v;
}

void Bcm2835Dma::write_cs(unsigned n, uint32_t value) {
    Channel& c = ch_[n];
    if (value & kCsReset) {
        reset_channel(n);
        return;
    }
    if (value & kCsEnd)
        c.cs &= ~kCsEnd;
    if (value & kCsInt)
        c.cs &= ~kCsInt;
    c.cs = (c.cs & ~kCsRwMask) | (value & kCsRwMask);
    if (value & kCsAbort)
        abort_cb(n);
    kick(n);
}

void Bcm2835Dma::reset_channel(unsigned n) {
    timer_[n].cancel();
    uint64_t epoch = ch_[n].epoch + 1;
    ch_[n] = Channel{};
    ch_[n].epoch = epoch;
}

void Bcm2835Dma::abort_cb(unsigned n) {
    Channel& c = ch_[n];
    if (!c.loaded)
        return;
    timer_[n].cancel();
    ++c.epoch;
    c.loaded = false;
    c.conblk_ad = c.nextconbk;
    if (c.conblk_ad == 0)
        c.cs &= ~kCsActive;
}

// ---- the engine ----

// Starts, resumes or holds channel n to match running(n).
void Bcm2835Dma::kick(unsigned n) {
    if (!running(n)) {
        timer_[n].cancel(); // a held slice is redone whole on resume
        return;
    }
    if (!timer_[n].armed())
        start_next(n, clock_.now());
}

// Goes on with channel n's loaded CB, or fetches the CB at CONBLK_AD, from cycle `base`.
void Bcm2835Dma::start_next(unsigned n, uint64_t base) {
    if (ch_[n].loaded)
        schedule(n, false, base);
    else if (fetch_cb(n))
        schedule(n, true, base);
}

// Loads the CB at CONBLK_AD into the channel's registers.
bool Bcm2835Dma::fetch_cb(unsigned n) {
    Channel& c = ch_[n];
    uint8_t cb[kCbBytes];
    for (uint32_t i = 0; i < kCbBytes; i += 4) {
        if (!bus_read(c.conblk_ad + i, cb + i, 4)) {
            log_guest_error(*this, n * kChannelStride + off(Reg::ConblkAd),
                            "control block fetch from an unmapped bus address");
            stop_with_error(n, kDebugReadError);
            return false;
        }
    }
    c.ti = le32(cb);
    c.source_ad = le32(cb + 4);
    c.dest_ad = le32(cb + 8);
    c.txfr_len = le32(cb + 12) & (lite(n) ? kLiteLenMask : kLenMask);
    c.stride = le32(cb + 16);
    c.nextconbk = le32(cb + 20) & ~kCbAlignMask;
    c.row_len = c.txfr_len & kXlenMask;
    c.loaded = true;
    c.dreq_valid = true;
    if ((c.ti & kTiTdmode) && lite(n))
        log_guest_error(*this, n * kChannelStride + off(Reg::Ti),
                        "2D mode on a Lite channel: run as a linear transfer");
    return true;
}

// Bytes of the current row (the whole transfer when linear) still to move.
uint32_t Bcm2835Dma::bytes_left_in_row(unsigned n) const {
    const Channel& c = ch_[n];
    bool two_d = (c.ti & kTiTdmode) && !lite(n);
    return two_d ? c.txfr_len & kXlenMask : c.txfr_len;
}

// Arms channel n's timer for its next slice (plus a CB fetch when one just happened),
// counted from `base`: now for a start or resume, the expiry of the previous slice while
// running, so a timer the run loop fires late does not slow the transfer down.
void Bcm2835Dma::schedule(unsigned n, bool with_fetch, uint64_t base) {
    Channel& c = ch_[n];
    c.slice = std::min(kSliceBytes, bytes_left_in_row(n));
    uint32_t beats = (c.slice + 3) / 4 + (with_fetch ? kCbFetchBeats : 0);
    timer_[n].arm_at(base + cycles_for(n, beats));
}

uint64_t Bcm2835Dma::cycles_for(unsigned n, uint32_t beats) const {
    uint64_t waits = (ch_[n].ti >> kTiWaitsShift) & kTiWaitsMask;
    uint64_t per_beat = kCoreCyclesPerBeat * (lite(n) ? 2 : 1) + 2 * waits;
    uint64_t cycles = clock_.ticks_to_cycles(uint64_t(beats) * per_beat, kCoreClockHz);
    return std::max<uint64_t>(cycles, 1);
}

// Timer callback: moves the armed slice, then goes on with the row, the next row, or
// the end of the CB.
void Bcm2835Dma::step(unsigned n) {
    Channel& c = ch_[n];
    if (!c.loaded || !running(n))
        return;
    uint64_t base = timer_[n].expiry();
    if (c.slice != 0 && !move(n, c.slice)) {
        update(); // stopped by an error, or reset/aborted by one of its own writes
        return;
    }
    bool two_d = (c.ti & kTiTdmode) && !lite(n);
    if (two_d && (c.txfr_len & kXlenMask) == 0 && c.txfr_len != 0) {
        // Next row: YLENGTH - 1 rows after it, strides added between rows.
        uint32_t ylen = (c.txfr_len >> kYlenShift) - 1;
        c.txfr_len = (ylen << kYlenShift) | c.row_len;
        c.source_ad += static_cast<uint32_t>(static_cast<int16_t>(c.stride & 0xffff));
        c.dest_ad += static_cast<uint32_t>(static_cast<int16_t>(c.stride >> 16));
    }
    if (c.txfr_len == 0)
        finish_cb(n, base);
    else
        schedule(n, false, base);
    update();
}

// The current CB is done: END, INT if asked, then the next CB or the end of the chain.
void Bcm2835Dma::finish_cb(unsigned n, uint64_t base) {
    Channel& c = ch_[n];
    c.cs |= kCsEnd;
    if (c.ti & kTiInten)
        c.cs |= kCsInt;
    c.loaded = false;
    c.conblk_ad = c.nextconbk;
    if (c.conblk_ad == 0)
        c.cs &= ~kCsActive;
    else if (running(n))
        start_next(n, base);
}

void Bcm2835Dma::stop_with_error(unsigned n, uint32_t debug_bit) {
    Channel& c = ch_[n];
    timer_[n].cancel();
    ++c.epoch;
    c.debug_errors |= debug_bit;
    c.loaded = false;
    c.cs &= ~kCsActive;
}

// Moves `bytes` (within the current row) in units of up to one 32-bit beat. Returns
// false when the channel stopped on the way.
bool Bcm2835Dma::move(unsigned n, uint32_t bytes) {
    Channel& c = ch_[n];
    if (copy_in_ram(c, bytes))
        return true;
    uint64_t epoch = c.epoch;
    while (bytes != 0) {
        unsigned unit = std::min<uint32_t>(bytes, 4);
        uint8_t data[4] = {};
        if (!(c.ti & kTiSrcIgnore) && !bus_read(c.source_ad, data, unit)) {
            log_guest_error(*this, n * kChannelStride + off(Reg::SourceAd),
                            "read from an unmapped bus address");
            stop_with_error(n, kDebugReadError);
            return false;
        }
        if (!(c.ti & kTiDestIgnore))
            bus_write(c.dest_ad, data, unit);
        if (c.epoch != epoch)
            return false; // the write reached this channel's CS (RESET or ABORT)
        if (c.ti & kTiSrcInc)
            c.source_ad += unit;
        if (c.ti & kTiDestInc)
            c.dest_ad += unit;
        c.txfr_len -= unit; // XLENGTH is the low field: no borrow within a row
        bytes -= unit;
    }
    return true;
}

// The common case of move() in one memcpy: RAM to RAM, both addresses incrementing,
// each span in one region of one alias, and the two not overlapping, where moving beat
// by beat gives the same bytes (an overlapping copy does not: each beat reads what the
// last one wrote). No device sees RAM writes, so nothing can stop the channel midway.
bool Bcm2835Dma::copy_in_ram(Channel& c, uint32_t bytes) {
    if ((c.ti & (kTiSrcIgnore | kTiDestIgnore)) || !(c.ti & kTiSrcInc) || !(c.ti & kTiDestInc))
        return false;
    auto span = [&](uint32_t bus_addr) -> uint8_t* {
        uint32_t phys = bus_to_phys(bus_addr);
        uint32_t last = bus_addr + (bytes - 1);
        if (last < bus_addr || bus_to_phys(last) != phys + (bytes - 1))
            return nullptr; // wraps, or crosses into another alias
        return bus_.host_span(phys, bytes);
    };
    uint8_t* src = span(c.source_ad);
    uint8_t* dst = src ? span(c.dest_ad) : nullptr;
    if (!dst || (src < dst + bytes && dst < src + bytes))
        return false;
    std::memcpy(dst, src, bytes);
    c.source_ad += bytes;
    c.dest_ad += bytes;
    c.txfr_len -= bytes; // within the row
    return true;
}

bool Bcm2835Dma::bus_read(uint32_t bus_addr, uint8_t* out, unsigned len) {
    uint32_t phys = bus_to_phys(bus_addr);
    if (bus_.is_memory(phys, len))
        return bus_.read_phys(phys, {out, len});
    const Bus::Mapping* m = bus_.find_device(phys);
    if (!m || phys - m->base + len > m->size)
        return false;
    if (len == 4 && phys % 4 == 0) {
        uint32_t v = bus_.mmio_read(phys, 4);
        for (unsigned i = 0; i < 4; ++i)
            out[i] = static_cast<uint8_t>(v >> (8 * i));
        return true;
    }
    for (unsigned i = 0; i < len; ++i)
        out[i] = static_cast<uint8_t>(bus_.mmio_read(phys + i, 1));
    return true;
}

void Bcm2835Dma::bus_write(uint32_t bus_addr, const uint8_t* in, unsigned len) {
    uint32_t phys = bus_to_phys(bus_addr);
    if (bus_.is_memory(phys, len)) {
        bus_.write_phys(phys, {in, len});
        return;
    }
    if (len == 4 && phys % 4 == 0) {
        bus_.mmio_write(phys, le32(in), 4);
        return;
    }
    for (unsigned i = 0; i < len; ++i)
        bus_.mmio_write(phys + i, in[i], 1); // an unclaimed address is logged by the Bus
}

} // namespace piemu
