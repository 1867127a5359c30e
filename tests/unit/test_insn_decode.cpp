// is_exception_return(): the ARMv7 instructions that copy SPSR to CPSR (ARM ARM B9.1),
// and look-alikes that do not.
#include <gtest/gtest.h>

#include "cpu/insn_decode.hpp"

using piemu::is_exception_return;

TEST(InsnDecode, ArmExceptionReturns) {
    EXPECT_TRUE(is_exception_return(0xe25ef004, 4, false)); // subs pc, lr, #4
    EXPECT_TRUE(is_exception_return(0xe1b0f00e, 4, false)); // movs pc, lr
    EXPECT_TRUE(is_exception_return(0xe8ddffff, 4, false)); // ldm sp, {r0-pc}^ (svc_exit)
    EXPECT_TRUE(is_exception_return(0xe8fd8000, 4, false)); // ldmia sp!, {pc}^
    EXPECT_TRUE(is_exception_return(0xf8bd0a00, 4, false)); // rfeia sp!
    EXPECT_TRUE(is_exception_return(0xe160006e, 4, false)); // eret
    EXPECT_TRUE(is_exception_return(0x125ef004, 4, false)); // subsne pc, lr, #4
}

TEST(InsnDecode, ArmLookAlikesAreNot) {
    EXPECT_FALSE(is_exception_return(0xe24ef004, 4, false)); // sub pc, lr, #4 (no S)
    EXPECT_FALSE(is_exception_return(0xe1a0f00e, 4, false)); // mov pc, lr
    EXPECT_FALSE(is_exception_return(0xe8bd8000, 4, false)); // pop {pc}
    EXPECT_FALSE(is_exception_return(0xe8dd7fff, 4, false)); // ldm sp, {r0-lr}^ (user regs)
    EXPECT_FALSE(is_exception_return(0xe15ef004, 4, false)); // cmp lr, #4 (S, Rd field 15)
    EXPECT_FALSE(is_exception_return(0xe12fff1e, 4, false)); // bx lr
    EXPECT_FALSE(is_exception_return(0xe7f0e1fe, 4, false)); // udf (a kernel-model gate)
}

TEST(InsnDecode, ThumbExceptionReturns) {
    EXPECT_TRUE(is_exception_return(0xf3de8f04, 4, true));  // subs pc, lr, #4
    EXPECT_TRUE(is_exception_return(0xf3de8f00, 4, true));  // eret
    EXPECT_TRUE(is_exception_return(0xe99dc000, 4, true));  // rfeia sp
    EXPECT_FALSE(is_exception_return(0x4770, 2, true));     // bx lr
    EXPECT_FALSE(is_exception_return(0xe8bd8000, 4, true)); // pop.w {pc}
}
