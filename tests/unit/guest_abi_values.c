/* The guest ABI's C-only values (include/piemu/guest_abi.h), compiled as guest code
 * sees them, for test_guest_abi.cpp to compare with the C++ kernel model's. */
#include "piemu/guest_abi.h"

const unsigned long piemu_guest_abi_values[] = {
    IRQ_NONE,           IRQ_HANDLED,          IRQ_WAKE_THREAD,
    IRQF_TRIGGER_NONE,  IRQF_TRIGGER_RISING,  IRQF_TRIGGER_FALLING,
    IRQF_TRIGGER_HIGH,  IRQF_TRIGGER_LOW,     IRQF_SHARED,
    IRQF_PROBE_SHARED,  IRQF_PERCPU,          IRQF_NOBALANCING,
    IRQF_ONESHOT,       IRQF_NO_SUSPEND,      IRQF_NO_THREAD,
    IRQ_TYPE_NONE,      IRQ_TYPE_EDGE_RISING, IRQ_TYPE_EDGE_FALLING,
    IRQ_TYPE_EDGE_BOTH, IRQ_TYPE_LEVEL_HIGH,  IRQ_TYPE_LEVEL_LOW,
    PREEMPT_OFFSET,     SOFTIRQ_OFFSET,       HARDIRQ_OFFSET,
    PREEMPT_MASK,       SOFTIRQ_MASK,         HARDIRQ_MASK,
    NMI_MASK,           TASK_COMM_LEN,        HI_SOFTIRQ,
    TIMER_SOFTIRQ,      NET_TX_SOFTIRQ,       NET_RX_SOFTIRQ,
    BLOCK_SOFTIRQ,      IRQ_POLL_SOFTIRQ,     TASKLET_SOFTIRQ,
    SCHED_SOFTIRQ,      HRTIMER_SOFTIRQ,      RCU_SOFTIRQ,
    NR_SOFTIRQS,
};
