// SD memory card. See sd_card.hpp for the sources and what is not modelled.
//
// Modelling choices, with their evidence (section numbers: SD Physical Layer
// Simplified Specification):
//
//  - Illegal commands (unknown, or not allowed in the current state) are not answered,
//    leave the state alone and set ILLEGAL_COMMAND, which the next response reports and
//    the next valid command clears: status type "E R", clear condition B in the card
//    status table (4.10.1). QEMU sd.c does the same (sd_illegal: no response, then
//    CARD_STATUS_B cleared after a valid command). A command for another RCA (CMD7, 9,
//    10, 13, 55) is not illegal: it is simply not answered.
//  - CURRENT_STATE in R1/R6 is the state in which the command was received (4.10.1:
//    "the state of the card when receiving the command"), so CMD7's R1 shows stby.
//    READY_FOR_DATA is always 1: the card's buffer is empty whenever a command arrives.
//    Linux's card_busy_detect() waits for it (and for a state other than prg) after
//    writes. Error and APP_CMD bits are clear-on-read (type C): reported once.
//  - Out-of-range block numbers: CMD17/18/24/25 with a block at or past the image end
//    answer R1 with OUT_OF_RANGE and stay in tran (no data phase). A multi-block
//    transfer that reaches the end stops there; OUT_OF_RANGE is set only when the host
//    then tries to move another byte, so reading or writing the last blocks followed
//    by CMD12 reports no error. ADDRESS_ERROR (misaligned byte address, 4.3.3) cannot
//    happen with block addressing and is never set.
//  - A read-only image is a write-protected card: CMD24/25 answer R1 with WP_VIOLATION
//    and stay in tran; CSD.PERM_WRITE_PROTECT is set, since nothing the guest can do
//    (CMD27 is not modelled) lifts the protection.
//  - ACMD41 (4.2.3): an argument whose voltage window (bits 23:0) is 0 is an inquiry
//    and does not start initialisation. The first ACMD41 with a window inside
//    2.7-3.6 V and HCS (bit 30) set starts it and answers busy (OCR bit 31 = 0); the
//    next one completes it: OCR bit 31 and CCS (bit 30, valid only with bit 31) are
//    set and the card moves to ready. A host that leaves HCS clear is not a 2.0 host,
//    and an SDHC card keeps answering busy to it (4.2.3.1).
//  - CMD8 with VHS (bits 11:8) = 0001b (2.7-3.6 V) echoes VHS and the check pattern
//    (R7); any other VHS gets no response, as for a card without that voltage (4.3.13).
//  - The CSD is version 2.0 (5.3.3): C_SIZE counts 512 KiB units, so it is the image
//    length rounded down to 512 KiB, minus one (0 for images under 512 KiB); the
//    OUT_OF_RANGE checks use the exact length. TRAN_SPEED is 0x32 (25 MHz), or 0x5A
//    after CMD6 selected high speed. CCC advertises only the classes modelled: 0, 2, 4,
//    8 and 10 (0x515); leaving out class 5 (erase) keeps Linux from sending erase
//    commands although bcm2835.c sets MMC_CAP_ERASE.
//  - SCR (5.6): SD_SPEC 2 with SD_SPEC3 (physical layer 3.0x), 1- and 4-bit bus,
//    no security, CMD_SUPPORT bit 1 (CMD23: SET_BLOCK_COUNT). Linux reads CMD_SUPPORT
//    only when SD_SPEC3 is set (mmc_decode_scr) and then uses CMD23 for reads.
//  - SD status (4.10.2): DAT_BUS_WIDTH from ACMD6, SPEED_CLASS 4 (class 10), AU_SIZE 9
//    (4 MiB), ERASE_SIZE/TIMEOUT 0 (no erase timing). Linux mmc_read_ssr reads AU_SIZE
//    at bit 428 and the erase fields at 408/402/400.
//  - CMD6 (4.3.10): group 1 (access mode) supports 0 (default) and 1 (high speed);
//    groups 2-6 support only function 0. Each group's result is the function asked
//    for, the current one for 0xF, or 0xF if unsupported; mode 1 switches only when
//    no group failed. Maximum current is 100 mA, 0 when a group failed. Data
//    structure version 1, no function busy. Linux reads bytes 13 and 16 (support and
//    result of group 1).
//  - Data move at the host's pace: read_data()/write_data() are the DAT lines. A
//    block is read from the image when its first byte is needed and written when its
//    last byte arrives; programming is instantaneous (prg lasts inside one call).
#include "devices/sd_card.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace piemu {

namespace {

using State = SdCard::State;

// Card status bits, 4.10.1.
constexpr uint32_t kOutOfRange = 1u << 31;
constexpr uint32_t kBlockLenError = 1u << 29;
constexpr uint32_t kWpViolation = 1u << 26;
constexpr uint32_t kComCrcError = 1u << 23;
constexpr uint32_t kIllegalCommand = 1u << 22;
constexpr uint32_t kError = 1u << 19;
constexpr uint32_t kReadyForData = 1u << 8;
constexpr uint32_t kAppCmd = 1u << 5;
constexpr unsigned kCurrentStateShift = 9;

// OCR, 5.1: the 2.7-3.6 V window (bits 15-23), CCS and power-up status.
constexpr uint32_t kOcrVoltageWindow = 0x00ff8000;
constexpr uint32_t kOcrVoltageField = 0x00ffffff; // ACMD41 argument bits 23:0
constexpr uint32_t kOcrCcs = 1u << 30;            // ACMD41 argument: HCS
constexpr uint32_t kOcrPowerUp = 1u << 31;

// CMD8 argument/R7: VHS 0001b = 2.7-3.6 V (4.3.13).
constexpr uint32_t kVhs27To36 = 0x1;

// The RCA published by the first CMD3 after reset; each further CMD3 adds one.
constexpr uint16_t kFirstRca = 0xb368;

// CID contents (5.2): an unassigned manufacturer, OEM "PE", product "PIEMU", revision
// 1.0, serial 1, made January 2024.
constexpr uint8_t kCidMid = 0x00;
constexpr uint16_t kCidOid = ('P' << 8) | 'E';
constexpr char kCidPnm[] = "PIEMU";
constexpr uint8_t kCidPrv = 0x10;
constexpr uint32_t kCidPsn = 1;
constexpr unsigned kCidYear = 2024;
constexpr unsigned kCidMonth = 1;

// Switch function (4.3.10): supported-function masks of groups 1..6, and the current
// reported to the host.
constexpr uint16_t kSwitchSupport[6] = {0x0003, 0x0001, 0x0001, 0x0001, 0x0001, 0x0001};
constexpr uint16_t kSwitchMaxCurrentMa = 100;

constexpr uint32_t kCcc = 0x515; // command classes 0, 2, 4, 8, 10

bool identification_mode(State s) {
    return s == State::Idle || s == State::Ready || s == State::Ident;
}

// Sets bits [hi:lo] of a big-endian register (bit 0 = the last byte's bit 0).
template <size_t N>
void put_bits(std::array<uint8_t, N>& reg, unsigned hi, unsigned lo, uint64_t value) {
    for (unsigned bit = lo; bit <= hi; ++bit, value >>= 1) {
        uint8_t& byte = reg[N - 1 - bit / 8];
        uint8_t mask = uint8_t(1u << (bit % 8));
        byte = (value & 1) ? (byte | mask) : (byte & ~mask);
    }
}

// Ends a 128-bit CID/CSD: CRC7 of bytes 0-14 in bits 7:1, end bit 1.
void seal(std::array<uint8_t, 16>& reg) {
    reg[15] = uint8_t(SdCard::crc7(std::span<const uint8_t>(reg.data(), 15)) << 1 | 1);
}

} // namespace

// ---- host side ----

ErrorOr<std::unique_ptr<SdCard>> SdCard::open(const std::string& path, bool read_only) {
    int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0 && !read_only && (errno == EACCES || errno == EROFS || errno == EPERM))
        return Error{fmt::format("{}: SD card image is not writable ({}); use --sd-readonly", path,
                                 std::strerror(errno))};
    if (fd < 0)
        return Error{fmt::format("{}: cannot open SD card image: {}", path, std::strerror(errno))};
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return Error{fmt::format("{}: cannot stat SD card image: {}", path, std::strerror(err))};
    }
    // root opens a file without write permission all the same: the permission bits
    // still say the user wants it kept as it is.
    if (!read_only && S_ISREG(st.st_mode) && !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) {
        ::close(fd);
        return Error{fmt::format("{}: SD card image is read-only (mode {:04o}); use --sd-readonly",
                                 path, st.st_mode & 07777)};
    }
    // One writer at a time, as QEMU locks its disk images: a second piemu (or anything
    // else that flock()s it) would interleave writes with ours. Readers share.
    if (::flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            return Error{
                fmt::format("{}: SD card image is in use by another process (locked)", path)};
        return Error{fmt::format("{}: cannot lock SD card image: {}", path, std::strerror(err))};
    }
    uint64_t length = uint64_t(st.st_size);
    if (length == 0 || length % kBlockSize != 0) {
        ::close(fd);
        return Error{fmt::format("{}: SD card image is {} bytes long; it must be a non-zero "
                                 "multiple of 512",
                                 path, length)};
    }
    return std::unique_ptr<SdCard>(new SdCard(path, fd, {}, length, read_only));
}

std::unique_ptr<SdCard> SdCard::in_memory(std::vector<uint8_t> image, bool read_only) {
    assert(!image.empty() && image.size() % kBlockSize == 0);
    uint64_t length = image.size();
    return std::unique_ptr<SdCard>(
        new SdCard("(in-memory image)", -1, std::move(image), length, read_only));
}

SdCard::SdCard(std::string name, int fd, std::vector<uint8_t> memory, uint64_t bytes,
               bool read_only)
    : name_(std::move(name)), fd_(fd), memory_(std::move(memory)), blocks_(bytes / kBlockSize),
      read_only_(read_only) {
    reset();
}

SdCard::~SdCard() {
    if (fd_ >= 0)
        ::close(fd_);
}

bool SdCard::storage_read(uint64_t offset, uint8_t* buf, size_t n) {
    if (fd_ < 0) {
        std::memcpy(buf, memory_.data() + offset, n);
        return true;
    }
    for (size_t done = 0; done < n;) {
        ssize_t got = ::pread(fd_, buf + done, n - done, off_t(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            spdlog::error("{}: SD card read at byte {} failed: {}", name_, offset + done,
                          got < 0 ? std::strerror(errno) : "end of file");
            return false;
        }
        done += size_t(got);
    }
    return true;
}

bool SdCard::storage_write(uint64_t offset, const uint8_t* buf, size_t n) {
    if (fd_ < 0) {
        std::memcpy(memory_.data() + offset, buf, n);
        return true;
    }
    for (size_t done = 0; done < n;) {
        ssize_t put = ::pwrite(fd_, buf + done, n - done, off_t(offset + done));
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0) {
            spdlog::error("{}: SD card write at byte {} failed: {}", name_, offset + done,
                          put < 0 ? std::strerror(errno) : "nothing written");
            return false;
        }
        done += size_t(put);
    }
    return true;
}

// ---- commands ----

void SdCard::reset() {
    state_ = State::Idle;
    rca_ = 0;
    status_ = 0;
    app_next_ = false;
    power_up_ = false;
    init_begun_ = false;
    r7_ = 0;
    block_count_ = 0;
    bus_width_ = 0;
    access_mode_ = 0;
    written_ = 0;
    from_image_ = false;
    blocks_left_ = 0;
    pos_ = len_ = 0;
    stopped_ = false;
}

SdResponse SdCard::command(unsigned cmd, uint32_t arg) {
    cmd &= 63;
    const State before = state_;
    const bool app = std::exchange(app_next_, false);
    bool handled = false;
    Reply reply = app ? app_command(cmd, arg, handled) : Reply::Illegal;
    if (!handled)
        reply = normal_command(cmd, arg);
    // CMD23's count holds for the one command after it (start_read/start_write took it).
    if (!(cmd == 23 && !handled && reply != Reply::Illegal))
        block_count_ = 0;
    if (reply == Reply::Illegal) {
        status_ |= kIllegalCommand;
        spdlog::debug("{}: {}CMD{} (arg 0x{:08x}) illegal in state {}", name_, handled ? "A" : "",
                      cmd, arg, int(before));
        return {};
    }
    if (handled || (cmd == 55 && reply != Reply::NoResponse))
        status_ |= kAppCmd;
    return make_response(reply, before);
}

SdResponse SdCard::make_response(Reply reply, State before) {
    SdResponse r;
    const uint32_t status = status_ | kReadyForData | (uint32_t(before) << kCurrentStateShift);
    switch (reply) {
    case Reply::R1:
    case Reply::R1b:
        r.type = reply == Reply::R1 ? SdResponseType::R1 : SdResponseType::R1b;
        r.words[0] = status;
        status_ = 0; // every latched bit is clear-on-read or cleared by a valid command
        break;
    case Reply::R6: {
        // 4.9.5: status bits 23, 22, 19 and 12:0 in bits 15, 14, 13 and 12:0.
        uint32_t bits = ((status >> 8) & 0xc000) | ((status >> 6) & 0x2000) | (status & 0x1fff);
        r.type = SdResponseType::R6;
        r.words[0] = uint32_t(rca_) << 16 | bits;
        status_ &= ~(kComCrcError | kIllegalCommand | kError | 0x1fffu);
        break;
    }
    case Reply::R2Cid:
    case Reply::R2Csd: {
        auto reg = reply == Reply::R2Cid ? cid() : csd();
        r.type = SdResponseType::R2;
        for (unsigned n = 0; n < 4; ++n) {
            const uint8_t* p = &reg[12 - 4 * n];
            r.words[n] = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
        }
        break;
    }
    case Reply::R3:
        r.type = SdResponseType::R3;
        r.words[0] = kOcrVoltageWindow | (power_up_ ? kOcrPowerUp | kOcrCcs : 0);
        break;
    case Reply::R7:
        r.type = SdResponseType::R7;
        r.words[0] = r7_;
        break;
    case Reply::NoResponse:
    case Reply::Illegal:
        break;
    }
    // Clear condition B, and APP_CMD once shown (or not shown: R2/R3/R7 carry no status).
    status_ &= ~(kIllegalCommand | kComCrcError | kAppCmd);
    return r;
}

SdCard::Reply SdCard::normal_command(unsigned cmd, uint32_t arg) {
    const uint16_t rca = uint16_t(arg >> 16);
    switch (cmd) {
    case 0: // GO_IDLE_STATE
        reset();
        return Reply::NoResponse;
    case 2: // ALL_SEND_CID
        if (state_ != State::Ready)
            return Reply::Illegal;
        state_ = State::Ident;
        return Reply::R2Cid;
    case 3: // SEND_RELATIVE_ADDR: a new RCA each time
        if (state_ != State::Ident && state_ != State::Stby)
            return Reply::Illegal;
        rca_ = rca_ == 0 ? kFirstRca : uint16_t(rca_ + 1);
        if (rca_ == 0)
            rca_ = 1;
        state_ = State::Stby;
        return Reply::R6;
    case 6: { // SWITCH_FUNC
        if (state_ != State::Tran)
            return Reply::Illegal;
        auto status = switch_function(arg);
        return send_register(status.data(), status.size());
    }
    case 7: // SELECT/DESELECT_CARD
        return select_card(rca);
    case 8: // SEND_IF_COND
        if (state_ != State::Idle)
            return Reply::Illegal;
        if (((arg >> 8) & 0xf) != kVhs27To36)
            return Reply::NoResponse;
        r7_ = arg & 0xfff;
        return Reply::R7;
    case 9:  // SEND_CSD
    case 10: // SEND_CID
        if (state_ != State::Stby)
            return Reply::Illegal;
        if (rca != rca_)
            return Reply::NoResponse;
        return cmd == 9 ? Reply::R2Csd : Reply::R2Cid;
    case 12: // STOP_TRANSMISSION
        return stop_transmission();
    case 13: // SEND_STATUS
        if (identification_mode(state_))
            return Reply::Illegal;
        return rca == rca_ ? Reply::R1 : Reply::NoResponse;
    case 16: // SET_BLOCKLEN: memory commands use 512 bytes on SDHC whatever it says
        if (state_ != State::Tran)
            return Reply::Illegal;
        if (arg > kBlockSize)
            status_ |= kBlockLenError;
        return Reply::R1;
    case 17: // READ_SINGLE_BLOCK
    case 18: // READ_MULTIPLE_BLOCK
        return start_read(arg, cmd == 18);
    case 23: // SET_BLOCK_COUNT
        if (state_ != State::Tran)
            return Reply::Illegal;
        block_count_ = arg;
        return Reply::R1;
    case 24: // WRITE_BLOCK
    case 25: // WRITE_MULTIPLE_BLOCK
        return start_write(arg, cmd == 25);
    case 55: // APP_CMD
        if (rca != rca_)
            return Reply::NoResponse;
        app_next_ = true;
        return Reply::R1;
    default:
        return Reply::Illegal;
    }
}

SdCard::Reply SdCard::app_command(unsigned cmd, uint32_t arg, bool& handled) {
    handled = true;
    switch (cmd) {
    case 41: // SD_SEND_OP_COND
        return send_op_cond(arg);
    case 6:  // SET_BUS_WIDTH
    case 13: // SD_STATUS
    case 22: // SEND_NUM_WR_BLOCKS
    case 42: // SET_CLR_CARD_DETECT
    case 51: // SEND_SCR
        break;
    default:
        handled = false; // not an ACMD: taken as the standard command
        return Reply::Illegal;
    }
    if (state_ != State::Tran)
        return Reply::Illegal;
    switch (cmd) {
    case 6:
        bus_width_ = uint8_t(arg & 3);
        return Reply::R1;
    case 13: {
        auto ssr = sd_status();
        return send_register(ssr.data(), ssr.size());
    }
    case 22: {
        const uint8_t count[4] = {uint8_t(written_ >> 24), uint8_t(written_ >> 16),
                                  uint8_t(written_ >> 8), uint8_t(written_)};
        return send_register(count, sizeof count);
    }
    case 51: {
        auto reg = scr();
        return send_register(reg.data(), reg.size());
    }
    default:
        // NOTE: ACMD42 connects or disconnects the card's DAT3 pull-up: nothing to model.
        return Reply::R1;
    }
}

SdCard::Reply SdCard::select_card(uint16_t rca) {
    if (state_ == State::Stby) {
        if (rca == 0 || rca != rca_)
            return Reply::NoResponse;
        state_ = State::Tran;
        return Reply::R1b;
    }
    if (state_ == State::Tran || state_ == State::Data) {
        if (rca == rca_)
            return Reply::Illegal;
        state_ = State::Stby; // deselected: not addressed, so no response
        pos_ = len_ = 0;
        return Reply::NoResponse;
    }
    return Reply::Illegal;
}

SdCard::Reply SdCard::send_op_cond(uint32_t arg) {
    if (state_ != State::Idle)
        return Reply::Illegal;
    const uint32_t window = arg & kOcrVoltageField;
    if (window & kOcrVoltageWindow) {
        if (!(arg & kOcrCcs)) {
            spdlog::debug("{}: ACMD41 without HCS: an SDHC card stays busy", name_);
        } else if (!init_begun_) {
            init_begun_ = true;
        } else {
            power_up_ = true;
            state_ = State::Ready;
        }
    } else if (window != 0) {
        spdlog::debug("{}: ACMD41 voltage window 0x{:06x} outside 2.7-3.6 V: taken as an "
                      "inquiry",
                      name_, window);
    }
    return Reply::R3;
}

SdCard::Reply SdCard::stop_transmission() {
    if (state_ != State::Data && state_ != State::Rcv)
        return Reply::Illegal;
    // A partly received block is dropped; programming of whole blocks is already done.
    state_ = State::Tran;
    pos_ = len_ = 0;
    return Reply::R1b;
}

// ---- data phase ----

SdCard::Reply SdCard::send_register(const uint8_t* bytes, size_t n) {
    assert(n <= buf_.size());
    std::memcpy(buf_.data(), bytes, n);
    from_image_ = false;
    pos_ = 0;
    len_ = n;
    stopped_ = false;
    state_ = State::Data;
    return Reply::R1;
}

SdCard::Reply SdCard::start_read(uint32_t block, bool multi) {
    if (state_ != State::Tran)
        return Reply::Illegal;
    if (block >= blocks_) {
        status_ |= kOutOfRange;
        return Reply::R1;
    }
    from_image_ = true;
    next_block_ = block;
    blocks_left_ = multi ? block_count_ : 1;
    stopped_ = false;
    state_ = State::Data;
    load_block();
    return Reply::R1;
}

SdCard::Reply SdCard::start_write(uint32_t block, bool multi) {
    if (state_ != State::Tran)
        return Reply::Illegal;
    if (block >= blocks_) {
        status_ |= kOutOfRange;
        return Reply::R1;
    }
    if (read_only_) {
        status_ |= kWpViolation;
        return Reply::R1;
    }
    next_block_ = block;
    blocks_left_ = multi ? block_count_ : 1;
    written_ = 0;
    pos_ = 0;
    stopped_ = false;
    state_ = State::Rcv;
    return Reply::R1;
}

void SdCard::load_block() {
    if (!storage_read(next_block_ * kBlockSize, buf_.data(), kBlockSize)) {
        buf_.fill(0);
        status_ |= kError;
    }
    ++next_block_;
    pos_ = 0;
    len_ = kBlockSize;
}

// After the last byte of a block or register went out.
void SdCard::end_of_read_unit() {
    if (!from_image_ || (blocks_left_ != 0 && --blocks_left_ == 0)) {
        state_ = State::Tran;
        return;
    }
    if (next_block_ >= blocks_) {
        stopped_ = true; // stays in data until CMD12
        return;
    }
    load_block();
}

void SdCard::commit_block() {
    state_ = State::Prg;
    if (storage_write(next_block_ * kBlockSize, buf_.data(), kBlockSize))
        ++written_;
    else
        status_ |= kError;
    ++next_block_;
    pos_ = 0;
    if (blocks_left_ != 0 && --blocks_left_ == 0) {
        state_ = State::Tran;
        return;
    }
    state_ = State::Rcv;
    stopped_ = next_block_ >= blocks_;
}

bool SdCard::data_ready() const {
    return state_ == State::Data && pos_ < len_;
}

bool SdCard::read_data(uint8_t& byte) {
    if (state_ != State::Data)
        return false;
    if (pos_ >= len_) {
        if (stopped_)
            status_ |= kOutOfRange; // the host wants the block after the last one
        return false;
    }
    byte = buf_[pos_++];
    if (pos_ == len_)
        end_of_read_unit();
    return true;
}

bool SdCard::receiving() const {
    return state_ == State::Rcv && !stopped_;
}

bool SdCard::write_data(uint8_t byte) {
    if (!receiving()) {
        if (state_ == State::Rcv)
            status_ |= kOutOfRange; // a block past the image end
        return false;
    }
    buf_[pos_++] = byte;
    if (pos_ == kBlockSize)
        commit_block();
    return true;
}

size_t SdCard::read_block(std::span<uint8_t> out) {
    size_t n = 0;
    while (n < out.size() && read_data(out[n]))
        ++n;
    return n;
}

size_t SdCard::write_block(std::span<const uint8_t> in) {
    size_t n = 0;
    while (n < in.size() && write_data(in[n]))
        ++n;
    return n;
}

// ---- registers ----

uint8_t SdCard::crc7(std::span<const uint8_t> bytes) {
    uint8_t crc = 0;
    for (uint8_t b : bytes) {
        for (int bit = 7; bit >= 0; --bit) {
            bool feedback = ((crc >> 6) ^ (b >> bit)) & 1;
            crc = uint8_t((crc << 1) & 0x7f);
            if (feedback)
                crc ^= 0x09; // x^3 + 1
        }
    }
    return crc;
}

std::array<uint8_t, 16> SdCard::cid() const {
    std::array<uint8_t, 16> c{};
    put_bits(c, 127, 120, kCidMid);
    put_bits(c, 119, 104, kCidOid);
    for (unsigned i = 0; i < 5; ++i)
        put_bits(c, 103 - 8 * i, 96 - 8 * i, uint8_t(kCidPnm[i]));
    put_bits(c, 63, 56, kCidPrv);
    put_bits(c, 55, 24, kCidPsn);
    put_bits(c, 19, 12, kCidYear - 2000);
    put_bits(c, 11, 8, kCidMonth);
    seal(c);
    return c;
}

std::array<uint8_t, 16> SdCard::csd() const {
    std::array<uint8_t, 16> c{};
    const uint64_t units = blocks_ / 1024; // 512 KiB
    const uint64_t c_size = units == 0 ? 0 : std::min<uint64_t>(units - 1, 0x3fffff);
    put_bits(c, 127, 126, 1);                         // CSD_STRUCTURE: version 2.0
    put_bits(c, 119, 112, 0x0e);                      // TAAC: 1 ms (fixed)
    put_bits(c, 103, 96, access_mode_ ? 0x5a : 0x32); // TRAN_SPEED: 50 or 25 MHz
    put_bits(c, 95, 84, kCcc);
    put_bits(c, 83, 80, 9); // READ_BL_LEN: 512
    put_bits(c, 69, 48, c_size);
    put_bits(c, 46, 46, 1);                  // ERASE_BLK_EN
    put_bits(c, 45, 39, 0x7f);               // SECTOR_SIZE: 64 KiB
    put_bits(c, 28, 26, 2);                  // R2W_FACTOR: x4
    put_bits(c, 25, 22, 9);                  // WRITE_BL_LEN: 512
    put_bits(c, 13, 13, read_only_ ? 1 : 0); // PERM_WRITE_PROTECT
    seal(c);
    return c;
}

std::array<uint8_t, 8> SdCard::scr() const {
    std::array<uint8_t, 8> s{};
    put_bits(s, 59, 56, 2);      // SD_SPEC: 2.00 or later
    put_bits(s, 51, 48, 0b0101); // SD_BUS_WIDTHS: 1 and 4 bits
    put_bits(s, 47, 47, 1);      // SD_SPEC3
    put_bits(s, 33, 32, 0b10);   // CMD_SUPPORT: CMD23
    return s;
}

std::array<uint8_t, 64> SdCard::sd_status() const {
    std::array<uint8_t, 64> s{};
    put_bits(s, 511, 510, bus_width_);
    put_bits(s, 447, 440, 4); // SPEED_CLASS: class 10
    put_bits(s, 431, 428, 9); // AU_SIZE: 4 MiB
    return s;
}

std::array<uint8_t, 64> SdCard::switch_function(uint32_t arg) {
    std::array<uint8_t, 64> s{};
    uint8_t result[6];
    bool ok = true;
    for (unsigned g = 0; g < 6; ++g) {
        unsigned want = (arg >> (4 * g)) & 0xf;
        unsigned current = g == 0 ? access_mode_ : 0;
        if (want == 0xf)
            result[g] = uint8_t(current);
        else if ((kSwitchSupport[g] >> want) & 1)
            result[g] = uint8_t(want);
        else {
            result[g] = 0xf;
            ok = false;
        }
    }
    if ((arg >> 31) && ok)
        access_mode_ = result[0];
    put_bits(s, 511, 496, ok ? kSwitchMaxCurrentMa : 0);
    for (unsigned g = 0; g < 6; ++g) {
        put_bits(s, 415 + 16 * g, 400 + 16 * g, kSwitchSupport[g]); // group 1 at 415:400
        put_bits(s, 379 + 4 * g, 376 + 4 * g, result[g]);           // group 1 at 379:376
    }
    put_bits(s, 375, 368, 1); // data structure version
    return s;
}

} // namespace piemu
