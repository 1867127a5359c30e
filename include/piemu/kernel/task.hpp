// Task<T>: the kernel model's suspendable functions (C++20 coroutines).
//
// Kernel-model code that may have to wait for guest code (a guest IRQ handler, a
// guest thread function) is a coroutine returning Task<T>. A Task starts when it is
// awaited (or start()ed); `co_await child` runs the child and resumes the parent when
// the child finishes (symmetric transfer, no stack growth). When some coroutine deep
// in the chain suspends to wait for the guest, control returns to whoever resumed the
// outermost task: the run loop. The run loop later resumes that innermost coroutine,
// and the chain unwinds as each level finishes. Everything stays on one host thread
// in one deterministic order (DESIGN.md: no nested uc_emu_start).
//
// Built-in C++ drivers never suspend: their tasks finish within start(), so
// run_sync() can drive them (tests, host-side setup).
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <optional>
#include <utility>

namespace piemu::kernel {

template <typename T>
class Task;

namespace detail {

/// Coroutine frames come from per-thread free lists by size class (task.cpp): every
/// interrupt through the kernel model starts a dozen tasks, and malloc/free for each
/// frame cost more than the C++ they run. Under AddressSanitizer they are plain
/// operator new/delete, so a use of a freed frame is still reported.
void* frame_alloc(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;

struct PromiseBase {
    std::coroutine_handle<> continuation; ///< the awaiting parent, if any

    static void* operator new(std::size_t size) { return frame_alloc(size); }
    static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }

    struct FinalAwaiter {
        bool await_ready() noexcept { return false; }
        template <typename P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            auto c = h.promise().continuation;
            return c ? c : std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    std::suspend_always initial_suspend() noexcept { return {}; }
    FinalAwaiter final_suspend() noexcept { return {}; }
    // The kernel model does not throw; an escaping exception is a piemu bug.
    void unhandled_exception() noexcept { std::abort(); }
};

template <typename T>
struct Promise : PromiseBase {
    std::optional<T> value;
    Task<T> get_return_object() noexcept;
    template <typename U>
    void return_value(U&& v) {
        value.emplace(std::forward<U>(v));
    }
};

template <>
struct Promise<void> : PromiseBase {
    Task<void> get_return_object() noexcept;
    void return_void() noexcept {}
};

} // namespace detail

template <typename T = void>
class [[nodiscard]] Task {
public:
    using promise_type = detail::Promise<T>;
    using Handle = std::coroutine_handle<promise_type>;

    Task() = default;
    explicit Task(Handle h) : h_(h) {}
    Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    Task& operator=(Task&& o) noexcept {
        if (this != &o) {
            destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { destroy(); }

    /// Awaiting a task runs it; the awaiting coroutine resumes when it finishes.
    bool await_ready() const noexcept { return !h_ || h_.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
        h_.promise().continuation = parent;
        return h_;
    }
    T await_resume() {
        if constexpr (!std::is_void_v<T>)
            return std::move(*h_.promise().value);
    }

    /// Runs the task (the outermost one) until it finishes or suspends.
    void start() {
        if (h_ && !h_.done())
            h_.resume();
    }
    bool done() const { return !h_ || h_.done(); }
    /// The result of a finished task.
    T result() {
        if constexpr (!std::is_void_v<T>)
            return std::move(*h_.promise().value);
    }

private:
    void destroy() {
        if (h_)
            h_.destroy();
        h_ = {};
    }
    Handle h_{};
};

namespace detail {
template <typename T>
Task<T> Promise<T>::get_return_object() noexcept {
    return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
    return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
} // namespace detail

/// Runs a task that cannot suspend (only built-in C++ code below it) to its end.
/// Aborts if it suspends: that would be a guest call in host-side context.
template <typename T>
T run_sync(Task<T> task) {
    task.start();
    if (!task.done())
        std::abort();
    return task.result();
}

} // namespace piemu::kernel
