// Fuzz target: the DTB -> board builder (src/board/) and the Linux boot protocol's
// DTB patching (src/loader/linux_boot.cpp). The input's first byte chooses the core
// count and whether the DTB also goes through load_linux(); the rest is the DTB.
// Building either fails with one line or yields a board whose table can be printed,
// that resets, and whose devices sit on the bus inside their windows.
#include <cstdint>
#include <string>

#include "fuzz_board.hpp"
#include "fuzz_input.hpp"
#include "piemu/loader.hpp"

using namespace piemu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    uint8_t flags = in.u8();
    std::string_view dtb = in.bytes(size);
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(dtb.data()), dtb.size());

    {
        fuzz::FuzzBoard b(bytes, 16u << 20, 1 + (flags & 3), 1'000'000'000);
        if (b.board.is_error()) {
            FUZZ_CHECK(b.board.error().message.find('\n') == std::string::npos);
        } else {
            BuiltBoard& board = b.board.value();
            (void)describe_board(board);
            board.reset();
            for (const auto& m : b.bus.devices())
                FUZZ_CHECK(m.device != nullptr && m.size > 0);
            (void)board.stdout_device();
            (void)board.device_for_alias("serial0");
            b.advance(1'000'000);
        }
    }

    if (flags & 0x80) {
        static const uint8_t kKernel[] = {0xfe, 0xff, 0xff, 0xea}; // b .
        fuzz::MemFile kernel(kKernel, sizeof kKernel), dtb_file(dtb.data(), dtb.size());
        static Bus bus(16u << 20);
        LinuxBootParams params{kernel.path(), dtb_file.path(), std::nullopt,
                               flags & 0x40 ? std::optional<std::string>("console=ttyAMA0")
                                            : std::nullopt};
        auto loaded = load_linux(params, bus);
        if (loaded.is_error())
            FUZZ_CHECK(loaded.error().message.find('\n') == std::string::npos);
    }
    return 0;
}
