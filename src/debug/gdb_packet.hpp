// The framing of the GDB Remote Serial Protocol (gdb manual, "Overview" of Appendix E
// "GDB Remote Serial Protocol"): `$payload#cs` with a two-digit hex checksum (the sum
// of the payload bytes mod 256), `+`/`-` acknowledgements, the out-of-band interrupt
// byte 0x03, and the binary escape `}` (0x7d) followed by the byte XOR 0x20.
//
// PacketReader is a byte-at-a-time state machine with a bound on the payload it
// keeps: no input makes it allocate more than that bound or wait for something it
// cannot get. Replies are never run-length encoded (nothing requires it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace piemu::gdb {

/// The largest payload piemu accepts, as advertised in qSupported's PacketSize
/// (gdb sends at most this many bytes between `$` and `#`).
inline constexpr std::size_t kMaxPacketSize = 0x4000;

/// The sum of the bytes modulo 256.
std::uint8_t checksum(std::string_view payload);
/// `$payload#cs`.
std::string frame(std::string_view payload);

/// Escapes binary data for a reply (qXfer): `$`, `#`, `}` and `*` become `}` and
/// the byte XOR 0x20.
std::string escape_binary(std::span<const std::uint8_t> data);
std::string escape_binary(std::string_view data);
/// Undoes the escapes of binary data in a packet (X); nullopt if it ends in a lone `}`.
std::optional<std::vector<std::uint8_t>> unescape_binary(std::string_view data);

/// Lower-case hex of each byte, two digits each.
std::string to_hex(std::span<const std::uint8_t> bytes);
std::string to_hex(std::string_view bytes);
/// The low `bytes` bytes of `value`, little-endian, in hex (the "g"/"p" register format).
std::string le_hex(std::uint64_t value, unsigned bytes);
/// Pairs of hex digits to bytes; nullopt on an odd length or a non-hex digit.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);
/// A little-endian register value of `bytes` bytes in hex; nullopt unless exactly
/// 2 * bytes hex digits.
std::optional<std::uint64_t> parse_le_hex(std::string_view hex, unsigned bytes);
/// A big-endian hex number (addresses, lengths, thread ids) of at most 16 digits;
/// nullopt if empty, too long or not hex.
std::optional<std::uint64_t> parse_hex(std::string_view hex);

/// What the byte stream from gdb contained.
struct PacketEvent {
    enum class Kind {
        Packet,      ///< a packet with a good checksum: `payload` (escapes kept)
        BadChecksum, ///< a whole packet whose checksum did not match: answer `-`
        Oversize,    ///< a packet longer than the bound, checksum good: refuse it
        Interrupt,   ///< 0x03 outside a packet (Ctrl-C)
        Ack,         ///< `+`
        Nak,         ///< `-`: send the last packet again
    };
    Kind kind = Kind::Packet;
    std::string payload;
};

/// Splits the byte stream into PacketEvents. A `$` inside a packet, its checksum
/// included, starts a new one (the old one was cut short: gdb escapes `$` in data);
/// bytes outside packets other than `+`, `-` and 0x03 are ignored, as gdbserver does.
class PacketReader {
public:
    explicit PacketReader(std::size_t max_payload = kMaxPacketSize) : max_(max_payload) {}
    /// Feeds one byte; returns an event when one is complete.
    std::optional<PacketEvent> feed(char byte);
    /// True while part of a packet has been read.
    bool in_packet() const { return state_ != State::Idle; }
    /// Forgets a partial packet (the client went away).
    void reset();

private:
    enum class State { Idle, Payload, Check1, Check2 };
    State state_ = State::Idle;
    std::size_t max_;
    std::string payload_;
    bool oversize_ = false;
    std::uint8_t sum_ = 0;
    int check_hi_ = 0;
};

} // namespace piemu::gdb
