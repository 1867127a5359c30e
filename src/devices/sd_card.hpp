// An SD memory card in SD bus mode, backed by a raw disk image: the card that the SD
// host controllers (bcm2835_sdhost.cpp, and later the Arasan EMMC block) talk to. Not a
// Device: it has no registers of its own, only the command/response and data lines.
//
// Modelled after the SD Physical Layer Simplified Specification (version 3.01 and
// later; section numbers below are of that document): chapter 4 (card states and
// commands), 4.9 (responses), 4.10.1 (card status), 4.10.2 (SD status), 4.3.10 (switch
// function), chapter 5 (OCR, CID, CSD version 2.0, SCR). QEMU hw/sd/sd.c and Linux
// drivers/mmc/core/sd.c (how the host decodes each register) were used to check the
// field positions; see sd_card.cpp for the reasoning behind each modelled choice.
//
// The card is always a High Capacity card (OCR.CCS = 1, CSD version 2.0, block
// addressing, 512-byte blocks) whatever the image size, with one 3.3 V supply window
// (2.7-3.6 V). The image is read and written with pread/pwrite at the moment a block
// crosses the data lines: there is no cache in piemu, so a written block is in the file
// (the host kernel's page cache) before the card accepts its next command.
//
// Not modelled:
//  - SPI mode, UHS-I (no 1.8 V switch: OCR.S18A is 0, ACMD41's S18R is ignored), SDIO
//    (CMD5, CMD52, CMD53 are illegal commands), the inactive state (CMD15; an ACMD41
//    whose voltage window misses 2.7-3.6 V is answered as an inquiry instead);
//  - erase (class 5), write protection groups (class 6), lock/unlock (class 7, CMD42),
//    CMD11, CMD19-22, CMD26/27, CMD56: all illegal, and CSD.CCC does not advertise them;
//  - CRC checks and COM_CRC_ERROR: the model's frames are never corrupted;
//  - timing: power-up takes one ACMD41 round, programming is instantaneous, so the
//    prg and dis states are never seen by a host and busy() is false between calls.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "piemu/error.hpp"

namespace piemu {

/// Response formats of the SD bus, spec 4.9. R1b is R1 followed by busy on DAT0.
enum class SdResponseType : uint8_t { None, R1, R1b, R2, R3, R6, R7 };

/// What the card sends back on CMD for one command.
struct SdResponse {
    SdResponseType type = SdResponseType::None;
    /// The content bits, laid out as the BCM2835 SDRSP0-3 registers hold them: for R2,
    /// words[n] = bits [32n+31:32n] of the 128-bit CID or CSD (so words[0] ends with
    /// the register's CRC7 and end bit); for the 48-bit formats, words[0] = the 32-bit
    /// field (card status, OCR, RCA + status, or R7's voltage/pattern) and words[1-3]
    /// are 0.
    std::array<uint32_t, 4> words{};

    bool present() const { return type != SdResponseType::None; }
    /// True for the 136-bit format (R2).
    bool is_long() const { return type == SdResponseType::R2; }
};

class SdCard {
public:
    /// Card states, with the CURRENT_STATE codes of card status (spec 4.10.1).
    enum class State : uint8_t {
        Idle = 0,
        Ready = 1,
        Ident = 2,
        Stby = 3,
        Tran = 4,
        Data = 5,
        Rcv = 6,
        Prg = 7,
        Dis = 8,
    };
    static constexpr uint32_t kBlockSize = 512;

    /// Opens a raw image as a card. The length must be a non-zero multiple of 512;
    /// otherwise, or if the file cannot be opened, the error is one line naming it.
    /// `read_only` opens the file O_RDONLY and makes the card write-protected; without
    /// it, a file that cannot be written or has no write permission bit is an error
    /// that suggests --sd-readonly. The file is flock()ed (exclusive, or shared when
    /// read-only) for the card's lifetime: an image in use by another piemu is an error.
    static ErrorOr<std::unique_ptr<SdCard>> open(const std::string& path, bool read_only);
    /// A card over an image held in memory (tests). `image.size()` must be a non-zero
    /// multiple of 512 (asserted: this is host wiring).
    static std::unique_ptr<SdCard> in_memory(std::vector<uint8_t> image, bool read_only = false);

    ~SdCard();
    SdCard(const SdCard&) = delete;
    SdCard& operator=(const SdCard&) = delete;

    /// Power-on reset (also what CMD0 does): idle state, RCA 0, OCR not powered up,
    /// card status clear, 1-bit bus, default speed, no data phase.
    void reset();

    /// Delivers command `cmd` (0-63) with argument `arg`. After an accepted CMD55 the
    /// next command is taken as an application command (ACMD) if one with that number
    /// exists. An illegal command, or one addressed to another RCA, gets no response
    /// (type None); an illegal one sets ILLEGAL_COMMAND for the next response.
    SdResponse command(unsigned cmd, uint32_t arg);

    /// True while the card has a byte to send on DAT (data state, bytes left).
    bool data_ready() const;
    /// Takes the next byte the card sends; false (and `byte` untouched) if none.
    bool read_data(uint8_t& byte);
    /// True while the card takes write data (rcv state, within the image).
    bool receiving() const;
    /// Gives the card one byte of write data; false if it does not take it.
    bool write_data(uint8_t byte);
    /// read_data() repeated: fills `out` while data_ready(); returns the bytes read.
    size_t read_block(std::span<uint8_t> out);
    /// write_data() repeated: returns how many bytes of `in` the card took.
    size_t write_block(std::span<const uint8_t> in);
    /// True while the card holds DAT0 low (programming). Programming ends within the
    /// write_data() call that completes a block, so this is false between calls.
    bool busy() const { return state_ == State::Prg; }

    State state() const { return state_; }
    /// The relative card address published by CMD3 (0 before).
    uint16_t rca() const { return rca_; }
    /// The image length in 512-byte blocks: block numbers at or past it are out of range.
    uint64_t block_count() const { return blocks_; }
    bool read_only() const { return read_only_; }
    /// CRC7 (x^7 + x^3 + 1) of `bytes`, as CMD frames and the CID/CSD carry it (7 bits).
    static uint8_t crc7(std::span<const uint8_t> bytes);

private:
    enum class Reply : uint8_t { Illegal, NoResponse, R1, R1b, R2Cid, R2Csd, R3, R6, R7 };

    SdCard(std::string name, int fd, std::vector<uint8_t> memory, uint64_t bytes, bool read_only);

    Reply normal_command(unsigned cmd, uint32_t arg);
    Reply app_command(unsigned cmd, uint32_t arg, bool& handled);
    Reply select_card(uint16_t rca);
    Reply send_op_cond(uint32_t arg);
    Reply start_read(uint32_t block, bool multi);
    Reply start_write(uint32_t block, bool multi);
    Reply stop_transmission();
    Reply send_register(const uint8_t* bytes, size_t n);
    SdResponse make_response(Reply reply, State before);

    void load_block();
    void end_of_read_unit();
    void commit_block();
    bool storage_read(uint64_t offset, uint8_t* buf, size_t n);
    bool storage_write(uint64_t offset, const uint8_t* buf, size_t n);

    std::array<uint8_t, 16> cid() const;
    std::array<uint8_t, 16> csd() const;
    std::array<uint8_t, 8> scr() const;
    std::array<uint8_t, 64> sd_status() const;
    std::array<uint8_t, 64> switch_function(uint32_t arg);

    // Host side.
    const std::string name_; // the image path, for messages
    const int fd_;           // -1: the image is memory_
    std::vector<uint8_t> memory_;
    const uint64_t blocks_;
    const bool read_only_;

    // Card registers and protocol state.
    State state_ = State::Idle;
    uint16_t rca_ = 0;
    uint32_t status_ = 0;      // card status bits latched for the next R1/R6
    bool app_next_ = false;    // the last accepted command was CMD55
    bool power_up_ = false;    // OCR bit 31: initialisation complete
    bool init_begun_ = false;  // an ACMD41 with a voltage window and HCS was seen
    uint32_t r7_ = 0;          // CMD8's accepted voltage and check pattern
    uint32_t block_count_ = 0; // CMD23 count for the next CMD18/25; 0 = open-ended
    uint8_t bus_width_ = 0;    // ACMD6 argument: 0 = 1 bit, 2 = 4 bits
    uint8_t access_mode_ = 0;  // switch function group 1: 0 default, 1 high speed
    uint32_t written_ = 0;     // well-written blocks of the last write (ACMD22)

    // The data phase: buf_[pos_..len_) still to send, or buf_[0..pos_) received.
    bool from_image_ = false;  // blocks of the image, not a register
    uint64_t next_block_ = 0;  // block number to load or commit next
    uint32_t blocks_left_ = 0; // blocks until the transfer ends by itself; 0 = at CMD12
    std::array<uint8_t, kBlockSize> buf_{};
    size_t pos_ = 0;
    size_t len_ = 0;
    bool stopped_ = false; // a multi-block transfer reached the image end
};

} // namespace piemu
