// GDB Remote Serial Protocol framing (see gdb_packet.hpp).
#include "debug/gdb_packet.hpp"

namespace piemu::gdb {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

constexpr char kHex[] = "0123456789abcdef";

bool needs_escape(std::uint8_t b) {
    return b == '$' || b == '#' || b == '}' || b == '*';
}

} // namespace

std::uint8_t checksum(std::string_view payload) {
    std::uint8_t sum = 0;
    for (char c : payload)
        sum = std::uint8_t(sum + std::uint8_t(c));
    return sum;
}

std::string frame(std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 4);
    out += '$';
    out += payload;
    out += '#';
    std::uint8_t sum = checksum(payload);
    out += kHex[sum >> 4];
    out += kHex[sum & 15];
    return out;
}

std::string escape_binary(std::span<const std::uint8_t> data) {
    std::string out;
    out.reserve(data.size());
    for (std::uint8_t b : data) {
        if (needs_escape(b)) {
            out += '}';
            out += char(b ^ 0x20);
        } else {
            out += char(b);
        }
    }
    return out;
}

std::string escape_binary(std::string_view data) {
    return escape_binary(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

std::optional<std::vector<std::uint8_t>> unescape_binary(std::string_view data) {
    std::vector<std::uint8_t> out;
    out.reserve(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (data[i] != '}') {
            out.push_back(std::uint8_t(data[i]));
            continue;
        }
        if (++i == data.size())
            return std::nullopt;
        out.push_back(std::uint8_t(data[i] ^ 0x20));
    }
    return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::uint8_t b : bytes) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

std::string to_hex(std::string_view bytes) {
    return to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                                bytes.size()));
}

std::string le_hex(std::uint64_t value, unsigned bytes) {
    std::string out;
    for (unsigned i = 0; i < bytes; ++i, value >>= 8) {
        out += kHex[(value >> 4) & 15];
        out += kHex[value & 15];
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
    if (hex.size() % 2)
        return std::nullopt;
    std::vector<std::uint8_t> out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out.push_back(std::uint8_t(hi << 4 | lo));
    }
    return out;
}

std::optional<std::uint64_t> parse_le_hex(std::string_view hex, unsigned bytes) {
    if (hex.size() != 2 * std::size_t(bytes) || bytes > 8)
        return std::nullopt;
    auto b = from_hex(hex);
    if (!b)
        return std::nullopt;
    std::uint64_t v = 0;
    for (unsigned i = bytes; i-- > 0;)
        v = v << 8 | (*b)[i];
    return v;
}

std::optional<std::uint64_t> parse_hex(std::string_view hex) {
    if (hex.empty() || hex.size() > 16)
        return std::nullopt;
    std::uint64_t v = 0;
    for (char c : hex) {
        int d = hex_digit(c);
        if (d < 0)
            return std::nullopt;
        v = v << 4 | unsigned(d);
    }
    return v;
}

void PacketReader::reset() {
    state_ = State::Idle;
    payload_.clear();
    oversize_ = false;
    sum_ = 0;
}

std::optional<PacketEvent> PacketReader::feed(char byte) {
    using Kind = PacketEvent::Kind;
    switch (state_) {
    case State::Idle:
        if (byte == '$') {
            reset();
            state_ = State::Payload;
        } else if (byte == '\x03') {
            return PacketEvent{Kind::Interrupt, {}};
        } else if (byte == '+') {
            return PacketEvent{Kind::Ack, {}};
        } else if (byte == '-') {
            return PacketEvent{Kind::Nak, {}};
        }
        return std::nullopt; // noise between packets
    case State::Payload:
        if (byte == '$') { // the packet before was cut short: start again
            reset();
            state_ = State::Payload;
        } else if (byte == '#') {
            state_ = State::Check1;
        } else {
            sum_ = std::uint8_t(sum_ + std::uint8_t(byte));
            if (payload_.size() < max_)
                payload_ += byte;
            else
                oversize_ = true; // keep summing, keep nothing
        }
        return std::nullopt;
    case State::Check1:
        if (byte == '$') { // cut short in its checksum: start again
            reset();
            state_ = State::Payload;
            return std::nullopt;
        }
        check_hi_ = hex_digit(byte);
        state_ = State::Check2;
        return std::nullopt;
    case State::Check2: {
        if (byte == '$') {
            reset();
            state_ = State::Payload;
            return std::nullopt;
        }
        int lo = hex_digit(byte);
        bool good = check_hi_ >= 0 && lo >= 0 && std::uint8_t(check_hi_ << 4 | lo) == sum_;
        PacketEvent e;
        e.kind = !good ? Kind::BadChecksum : oversize_ ? Kind::Oversize : Kind::Packet;
        if (e.kind == Kind::Packet)
            e.payload = std::move(payload_);
        reset();
        return e;
    }
    }
    return std::nullopt;
}

} // namespace piemu::gdb
