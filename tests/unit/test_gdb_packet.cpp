// GDB Remote Serial Protocol framing: checksums, the packet reader's states
// (truncated, oversize and corrupted packets, Ctrl-C, acknowledgements), binary
// escapes and hex, and `--gdb` endpoint parsing.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "debug/gdb_packet.hpp"
#include "debug/gdb_transport.hpp"

using namespace piemu::gdb;

namespace {

std::vector<PacketEvent> feed_all(PacketReader& r, std::string_view bytes) {
    std::vector<PacketEvent> out;
    for (char b : bytes)
        if (auto e = r.feed(b))
            out.push_back(std::move(*e));
    return out;
}

} // namespace

TEST(GdbPacket, ChecksumAndFrame) {
    EXPECT_EQ(checksum(""), 0);
    EXPECT_EQ(frame("g"), "$g#67");
    EXPECT_EQ(frame("OK"), "$OK#9a");
    EXPECT_EQ(frame(""), "$#00");
    EXPECT_EQ(frame("qSupported"), "$qSupported#37");
}

TEST(GdbPacket, ReaderReturnsPacketsWithGoodChecksums) {
    PacketReader r;
    auto ev = feed_all(r, "+$g#67$m8000,4#95-");
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[0].kind, PacketEvent::Kind::Ack);
    EXPECT_EQ(ev[1].kind, PacketEvent::Kind::Packet);
    EXPECT_EQ(ev[1].payload, "g");
    EXPECT_EQ(ev[2].payload, "m8000,4");
    EXPECT_EQ(ev[3].kind, PacketEvent::Kind::Nak);
    EXPECT_FALSE(r.in_packet());
}

TEST(GdbPacket, ChecksumDigitsMayBeUpperCase) {
    PacketReader r;
    auto ev = feed_all(r, "$OK#9A");
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, PacketEvent::Kind::Packet);
}

TEST(GdbPacket, BadChecksumIsReportedNotDelivered) {
    PacketReader r;
    auto ev = feed_all(r, "$g#68$g#zz$g#67");
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].kind, PacketEvent::Kind::BadChecksum);
    EXPECT_TRUE(ev[0].payload.empty());
    EXPECT_EQ(ev[1].kind, PacketEvent::Kind::BadChecksum);
    EXPECT_EQ(ev[2].kind, PacketEvent::Kind::Packet);
}

TEST(GdbPacket, InterruptOnlyOutsidePackets) {
    PacketReader r;
    std::string inside = "X0,1:\x03";
    auto ev = feed_all(r, "\x03" + frame(inside));
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].kind, PacketEvent::Kind::Interrupt);
    EXPECT_EQ(ev[1].kind, PacketEvent::Kind::Packet);
    EXPECT_EQ(ev[1].payload, inside) << "0x03 inside a packet is data";
}

TEST(GdbPacket, TruncatedPacketIsDroppedAtTheNextStart) {
    // A client that died mid-packet and a new one that starts over.
    PacketReader r;
    auto ev = feed_all(r, "$m8000,$g#67");
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].payload, "g");
    ev = feed_all(r, "$g#6$?#3f$g#$?#3f");
    ASSERT_EQ(ev.size(), 2u) << "cut short in the checksum";
    EXPECT_EQ(ev[0].payload, "?");
    EXPECT_EQ(ev[1].payload, "?");
    feed_all(r, "$m80");
    EXPECT_TRUE(r.in_packet());
    r.reset();
    EXPECT_FALSE(r.in_packet());
    EXPECT_EQ(feed_all(r, "00,4#95").size(), 0u) << "noise after a reset is ignored";
}

TEST(GdbPacket, NoiseBetweenPacketsIsIgnored) {
    PacketReader r;
    auto ev = feed_all(r, "abc#12\r\n$?#3f");
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].payload, "?");
}

TEST(GdbPacket, OversizePacketKeepsNothingAndIsRefused) {
    PacketReader r(16);
    std::string big(1000, 'a');
    auto ev = feed_all(r, frame(big) + frame("g"));
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].kind, PacketEvent::Kind::Oversize);
    EXPECT_TRUE(ev[0].payload.empty());
    EXPECT_EQ(ev[1].kind, PacketEvent::Kind::Packet);
    // An oversize packet with a bad checksum is just a bad packet.
    std::string bad = frame(big);
    bad.back() = bad.back() == '0' ? '1' : '0';
    ev = feed_all(r, bad);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, PacketEvent::Kind::BadChecksum);
    // At the limit exactly is fine.
    ev = feed_all(r, frame(std::string(16, 'b')));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, PacketEvent::Kind::Packet);
}

TEST(GdbPacket, BinaryEscapes) {
    std::vector<uint8_t> data = {'$', '#', '}', '*', 0x00, 0x7e, 'a'};
    std::string esc = escape_binary(data);
    EXPECT_EQ(esc, std::string("}\x04}\x03}]}\x0a", 8) + std::string("\x00\x7e"
                                                                     "a",
                                                                     3));
    auto back = unescape_binary(esc);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, data);
    EXPECT_FALSE(unescape_binary("ab}")) << "a lone escape at the end";
}

TEST(GdbPacket, Hex) {
    EXPECT_EQ(to_hex(std::string_view("\x01\xab", 2)), "01ab");
    EXPECT_EQ(le_hex(0x12345678, 4), "78563412");
    EXPECT_EQ(le_hex(0x0102030405060708ull, 8), "0807060504030201");
    EXPECT_EQ(parse_le_hex("78563412", 4), 0x12345678u);
    EXPECT_FALSE(parse_le_hex("7856341", 4));
    EXPECT_FALSE(parse_le_hex("785634zz", 4));
    EXPECT_EQ(from_hex("00fF")->size(), 2u);
    EXPECT_FALSE(from_hex("0"));
    EXPECT_FALSE(from_hex("0g"));
    EXPECT_EQ(parse_hex("8000"), 0x8000u);
    EXPECT_EQ(parse_hex("FFFFFFFFFFFFFFFF"), ~0ull);
    EXPECT_FALSE(parse_hex(""));
    EXPECT_FALSE(parse_hex("10000000000000000")) << "more than 64 bits";
    EXPECT_FALSE(parse_hex("-1"));
}

TEST(GdbEndpoint, LoopbackForms) {
    auto a = parse_endpoint("tcp::1234", false);
    ASSERT_FALSE(a.is_error());
    EXPECT_EQ(a.value().host, "127.0.0.1");
    EXPECT_EQ(a.value().port, 1234);
    EXPECT_TRUE(a.value().loopback);
    auto b = parse_endpoint("tcp:localhost:0", false);
    ASSERT_FALSE(b.is_error());
    EXPECT_EQ(b.value().host, "127.0.0.1");
    EXPECT_EQ(b.value().port, 0);
    auto c = parse_endpoint("tcp:127.0.0.2:5", false);
    ASSERT_FALSE(c.is_error());
    EXPECT_TRUE(c.value().loopback);
}

TEST(GdbEndpoint, RemoteNeedsPermission) {
    auto a = parse_endpoint("tcp:0.0.0.0:1234", false);
    ASSERT_TRUE(a.is_error());
    EXPECT_NE(a.error().message.find("--gdb-allow-remote"), std::string::npos);
    auto b = parse_endpoint("tcp:0.0.0.0:1234", true);
    ASSERT_FALSE(b.is_error());
    EXPECT_FALSE(b.value().loopback);
}

TEST(GdbEndpoint, BadSpecsNameTheOption) {
    for (const char* spec :
         {"1234", "tcp:1234", "tcp::", "tcp::65536", "tcp::12a", "udp::1234", "tcp::-1"}) {
        auto e = parse_endpoint(spec, false);
        ASSERT_TRUE(e.is_error()) << spec;
        EXPECT_EQ(e.error().message.rfind("--gdb ", 0), 0u) << e.error().message;
    }
}

TEST(GdbEndpoint, PortInUseIsAClearError) {
    auto first = TcpTransport::listen({"127.0.0.1", 0, true}, "tcp::0");
    ASSERT_FALSE(first.is_error()) << first.error().message;
    uint16_t port = first.value()->port();
    EXPECT_NE(port, 0);
    std::string spec = "tcp::" + std::to_string(port);
    auto second = TcpTransport::listen({"127.0.0.1", port, true}, spec);
    ASSERT_TRUE(second.is_error());
    EXPECT_NE(second.error().message.find("--gdb " + spec), std::string::npos);
    EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
}
