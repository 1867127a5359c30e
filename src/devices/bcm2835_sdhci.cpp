// BCM2835 EMMC (SDHCI) controller. See bcm2835_sdhci.hpp for the sources and what is
// not modelled. Section numbers are of the SD Host Controller Simplified Specification
// 3.00.
//
// Modelling choices, with their evidence:
//
//  - 32-bit accesses only. BCM2835 ARM Peripherals chapter 5: "Contrary to Arasan's
//    documentation the EMMC module registers can only be accessed as 32 bit registers,
//    i.e. the two LSBs of the address are always zero"; Linux's sdhci-iproc.c drives
//    the bcm2835 with sdhci_iproc_32only_ops, which shadow 16-bit writes of block size,
//    block count and transfer mode until the command write and turn every other narrow
//    write into a 32-bit read-modify-write. So a narrow read returns its lane of the
//    whole register (the register is read whole: harmless except for DATA, where a
//    narrow read is a guest error and reads 0 without taking data), and a narrow
//    write is a guest error and is ignored: the other lanes of the word it would write
//    are undefined. QEMU accepts 8- and 16-bit writes; a driver that relies on them
//    fails on piemu as on the silicon.
//  - A command is issued by every 32-bit write of CMDTM (2.2.6: writing the command
//    register's upper byte issues it; a 32-bit write always writes it). It is refused
//    (a guest error; the write is dropped whole) while Command Inhibit (CMD) is set,
//    while Command Inhibit (DAT) is set for a command that uses DAT (data present, or
//    a response with busy that is not an abort: 3.7.1.1), and while the internal or
//    SD clock is off (QEMU's sdhci_can_issue_command: nothing reaches the card).
//  - Commands complete after kCommandNs, not at the write as in QEMU, so Command
//    Inhibit (CMD) is observable, as for Bcm2835Sdhost.
//  - Status bits latch only while their status enable bit is set, and clearing an
//    enable bit clears its status bit (2.2.18, QEMU). Bit 15 of the normal status is
//    the error summary: set while any error status bit is, read-only. The line is
//    (normal & signal enable) | (error & error signal enable) != 0 (2.2.20).
//  - Command Timeout Error, and no Command Complete, when a command that expects a
//    response gets none (no card, an illegal command, another RCA) or one of the other
//    length (136 bits asked, 48 received, or the reverse; a guest error). Command
//    Complete marks the response's end bit (2.2.17), which a timeout never sees.
//  - Response registers (2.2.7): a 48-bit response's card status/OCR/RCA field goes
//    to RESP0; R2 drops the CRC7 and end bit, RESP0-3 holding bits 127:8 of the CID or
//    CSD (RESP3 bits 31:24 are 0). Auto CMD12's response goes to RESP3 only. QEMU and
//    Linux's sdhci_read_rsp_136 agree.
//  - Transfer Complete after a command with busy (R1b): the card is never busy after
//    its response, so busy ends with the command (2.2.17; QEMU does the same).
//  - PIO (3.7.2): reads fill the buffer with one block from the card as soon as the
//    command completes and after the guest has taken the previous block; each filled
//    block sets Buffer Read Ready. Writes set Buffer Write Ready when the buffer is
//    empty with a block still to send; the block goes to the card when its last byte
//    is written. DATA carries bytes little-endian (first byte on the bus in bits 7:0).
//    Transfer Complete is set when the last block has left the buffer (read) or
//    reached the card (write); Command Inhibit (DAT) clears then.
//  - Block Count: decremented as each block crosses the SD bus (2.2.3), when Block
//    Count Enable is set. A multi-block transfer ends when it reaches 0; without Block
//    Count Enable it runs until the guest aborts it with CMD12.
//  - Auto CMD12 (2.2.5) is sent when the last block of a multi-block transfer has
//    crossed the bus; its response goes to RESP3; a missing one sets Auto CMD12 Timeout
//    Error (Auto CMD Error Status bit 1) and Auto CMD Error (error status bit 8).
//  - A card that stops sending or refuses data mid-block (an out-of-range address, a
//    write-protected card, the image end) ends the transfer with Data Timeout Error
//    and no Transfer Complete: the card sends no data or no CRC status (2.2.18).
//  - Block size: 1-1024 (capabilities); larger values are clamped to 1024 with a guest
//    error, as QEMU. A data command with block size 0 transfers nothing (a guest
//    error), as in QEMU. BLKSIZECNT is not written while Command Inhibit (DAT) is set
//    (2.2.2: "protected").
//  - Software reset (2.2.16): the bits act at once and read 0. Reset All clears every
//    register but the capabilities and version and does not touch the card; CMD clears
//    Command Inhibit (CMD) and Command Complete; DAT ends the transfer and clears the
//    buffer, the data inhibit, Buffer Read/Write Ready, Transfer Complete, Block Gap
//    Event and DMA Interrupt. A write that resets also stores the clock and timeout
//    fields it carries, after the reset (QEMU's order).
//  - SD Bus Power (2.2.11) stays set only with a card present and a voltage the
//    capabilities list (1.8 V or 3.3 V), as QEMU. It does not gate commands: the
//    BCM2835's CONTROL0 has no power bits and its slot is always powered.
//  - Present state (2.2.9): Card Inserted, Card State Stable and Card Detect Pin Level
//    from the attached card; Write Protect Switch Pin Level 1 = writable; CMD and DAT
//    line levels high (DAT0 is never held busy). QEMU reports the same 0x01ff0000,
//    0x01f70000 (read-only card) and 0x01fa0000 (no card). The BCM2835 manual lists no
//    card-detect bits (Linux uses SDHCI_QUIRK_BROKEN_CARD_DETECTION); they are modelled
//    because SDHCI drivers read them.
//  - The Raspberry Pi's pending insert: after a power-on reset with a card present,
//    Card Insertion latches when the guest first enables its status bit (QEMU's
//    pending-insert-quirk for raspi: "pending card insert interrupt appears when first
//    enabled after power on"). A software Reset All cancels it, as in QEMU.
#include "devices/bcm2835_sdhci.hpp"

#include <utility>

namespace piemu {

namespace {

using Reg = Bcm2835Sdhci::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

// Transfer mode (2.2.5).
constexpr uint16_t kTmDma = 1u << 0;
constexpr uint16_t kTmBlockCountEnable = 1u << 1;
constexpr uint16_t kTmAutoCmdMask = 3u << 2;
constexpr uint16_t kTmAutoCmd12 = 1u << 2;
constexpr uint16_t kTmRead = 1u << 4;
constexpr uint16_t kTmMulti = 1u << 5;
constexpr uint16_t kTmMask = 0x3f;

// Command (2.2.6).
constexpr uint16_t kCmdRespMask = 3u;
constexpr uint16_t kCmdRespNone = 0;
constexpr uint16_t kCmdResp136 = 1;
constexpr uint16_t kCmdResp48Busy = 3;
constexpr uint16_t kCmdDataPresent = 1u << 5;
constexpr uint16_t kCmdTypeMask = 3u << 6;
constexpr uint16_t kCmdTypeAbort = 3u << 6;
constexpr unsigned kCmdIndexShift = 8;
constexpr uint16_t kCmdMask = 0x3ffb;

// Present state (2.2.9).
constexpr uint32_t kPsCmdInhibit = 1u << 0;
constexpr uint32_t kPsDatInhibit = 1u << 1;
constexpr uint32_t kPsDatLineActive = 1u << 2;
constexpr uint32_t kPsWriteActive = 1u << 8;
constexpr uint32_t kPsReadActive = 1u << 9;
constexpr uint32_t kPsBufferWriteEnable = 1u << 10;
constexpr uint32_t kPsBufferReadEnable = 1u << 11;
constexpr uint32_t kPsCardInserted = 1u << 16;
constexpr uint32_t kPsCardStable = 1u << 17;
constexpr uint32_t kPsCardDetectPin = 1u << 18;
constexpr uint32_t kPsWritable = 1u << 19;
constexpr uint32_t kPsLineLevels = 0x1fu << 20; // DAT[3:0] and CMD

// Host control 1, power, block gap, wakeup (2.2.10-2.2.13).
constexpr uint32_t kPowerOn = 1u << 0;
constexpr unsigned kPowerVoltageShift = 1;
constexpr uint8_t kPowerMask = 0x0f;
constexpr uint8_t kBlockGapStop = 1u << 0;
constexpr uint8_t kBlockGapContinue = 1u << 1;
constexpr uint8_t kBlockGapMask = 0x0d; // Continue Request reads 0
constexpr uint8_t kWakeupMask = 0x07;

// Clock control, timeout, software reset (2.2.14-2.2.16).
constexpr uint16_t kClockInternalEnable = 1u << 0;
constexpr uint16_t kClockInternalStable = 1u << 1;
constexpr uint16_t kClockSdEnable = 1u << 2;
constexpr uint16_t kClockMask = 0xffe5; // divider, generator select, the two enables
constexpr uint8_t kTimeoutMask = 0x0f;
constexpr uint32_t kResetAll = 1u << 0;
constexpr uint32_t kResetCmd = 1u << 1;
constexpr uint32_t kResetDat = 1u << 2;

// Normal and error interrupt status (2.2.17, 2.2.18).
constexpr uint16_t kIntCmdComplete = 1u << 0;
constexpr uint16_t kIntTransferComplete = 1u << 1;
constexpr uint16_t kIntBlockGap = 1u << 2;
constexpr uint16_t kIntDma = 1u << 3;
constexpr uint16_t kIntBufferWriteReady = 1u << 4;
constexpr uint16_t kIntBufferReadReady = 1u << 5;
constexpr uint16_t kIntCardInsertion = 1u << 6;
constexpr uint16_t kIntCardRemoval = 1u << 7;
constexpr uint16_t kIntErrorSummary = 1u << 15;
constexpr uint16_t kNormalMask = 0x1fff; // 15 is computed; 14:13 reserved
constexpr uint16_t kErrCmdTimeout = 1u << 0;
constexpr uint16_t kErrDataTimeout = 1u << 4;
constexpr uint16_t kErrAutoCmd = 1u << 8;
constexpr uint16_t kErrorMask = 0x07ff; // 15:12 vendor specific: none on the BCM2835

// Auto CMD error status (2.2.19).
constexpr uint16_t kAcmdTimeout = 1u << 1;
constexpr uint16_t kAcmdMask = 0x9f;

constexpr uint16_t kBlockSizeMask = 0x0fff;
constexpr uint16_t kBlockSizeRegMask = 0x7fff; // with the SDMA boundary

/// The capabilities' voltage bit for an SD Bus Voltage Select value (2.2.11: 5 = 1.8 V,
/// 6 = 3.0 V, 7 = 3.3 V; capabilities bits 26, 25, 24), 0 for reserved values.
constexpr uint32_t voltage_capability(unsigned select) {
    return select >= 5 && select <= 7 ? 1u << (31 - select) : 0;
}

} // namespace

Bcm2835Sdhci::Bcm2835Sdhci(std::string name, VirtualClock& clock)
    : Device(std::move(name)), clock_(clock),
      command_timer_(clock, this->name() + ".cmd", [this] { complete_command(); }) {
    Bcm2835Sdhci::reset();
}

void Bcm2835Sdhci::reset() {
    software_reset(kResetAll);
    if (card_)
        card_->reset();
    pending_insert_ = true;
    update();
}

void Bcm2835Sdhci::attach(SdCard* card) {
    bool was_present = card_ != nullptr;
    card_ = card;
    if (!was_present && card) {
        raise(kIntCardInsertion);
    } else if (was_present && !card) {
        raise(kIntCardRemoval);
        power_control_ &= ~kPowerOn;
        clock_control_ &= ~kClockSdEnable;
        if (phase_ != Phase::Idle) {
            raise_error(kErrDataTimeout);
            end_transfer(false);
        }
    }
    update();
}

// ---- MMIO ----

uint32_t Bcm2835Sdhci::read(uint32_t offset, unsigned size) {
    if ((offset & ~3u) == off(Reg::Data) && size != 4) {
        log_guest_error(*this, offset, "DATA read narrower than 32 bits");
        return 0;
    }
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Sdhci::write(uint32_t offset, uint32_t value, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "write narrower than 32 bits ignored (32-bit only)");
        return;
    }
    write_reg(offset, value);
}

uint32_t Bcm2835Sdhci::read_reg(uint32_t offset) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Arg2:
        return arg2_;
    case Reg::BlkSizeCnt:
        return block_size_ | uint32_t(block_count_) << 16;
    case Reg::Arg1:
        return arg1_;
    case Reg::CmdTm:
        return transfer_mode_ | uint32_t(command_) << 16;
    case Reg::Resp0:
    case Reg::Resp1:
    case Reg::Resp2:
    case Reg::Resp3:
        return resp_[(offset - off(Reg::Resp0)) / 4];
    case Reg::Data:
        return read_data();
    case Reg::Status:
        return present_state();
    case Reg::Control0:
        return host_control_ | uint32_t(power_control_) << 8 | uint32_t(block_gap_) << 16 |
               uint32_t(wakeup_) << 24;
    case Reg::Control1:
        return clock_control_ | uint32_t(timeout_control_) << 16;
    case Reg::Interrupt:
        return interrupt_status();
    case Reg::IrptMask:
        return normal_enable_ | uint32_t(error_enable_) << 16;
    case Reg::IrptEn:
        return normal_signal_ | uint32_t(error_signal_) << 16;
    case Reg::Control2:
        return auto_cmd_error_;
    case Reg::Caps0:
        return kCapabilities;
    case Reg::Caps1:
    case Reg::MaxCurrent:
        return 0; // no SDR50/DDR50/driver types; maximum current from elsewhere (2.2.26)
    case Reg::ForceIrpt:
        return 0; // write-only
    case Reg::SlotIsrVer:
        return uint32_t(kHostVersion) << 16 | (irq_.level() ? 1u : 0u);
    }
    log_guest_error(*this, offset, "read of unknown register");
    return 0;
}

void Bcm2835Sdhci::write_reg(uint32_t offset, uint32_t value) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Arg2:
        arg2_ = value;
        return;
    case Reg::BlkSizeCnt:
        write_block_size_count(value);
        return;
    case Reg::Arg1:
        arg1_ = value;
        return;
    case Reg::CmdTm:
        issue_command(value);
        break;
    case Reg::Data:
        write_data(value);
        break;
    case Reg::Control0:
        write_control0(value);
        break;
    case Reg::Control1:
        write_control1(value);
        break;
    case Reg::Interrupt:
        // NOTE: the error summary (15) is read-only; it follows the error bits.
        normal_status_ &= ~uint16_t(value & kNormalMask);
        error_status_ &= ~uint16_t(value >> 16);
        break;
    case Reg::IrptMask:
        write_irpt_mask(value);
        break;
    case Reg::IrptEn:
        normal_signal_ = value & kNormalMask;
        error_signal_ = (value >> 16) & kErrorMask;
        break;
    case Reg::Control2:
        if (value >> 16)
            log_unimplemented(*this, offset, "host control 2 (UHS-I, tuning)");
        if (value & 0xffff)
            log_guest_error(*this, offset, "write to read-only Auto CMD error status ignored");
        return;
    case Reg::ForceIrpt:
        write_force_irpt(value);
        break;
    case Reg::Resp0:
    case Reg::Resp1:
    case Reg::Resp2:
    case Reg::Resp3:
    case Reg::Status:
    case Reg::Caps0:
    case Reg::Caps1:
    case Reg::MaxCurrent:
    case Reg::SlotIsrVer:
        log_guest_error(*this, offset, "write to read-only register ignored");
        return;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        return;
    }
    update();
}

// Drives the interrupt line from the enabled status bits. Ends every state change.
void Bcm2835Sdhci::update() {
    irq_.set((normal_status_ & normal_signal_) != 0 || (error_status_ & error_signal_) != 0);
}

uint32_t Bcm2835Sdhci::present_state() const {
    uint32_t s = kPsCardStable | kPsLineLevels;
    if (card_) {
        s |= kPsCardInserted | kPsCardDetectPin;
        if (!card_->read_only())
            s |= kPsWritable;
    } else {
        s |= kPsWritable; // no card, no write-protect tab: QEMU's 0x01fa0000
    }
    if (cmd_inhibit_)
        s |= kPsCmdInhibit;
    if (dat_inhibit_)
        s |= kPsDatInhibit;
    if (phase_ == Phase::Reading)
        s |= kPsReadActive | (last_block_ ? 0 : kPsDatLineActive);
    if (phase_ == Phase::Writing)
        s |= kPsWriteActive | kPsDatLineActive;
    if (buffer_ready_)
        s |= phase_ == Phase::Reading ? kPsBufferReadEnable : kPsBufferWriteEnable;
    return s;
}

uint32_t Bcm2835Sdhci::interrupt_status() const {
    uint16_t normal = normal_status_ | (error_status_ ? kIntErrorSummary : 0);
    return normal | uint32_t(error_status_) << 16;
}

void Bcm2835Sdhci::write_block_size_count(uint32_t value) {
    if (dat_inhibit_) {
        log_guest_error(*this, off(Reg::BlkSizeCnt),
                        "BLKSIZECNT written during a data transfer: ignored");
        return;
    }
    block_size_ = value & kBlockSizeRegMask;
    block_count_ = uint16_t(value >> 16);
    if ((block_size_ & kBlockSizeMask) > kMaxBlockSize) {
        log_guest_error(*this, off(Reg::BlkSizeCnt), "block size over 1024: 1024 used");
        block_size_ = uint16_t((block_size_ & ~kBlockSizeMask) | kMaxBlockSize);
    }
}

void Bcm2835Sdhci::write_control0(uint32_t value) {
    host_control_ = uint8_t(value);
    power_control_ = (value >> 8) & kPowerMask;
    unsigned voltage = (power_control_ >> kPowerVoltageShift) & 7;
    if (!card_ || !(kCapabilities & voltage_capability(voltage)))
        power_control_ &= ~kPowerOn;
    block_gap_ = (value >> 16) & kBlockGapMask;
    if (block_gap_ & kBlockGapStop)
        log_unimplemented(*this, off(Reg::Control0), "stop at block gap");
    if ((value >> 16) & kBlockGapContinue)
        log_unimplemented(*this, off(Reg::Control0), "continue request");
    wakeup_ = (value >> 24) & kWakeupMask;
}

void Bcm2835Sdhci::write_control1(uint32_t value) {
    if (uint32_t reset = (value >> 24) & 7)
        software_reset(reset);
    clock_control_ = value & kClockMask;
    if (clock_control_ & kClockInternalEnable)
        clock_control_ |= kClockInternalStable;
    timeout_control_ = (value >> 16) & kTimeoutMask;
}

void Bcm2835Sdhci::write_irpt_mask(uint32_t value) {
    normal_enable_ = value & kNormalMask;
    error_enable_ = (value >> 16) & kErrorMask;
    normal_status_ &= normal_enable_;
    error_status_ &= error_enable_;
    if (pending_insert_ && card_ && (normal_enable_ & kIntCardInsertion)) {
        normal_status_ |= kIntCardInsertion;
        pending_insert_ = false;
    }
}

void Bcm2835Sdhci::write_force_irpt(uint32_t value) {
    auto_cmd_error_ |= value & kAcmdMask;
    error_status_ |= (value >> 16) & error_enable_;
    if (auto_cmd_error_)
        raise_error(kErrAutoCmd);
}

void Bcm2835Sdhci::software_reset(uint32_t bits) {
    if (bits & kResetAll) {
        command_timer_.cancel();
        arg2_ = arg1_ = 0;
        block_size_ = block_count_ = 0;
        transfer_mode_ = command_ = 0;
        resp_.fill(0);
        host_control_ = power_control_ = block_gap_ = wakeup_ = 0;
        clock_control_ = 0;
        timeout_control_ = 0;
        normal_status_ = error_status_ = 0;
        normal_enable_ = error_enable_ = 0;
        normal_signal_ = error_signal_ = 0;
        auto_cmd_error_ = 0;
        pending_insert_ = false;
        bits = kResetCmd | kResetDat;
    }
    if (bits & kResetCmd) {
        command_timer_.cancel();
        cmd_inhibit_ = false;
        normal_status_ &= ~kIntCmdComplete;
    }
    if (bits & kResetDat) {
        end_transfer(false);
        buffer_.fill(0);
        block_gap_ &= ~(kBlockGapStop | kBlockGapContinue);
        normal_status_ &= ~(kIntBufferReadReady | kIntBufferWriteReady | kIntTransferComplete |
                            kIntBlockGap | kIntDma);
    }
}

// ---- commands ----

void Bcm2835Sdhci::issue_command(uint32_t value) {
    const uint16_t command = (value >> 16) & kCmdMask;
    const bool abort = (command & kCmdTypeMask) == kCmdTypeAbort;
    const bool uses_dat =
        (command & kCmdDataPresent) || ((command & kCmdRespMask) == kCmdResp48Busy && !abort);
    if (cmd_inhibit_) {
        log_guest_error(*this, off(Reg::CmdTm), "command issued with Command Inhibit (CMD) set");
        return;
    }
    if (dat_inhibit_ && uses_dat) {
        log_guest_error(*this, off(Reg::CmdTm), "command issued with Command Inhibit (DAT) set");
        return;
    }
    if ((clock_control_ & (kClockInternalEnable | kClockSdEnable)) !=
        (kClockInternalEnable | kClockSdEnable)) {
        log_guest_error(*this, off(Reg::CmdTm), "command issued with the SD clock off: not sent");
        return;
    }
    transfer_mode_ = value & kTmMask;
    if (transfer_mode_ & kTmDma) {
        log_unimplemented(*this, off(Reg::CmdTm), "DMA (the capabilities offer none)");
        transfer_mode_ &= ~kTmDma;
    }
    if ((transfer_mode_ & kTmAutoCmdMask) > kTmAutoCmd12)
        log_unimplemented(*this, off(Reg::CmdTm), "Auto CMD23");
    command_ = command;
    if (abort && phase_ != Phase::Idle)
        end_transfer(false);
    cmd_inhibit_ = true;
    if (uses_dat || (command & kCmdRespMask) == kCmdResp48Busy)
        dat_inhibit_ = true;
    command_timer_.arm_in(clock_.ticks_to_cycles(kCommandNs, 1'000'000'000));
}

void Bcm2835Sdhci::complete_command() {
    cmd_inhibit_ = false;
    SdResponse response;
    if (card_)
        response = card_->command(command_ >> kCmdIndexShift, arg1_);
    const uint16_t type = command_ & kCmdRespMask;
    if (type != kCmdRespNone) {
        const bool want_long = type == kCmdResp136;
        if (response.present() && response.is_long() != want_long)
            log_guest_error(*this, off(Reg::CmdTm), "response type does not match the response");
        if (!response.present() || response.is_long() != want_long) {
            raise_error(kErrCmdTimeout);
            dat_inhibit_ = false;
            update();
            return;
        }
        if (want_long) {
            // Bits 127:8: the card's words shifted right by the CRC7 and end bit.
            const auto& w = response.words;
            resp_ = {w[1] << 24 | w[0] >> 8, w[2] << 24 | w[1] >> 8, w[3] << 24 | w[2] >> 8,
                     w[3] >> 8};
        } else {
            resp_ = {response.words[0], 0, 0, 0};
        }
    }
    raise(kIntCmdComplete);
    if (command_ & kCmdDataPresent) {
        start_data();
    } else if (dat_inhibit_) {
        dat_inhibit_ = false; // busy ended with the response
        raise(kIntTransferComplete);
    }
    update();
}

// ---- data ----

void Bcm2835Sdhci::start_data() {
    transfer_block_ = block_size_ & kBlockSizeMask;
    const bool multi = transfer_mode_ & kTmMulti;
    if (transfer_block_ == 0 ||
        (multi && (transfer_mode_ & kTmBlockCountEnable) && block_count_ == 0)) {
        log_guest_error(*this, off(Reg::CmdTm), "data command with no block to transfer");
        dat_inhibit_ = false;
        return;
    }
    buffer_pos_ = 0;
    last_block_ = false;
    if (transfer_mode_ & kTmRead) {
        phase_ = Phase::Reading;
        load_block();
    } else {
        phase_ = Phase::Writing;
        buffer_ready_ = true;
        raise(kIntBufferWriteReady);
    }
}

// Counts one block across the SD bus; marks the last one and sends Auto CMD12 after it.
void Bcm2835Sdhci::count_block() {
    const bool multi = transfer_mode_ & kTmMulti;
    const bool counted = transfer_mode_ & kTmBlockCountEnable;
    if (counted && block_count_ > 0)
        --block_count_;
    last_block_ = !multi || (counted && block_count_ == 0);
    if (last_block_ && multi && (transfer_mode_ & kTmAutoCmdMask) == kTmAutoCmd12)
        auto_cmd12();
}

void Bcm2835Sdhci::load_block() {
    size_t got = card_ ? card_->read_block({buffer_.data(), transfer_block_}) : 0;
    if (got != transfer_block_) {
        raise_error(kErrDataTimeout);
        end_transfer(false);
        return;
    }
    buffer_pos_ = 0;
    buffer_ready_ = true;
    raise(kIntBufferReadReady);
    count_block();
}

void Bcm2835Sdhci::commit_block() {
    size_t took = card_ ? card_->write_block({buffer_.data(), transfer_block_}) : 0;
    if (took != transfer_block_) {
        raise_error(kErrDataTimeout);
        end_transfer(false);
        return;
    }
    count_block();
    if (last_block_) {
        end_transfer(true);
        return;
    }
    buffer_pos_ = 0;
    buffer_ready_ = true;
    raise(kIntBufferWriteReady);
}

void Bcm2835Sdhci::auto_cmd12() {
    SdResponse response = card_ ? card_->command(12, 0) : SdResponse{};
    if (response.present() && !response.is_long()) {
        resp_[3] = response.words[0];
    } else {
        auto_cmd_error_ |= kAcmdTimeout;
        raise_error(kErrAutoCmd);
    }
}

void Bcm2835Sdhci::end_transfer(bool ok) {
    if (phase_ == Phase::Idle && !dat_inhibit_)
        return;
    phase_ = Phase::Idle;
    buffer_ready_ = false;
    buffer_pos_ = 0;
    last_block_ = false;
    dat_inhibit_ = false;
    if (ok)
        raise(kIntTransferComplete);
}

uint32_t Bcm2835Sdhci::read_data() {
    if (phase_ != Phase::Reading || !buffer_ready_) {
        log_guest_error(*this, off(Reg::Data), "DATA read with Buffer Read Enable clear");
        return 0;
    }
    uint32_t word = 0;
    for (unsigned i = 0; i < 4 && buffer_pos_ < transfer_block_; ++i)
        word |= uint32_t(buffer_[buffer_pos_++]) << (8 * i);
    if (buffer_pos_ >= transfer_block_) {
        buffer_ready_ = false;
        if (last_block_)
            end_transfer(true);
        else
            load_block();
    }
    update();
    return word;
}

void Bcm2835Sdhci::write_data(uint32_t word) {
    if (phase_ != Phase::Writing || !buffer_ready_) {
        log_guest_error(*this, off(Reg::Data), "DATA written with Buffer Write Enable clear");
        return;
    }
    for (unsigned i = 0; i < 4 && buffer_pos_ < transfer_block_; ++i)
        buffer_[buffer_pos_++] = uint8_t(word >> (8 * i));
    if (buffer_pos_ >= transfer_block_) {
        buffer_ready_ = false;
        commit_block();
    }
}

// ---- status ----

// Latches a normal status bit if its status enable is set (2.2.19).
void Bcm2835Sdhci::raise(uint16_t normal_bit) {
    normal_status_ |= normal_bit & normal_enable_;
}

void Bcm2835Sdhci::raise_error(uint16_t error_bit) {
    error_status_ |= error_bit & error_enable_;
}

} // namespace piemu
