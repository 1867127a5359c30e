// Fuzz target: the ELF loader (src/loader/elf*.cpp). Any bytes are an image file;
// loading either fails with one line naming the file or succeeds with every segment
// inside guest memory and the entry point inside a loaded segment.
#include <cstdint>

#include "fuzz_input.hpp"
#include "piemu/bus.hpp"
#include "piemu/loader.hpp"

using namespace piemu;

namespace {
constexpr uint32_t kRam = 16u << 20; // small: fuzzed segments mostly miss it anyway
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Bus bus(kRam);
    fuzz::MemFile file(data, size);
    (void)image_declares_kernel_model(file.path());
    auto loaded = load_elf(file.path(), bus);
    if (loaded.is_error()) {
        const auto& message = loaded.error().message;
        FUZZ_CHECK(message.starts_with(file.path() + ": "));
        FUZZ_CHECK(message.find('\n') == std::string::npos);
        return 0;
    }
    const LoadedImage& image = loaded.value();
    bool entry_loaded = false;
    for (auto [base, size] : image.segments) {
        FUZZ_CHECK(bus.is_memory(base, size));
        if (image.entry >= base && uint64_t(image.entry) < uint64_t(base) + size)
            entry_loaded = true;
    }
    FUZZ_CHECK(entry_loaded);
    for (const auto& s : image.symbols)
        FUZZ_CHECK(image.symbol_at(s.addr) != nullptr);
    (void)image.find_symbol("init");
    return 0;
}
