// BCM2835 SD host controller. See bcm2835_sdhost.hpp for the sources and what is not
// modelled.
//
// Modelling choices, with their evidence:
//
//  - Commands complete after kCommandNs (2 us) of virtual time, not at the SDCMD write
//    as in QEMU ("We never really delay commands"). Every driver must cope with a
//    delay: Linux's bcm2835_read_wait_sdcmd() polls SDCMD until NEW_FLAG clears
//    (1 us steps for 10 us, then 10 us steps up to 100 ms) and R1b commands wait for
//    BUSY_IRPT. With a delay, NEW_FLAG is observable and a second SDCMD write while
//    it is set can be caught (a guest error; the write is ignored), and the busy
//    interrupt arrives after the guest's SDCMD write has retired, as on hardware.
//  - A command fails (FAIL_FLAG in SDCMD, CMD_TIME_OUT in SDHSTS) when it expects a
//    response and none comes: no card, the card unpowered (SDVDD 0), the card not
//    answering (illegal command, other RCA, CMD8 with a foreign voltage), or an answer
//    of the other length than LONG_RESPONSE asked for. QEMU's send_command sets the
//    same two bits in all these cases. With NO_RESPONSE nothing can time out.
//  - SDRSP0-3: a long (R2) response fills all four, SDRSP0 holding bits 31:0 with the
//    CRC7 (Linux reads resp[3 - i] = SDRSP0 + 4i and decodes resp[0] as bits 127:96);
//    a short one goes to SDRSP0 and clears SDRSP1-3, as QEMU does.
//  - BUSY_IRPT and BLOCK_IRPT are set only while their enable bit is set in SDHCFG:
//    Linux's interrupt handler acts on both status bits without checking the enables
//    (only DATA_FLAG is "qualified with the interrupt enable bit"), and with PIO reads
//    it leaves BLOCK_IRPT_EN clear, so an unconditional block bit would count each read
//    block twice. QEMU gates both the same way. BUSY_IRPT is set at the end of every
//    BUSYWAIT command, failed ones included: Linux checks for command errors in its
//    busy-interrupt path. The card is never busy after its response (programming is
//    instantaneous), so the end of the command is the end of busy.
//  - DATA_FLAG is a live FIFO state, not a latched bit ("There are no dedicated data/
//    space available interrupt status bits", bcm2835.c): while reading, set when the
//    FIFO holds a word; while writing, set when the FIFO has room and bytes remain.
//    Writing 1 to it (Linux's handler does) has no effect. SDEDM's thresholds are not
//    applied: the card fills the FIFO as soon as there is room.
//  - BLOCK_IRPT marks a block crossing the SD bus: on reads when its last byte has
//    left the card for the FIFO, on writes when its last byte has reached the card.
//    Linux uses it for PIO writes (after the first block) and DMA writes.
//  - Byte order: SDDATA carries bytes little-endian (the first byte on the bus in bits
//    7:0), so a 32-bit copy to memory keeps the card's byte order. QEMU packs the same.
//  - SDEDM FSM: READDATA while a read's data has not all been taken from SDDATA,
//    WRITEDATA while a write's data has not all reached the card, otherwise IDENTMODE
//    until the first data phase since reset and DATAMODE after (QEMU sets DATAMODE when
//    a transfer ends). Linux's bcm2835_request() refuses to start unless the FSM is in
//    one of these two idle states, so reset cannot leave QEMU's 0xf (STARTPOWDOWN) in
//    a field the guest cannot write.
//  - SDVDD bit 0 powers the card: while 0 every command times out, and the 0-to-1 edge
//    is a power-on reset of the card. Linux's reset path powers the card off and on.
//  - Issuing a command ends the previous data phase; one with READ_CMD or WRITE_CMD
//    also empties the FIFO, so stale words cannot leak into the new transfer. Data
//    written to SDDATA between the SDCMD write and the completion waits in the FIFO.
//  - A card that stops sending or receiving in the middle of a data phase (a read or
//    write command it refused, the image end in a multi-block transfer) sets
//    REW_TIME_OUT at once and ends the transfer: the hardware would count SDTOUT clocks
//    first, which nothing here measures.
//  - SDDATA takes 32-bit accesses only: a narrower one would pop or push a whole word
//    (logged as a guest error, read as 0, write ignored). Other registers take any
//    aligned size, as in the other device models.
#include "devices/bcm2835_sdhost.hpp"

#include <utility>

namespace piemu {

namespace {

using Reg = Bcm2835Sdhost::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

constexpr uint32_t kCmdNewFlag = 0x8000;
constexpr uint32_t kCmdFailFlag = 0x4000;
constexpr uint32_t kCmdBusyWait = 0x800;
constexpr uint32_t kCmdNoResponse = 0x400;
constexpr uint32_t kCmdLongResponse = 0x200;
constexpr uint32_t kCmdWrite = 0x80;
constexpr uint32_t kCmdRead = 0x40;
constexpr uint32_t kCmdIndexMask = 0x3f;
// The SDCMD bits stored as written (NEW and FAIL are the controller's).
constexpr uint32_t kCmdStored =
    kCmdBusyWait | kCmdNoResponse | kCmdLongResponse | kCmdWrite | kCmdRead | kCmdIndexMask;

constexpr uint32_t kCdivMask = 0x7ff;
constexpr uint32_t kCdivReset = 0x1fb;

constexpr uint32_t kHstsBusyIrpt = 0x400;
constexpr uint32_t kHstsBlockIrpt = 0x200;
constexpr uint32_t kHstsSdioIrpt = 0x100;
constexpr uint32_t kHstsRewTimeOut = 0x80;
constexpr uint32_t kHstsCmdTimeOut = 0x40;
constexpr uint32_t kHstsDataFlag = 0x01;
constexpr uint32_t kHstsClearable = 0x7f8; // bcm2835_reset_internal writes 0x7f8 to clear

constexpr uint32_t kHcfgDataIrptEn = 1u << 4;
constexpr uint32_t kHcfgSdioIrptEn = 1u << 5;
constexpr uint32_t kHcfgBlockIrptEn = 1u << 8;
constexpr uint32_t kHcfgBusyIrptEn = 1u << 10;
constexpr uint32_t kHcfgMask = 0x53f; // the bits bcm2835.c defines

constexpr uint32_t kVddPowerOn = 1;

constexpr uint32_t kEdmFsmIdentMode = 0x0;
constexpr uint32_t kEdmFsmDataMode = 0x1;
constexpr uint32_t kEdmFsmReadData = 0x2;
constexpr uint32_t kEdmFsmWriteData = 0x3;
constexpr unsigned kEdmFifoShift = 4;
constexpr uint32_t kEdmThresholds = 0x3ffu << 9; // write [13:9], read [18:14]
constexpr uint32_t kEdmThresholdsReset = 0xc600; // 3 and 3

} // namespace

Bcm2835Sdhost::Bcm2835Sdhost(std::string name, VirtualClock& clock)
    : Device(std::move(name)), clock_(clock),
      command_timer_(clock, this->name() + ".cmd", [this] { complete_command(); }) {
    Bcm2835Sdhost::reset();
}

void Bcm2835Sdhost::reset() {
    command_timer_.cancel();
    cmd_ = 0;
    pending_ = failed_ = false;
    arg_ = tout_ = 0;
    cdiv_ = kCdivReset;
    rsp_.fill(0);
    hsts_ = 0;
    vdd_ = kVddPowerOn;
    edm_ = kEdmThresholdsReset;
    hcfg_ = hbct_ = hblc_ = 0;
    fifo_head_ = fifo_count_ = 0;
    phase_ = Phase::Idle;
    block_size_ = 0;
    bytes_left_ = block_pos_ = 0;
    data_mode_ = false;
    if (card_)
        card_->reset();
    update();
}

// ---- MMIO ----

uint32_t Bcm2835Sdhost::read(uint32_t offset, unsigned size) {
    if ((offset & ~3u) == off(Reg::Data) && size != 4) {
        log_guest_error(*this, offset, "SDDATA read narrower than 32 bits");
        return 0;
    }
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Sdhost::write(uint32_t offset, uint32_t value, unsigned size) {
    if ((offset & ~3u) == off(Reg::Data) && size != 4) {
        log_guest_error(*this, offset, "SDDATA write narrower than 32 bits ignored");
        return;
    }
    write_register_lane(
        *this, offset, value, size, kMmioSize,
        [this](uint32_t aligned) { return merge_base(aligned); },
        [this](uint32_t aligned, uint32_t v) { write_reg(aligned, v); });
}

uint32_t Bcm2835Sdhost::read_reg(uint32_t offset) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Cmd:
        return cmd_ | (pending_ ? kCmdNewFlag : 0) | (failed_ ? kCmdFailFlag : 0);
    case Reg::Arg:
        return arg_;
    case Reg::Tout:
        return tout_;
    case Reg::Cdiv:
        return cdiv_;
    case Reg::Rsp0:
    case Reg::Rsp1:
    case Reg::Rsp2:
    case Reg::Rsp3:
        return rsp_[(offset - off(Reg::Rsp0)) / 4];
    case Reg::Hsts:
        return status();
    case Reg::Vdd:
        return vdd_;
    case Reg::Edm:
        return edm();
    case Reg::Hcfg:
        return hcfg_;
    case Reg::Hbct:
        return hbct_;
    case Reg::Data:
        return read_data();
    case Reg::Hblc:
        return hblc_;
    }
    log_guest_error(*this, offset, "read of unknown register");
    return 0;
}

void Bcm2835Sdhost::write_reg(uint32_t offset, uint32_t value) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Cmd:
        write_cmd(value);
        break;
    case Reg::Arg:
        arg_ = value;
        return;
    case Reg::Tout:
        tout_ = value;
        return;
    case Reg::Cdiv:
        cdiv_ = value & kCdivMask;
        return;
    case Reg::Rsp0:
    case Reg::Rsp1:
    case Reg::Rsp2:
    case Reg::Rsp3:
        log_guest_error(*this, offset, "write to read-only response register ignored");
        return;
    case Reg::Hsts:
        hsts_ &= ~(value & kHstsClearable);
        break;
    case Reg::Vdd:
        write_vdd(value);
        break;
    case Reg::Edm:
        // NOTE: FSM and FIFO level are read-only; FORCE_DATA_MODE has nothing to force.
        edm_ = value & kEdmThresholds;
        return;
    case Reg::Hcfg:
        hcfg_ = value & kHcfgMask;
        break;
    case Reg::Hbct:
        hbct_ = value;
        return;
    case Reg::Data:
        write_data(value);
        break;
    case Reg::Hblc:
        hblc_ = value;
        return;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        return;
    }
    update();
}

uint32_t Bcm2835Sdhost::merge_base(uint32_t offset) const {
    switch (static_cast<Reg>(offset)) {
    case Reg::Cmd:
        return cmd_; // a narrow write re-issues nothing unless it carries NEW_FLAG
    case Reg::Arg:
        return arg_;
    case Reg::Tout:
        return tout_;
    case Reg::Cdiv:
        return cdiv_;
    case Reg::Vdd:
        return vdd_;
    case Reg::Edm:
        return edm_;
    case Reg::Hcfg:
        return hcfg_;
    case Reg::Hbct:
        return hbct_;
    case Reg::Hblc:
        return hblc_;
    default:
        return 0; // SDHSTS is write-1-to-clear; the rest ignore writes
    }
}

// Drives the interrupt line from the status bits whose enables are set. Ends every
// state change.
void Bcm2835Sdhost::update() {
    uint32_t enabled = 0;
    if (hcfg_ & kHcfgDataIrptEn)
        enabled |= kHstsDataFlag;
    if (hcfg_ & kHcfgSdioIrptEn)
        enabled |= kHstsSdioIrpt;
    if (hcfg_ & kHcfgBlockIrptEn)
        enabled |= kHstsBlockIrpt;
    if (hcfg_ & kHcfgBusyIrptEn)
        enabled |= kHstsBusyIrpt;
    irq_.set((status() & enabled) != 0);
}

uint32_t Bcm2835Sdhost::status() const {
    bool data = false;
    if (phase_ == Phase::Reading)
        data = fifo_count_ > 0;
    else if (phase_ == Phase::Writing)
        data = fifo_count_ < kFifoWords && bytes_left_ > 4 * uint64_t(fifo_count_);
    return hsts_ | (data ? kHstsDataFlag : 0);
}

uint32_t Bcm2835Sdhost::edm() const {
    uint32_t fsm = data_mode_ ? kEdmFsmDataMode : kEdmFsmIdentMode;
    if (phase_ == Phase::Reading)
        fsm = kEdmFsmReadData;
    else if (phase_ == Phase::Writing)
        fsm = kEdmFsmWriteData;
    return edm_ | (fifo_count_ << kEdmFifoShift) | fsm;
}

// ---- commands ----

void Bcm2835Sdhost::write_cmd(uint32_t value) {
    if (pending_) {
        log_guest_error(*this, off(Reg::Cmd), "SDCMD written while NEW_FLAG is set: ignored");
        return;
    }
    cmd_ = value & kCmdStored;
    failed_ = false;
    if (!(value & kCmdNewFlag))
        return;
    end_transfer(false);
    if (cmd_ & (kCmdRead | kCmdWrite))
        fifo_head_ = fifo_count_ = 0;
    block_size_ = hbct_;
    bytes_left_ = uint64_t(hbct_) * hblc_;
    pending_ = true;
    command_timer_.arm_in(clock_.ticks_to_cycles(kCommandNs, 1'000'000'000));
}

void Bcm2835Sdhost::complete_command() {
    pending_ = false;
    SdResponse response;
    if (card_ && (vdd_ & kVddPowerOn))
        response = card_->command(cmd_ & kCmdIndexMask, arg_);
    if (!(cmd_ & kCmdNoResponse)) {
        const bool want_long = cmd_ & kCmdLongResponse;
        if (!response.present()) {
            fail_command();
        } else if (response.is_long() != want_long) {
            log_guest_error(*this, off(Reg::Cmd), "LONG_RESPONSE does not match the response");
            fail_command();
        } else if (want_long) {
            rsp_ = response.words;
        } else {
            rsp_ = {response.words[0], 0, 0, 0};
        }
    }
    if (cmd_ & kCmdBusyWait)
        raise(kHstsBusyIrpt);
    if (!failed_ && (cmd_ & (kCmdRead | kCmdWrite))) {
        phase_ = (cmd_ & kCmdRead) ? Phase::Reading : Phase::Writing;
        data_mode_ = true;
        block_pos_ = 0;
        pump();
    }
    update();
}

void Bcm2835Sdhost::fail_command() {
    failed_ = true;
    hsts_ |= kHstsCmdTimeOut;
}

// Latches an interrupt status bit if SDHCFG enables it now (see the top of the file).
void Bcm2835Sdhost::raise(uint32_t status_bit) {
    uint32_t enable = status_bit == kHstsBusyIrpt ? kHcfgBusyIrptEn : kHcfgBlockIrptEn;
    if (hcfg_ & enable)
        hsts_ |= status_bit;
}

void Bcm2835Sdhost::write_vdd(uint32_t value) {
    bool was_on = vdd_ & kVddPowerOn;
    vdd_ = value & kVddPowerOn;
    if (!was_on && (vdd_ & kVddPowerOn) && card_)
        card_->reset();
    if (!(vdd_ & kVddPowerOn))
        end_transfer(false);
}

// ---- data ----

uint32_t Bcm2835Sdhost::read_data() {
    if (fifo_count_ == 0) {
        log_guest_error(*this, off(Reg::Data), "SDDATA read with the FIFO empty");
        return 0;
    }
    uint32_t word = fifo_[fifo_head_];
    fifo_head_ = (fifo_head_ + 1) % kFifoWords;
    --fifo_count_;
    pump();
    update();
    return word;
}

void Bcm2835Sdhost::write_data(uint32_t word) {
    if (fifo_count_ == kFifoWords) {
        log_guest_error(*this, off(Reg::Data), "SDDATA written with the FIFO full: word lost");
        return;
    }
    fifo_[(fifo_head_ + fifo_count_) % kFifoWords] = word;
    ++fifo_count_;
    pump();
}

// Moves data between the card and the FIFO as far as both allow; ends the phase when
// every byte has crossed (and, for reads, the guest has taken the last word).
void Bcm2835Sdhost::pump() {
    if (phase_ == Phase::Reading) {
        while (bytes_left_ > 0 && fifo_count_ < kFifoWords) {
            uint32_t word = 0;
            for (unsigned i = 0; i < 4 && bytes_left_ > 0; ++i) {
                uint8_t byte = 0;
                if (!move_byte(byte))
                    return;
                word |= uint32_t(byte) << (8 * i);
            }
            fifo_[(fifo_head_ + fifo_count_) % kFifoWords] = word;
            ++fifo_count_;
        }
        if (bytes_left_ == 0 && fifo_count_ == 0)
            end_transfer(false);
    } else if (phase_ == Phase::Writing) {
        if (bytes_left_ > 0 && !(card_ && card_->receiving())) {
            end_transfer(true); // the card refused the write or ran out of blocks
            return;
        }
        while (bytes_left_ > 0 && fifo_count_ > 0) {
            uint32_t word = fifo_[fifo_head_];
            fifo_head_ = (fifo_head_ + 1) % kFifoWords;
            --fifo_count_;
            for (unsigned i = 0; i < 4 && bytes_left_ > 0; ++i) {
                uint8_t byte = uint8_t(word >> (8 * i));
                if (!move_byte(byte))
                    return;
            }
        }
        if (bytes_left_ == 0)
            end_transfer(false);
    }
}

// One byte across the SD bus in the phase's direction, with block accounting. On a
// card that does not move it, ends the phase with REW_TIME_OUT and returns false.
bool Bcm2835Sdhost::move_byte(uint8_t& byte) {
    bool moved =
        card_ && (phase_ == Phase::Reading ? card_->read_data(byte) : card_->write_data(byte));
    if (!moved) {
        end_transfer(true);
        return false;
    }
    --bytes_left_;
    if (block_size_ != 0 && ++block_pos_ == block_size_) {
        block_pos_ = 0;
        raise(kHstsBlockIrpt);
    }
    return true;
}

void Bcm2835Sdhost::end_transfer(bool timed_out) {
    if (timed_out) {
        hsts_ |= kHstsRewTimeOut;
        if (phase_ == Phase::Writing)
            fifo_head_ = fifo_count_ = 0; // nowhere to go
    }
    phase_ = Phase::Idle;
    bytes_left_ = 0;
}

} // namespace piemu
