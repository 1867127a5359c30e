// Fuzz target: the gdb remote protocol's framing and encodings (src/debug/
// gdb_packet.*). The bytes are what a client sends; every packet the reader yields
// must be within its bound, and the hex and binary codecs must round-trip.
#include <cstdint>
#include <string>

#include "debug/gdb_packet.hpp"
#include "fuzz_input.hpp"

using namespace piemu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A small bound so that oversize packets are reached too.
    gdb::PacketReader reader(data && size ? 64 + data[0] : 64);
    size_t bound = data && size ? 64 + data[0] : 64;
    for (size_t i = 0; i < size; ++i) {
        auto event = reader.feed(char(data[i]));
        if (!event)
            continue;
        FUZZ_CHECK(event->payload.size() <= bound);
        if (event->kind != gdb::PacketEvent::Kind::Packet)
            continue;
        const std::string& p = event->payload;
        // What the stub does with a payload's pieces: every codec on every packet.
        if (auto bytes = gdb::unescape_binary(p)) {
            auto escaped = gdb::escape_binary(*bytes);
            auto again = gdb::unescape_binary(escaped);
            FUZZ_CHECK(again && *again == *bytes);
        }
        if (auto bytes = gdb::from_hex(p))
            FUZZ_CHECK(gdb::from_hex(gdb::to_hex(*bytes)) == bytes);
        for (unsigned width : {4u, 8u})
            if (auto v = gdb::parse_le_hex(p, width))
                FUZZ_CHECK(gdb::le_hex(*v, width).size() == 2 * width);
        if (auto v = gdb::parse_hex(p))
            FUZZ_CHECK(p.size() <= 16);
        std::string framed = gdb::frame(p);
        FUZZ_CHECK(framed.size() == p.size() + 4);
    }
    reader.reset();
    FUZZ_CHECK(!reader.in_packet());
    return 0;
}
