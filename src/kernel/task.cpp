// The kernel model's coroutine frames (task.hpp): per-thread free lists by size
// class. A frame freed goes to the list of its class on the freeing thread and is
// reused by the next frame of that class; the lists are released at thread exit.
// Nothing here is visible to the guest: which block a frame gets has no effect on
// what the kernel model does.
#include "piemu/kernel/task.hpp"

#include <array>
#include <new>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define PIEMU_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PIEMU_FRAME_POOL 0
#endif
#endif
#ifndef PIEMU_FRAME_POOL
#define PIEMU_FRAME_POOL 1
#endif

namespace piemu::kernel::detail {

#if PIEMU_FRAME_POOL
namespace {

constexpr std::size_t kGranule = 64; ///< size classes: 64, 128, ... bytes
constexpr std::size_t kClasses = 32; ///< up to 2 KiB; larger frames use operator new

struct FreeBlock {
    FreeBlock* next;
};

// Set once this thread's pool is gone (thread exit): frames freed after that, by
// objects destroyed later, go straight back to operator delete.
thread_local bool pool_gone = false;

struct FramePool {
    std::array<FreeBlock*, kClasses> free{};
    ~FramePool() {
        pool_gone = true;
        for (FreeBlock*& head : free)
            while (head)
                ::operator delete(std::exchange(head, head->next));
    }
};

thread_local FramePool pool;

std::size_t size_class(std::size_t size) {
    return (size + kGranule - 1) / kGranule - 1;
}

} // namespace

void* frame_alloc(std::size_t size) {
    std::size_t c = size_class(size);
    if (c >= kClasses || pool_gone)
        return ::operator new(size);
    if (FreeBlock* b = pool.free[c]) {
        pool.free[c] = b->next;
        return b;
    }
    return ::operator new((c + 1) * kGranule);
}

void frame_free(void* p, std::size_t size) noexcept {
    std::size_t c = size_class(size);
    if (c >= kClasses || pool_gone) {
        ::operator delete(p);
        return;
    }
    pool.free[c] = new (p) FreeBlock{pool.free[c]};
}
#else
void* frame_alloc(std::size_t size) {
    return ::operator new(size);
}
void frame_free(void* p, std::size_t) noexcept {
    ::operator delete(p);
}
#endif

} // namespace piemu::kernel::detail
