// Task<T>: nesting, results, suspension to the outermost resumer and resumption.
#include <coroutine>
#include <string>

#include <gtest/gtest.h>

#include "piemu/kernel/task.hpp"

using piemu::kernel::Task;

namespace {

Task<int> leaf(int x) {
    co_return x * 2;
}

Task<int> middle(int x) {
    int a = co_await leaf(x);
    int b = co_await leaf(a);
    co_return a + b;
}

// An awaitable that parks the coroutine until the test resumes it, like a call
// into guest code parks the kernel model until the guest returns.
struct Park {
    std::coroutine_handle<>* slot;
    int* value;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { *slot = h; }
    int await_resume() const noexcept { return *value; }
};

Task<int> waits_for_guest(std::coroutine_handle<>* slot, int* value, std::string* log) {
    *log += "before ";
    int r = co_await Park{slot, value};
    *log += "after ";
    co_return r + 1;
}

Task<void> outer(std::coroutine_handle<>* slot, int* value, std::string* log, int* out) {
    *log += "outer ";
    *out = co_await waits_for_guest(slot, value, log);
    *log += "done";
}

} // namespace

TEST(Task, NestedTasksReturnTheirValues) {
    EXPECT_EQ(piemu::kernel::run_sync(middle(3)), 6 + 12);
}

TEST(Task, SuspensionReturnsToTheOutermostResumerAndResumesInOrder) {
    std::coroutine_handle<> parked;
    int guest_r0 = 0, out = 0;
    std::string log;
    Task<void> t = outer(&parked, &guest_r0, &log, &out);
    t.start();
    EXPECT_FALSE(t.done());
    EXPECT_EQ(log, "outer before ");
    ASSERT_TRUE(parked);
    guest_r0 = 41; // the "guest" returned 41 in r0
    parked.resume();
    EXPECT_TRUE(t.done());
    EXPECT_EQ(log, "outer before after done");
    EXPECT_EQ(out, 42);
}

TEST(Task, ATaskIsLazyUntilStartedOrAwaited) {
    std::string log;
    std::coroutine_handle<> parked;
    int v = 0, out = 0;
    {
        Task<void> t = outer(&parked, &v, &log, &out);
        EXPECT_EQ(log, "") << "nothing runs before start()";
    } // destroyed unstarted: no leak, no run
    EXPECT_EQ(log, "");
}
