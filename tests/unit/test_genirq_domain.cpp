// irq domains (kernel/irq/irqdomain.c of 4.14): numbering from NR_IRQS_LEGACY (16)
// in creation order as Raspbian 4.14 shows it, nr_irqs growth, reverse lookup, the
// map callback, DT specifier translation with trigger types, and the refusals.
#include "test_genirq_fixture.hpp"

using namespace genirq_test;
using Strings = std::vector<std::string>;

TEST_F(GenirqTest, BootPreallocatesTheLegacyDescriptors) {
    EXPECT_EQ(irq.nr_irqs(), 16u);
    EXPECT_EQ(messages(), (Strings{"NR_IRQS: 16, nr_irqs: 16, preallocated irqs: 16"}));
    for (unsigned i = 0; i < 16; i++) {
        irq_desc* desc = irq.irq_to_desc(i);
        ASSERT_NE(desc, nullptr);
        EXPECT_EQ(desc->irq_data.chip, irq.no_irq_chip());
        EXPECT_EQ(desc->depth, 1u);
        EXPECT_EQ(desc->status_use_accessors, IRQ_NOREQUEST | IRQ_NOPROBE);
        EXPECT_TRUE(irqd_irq_disabled(&desc->irq_data));
        EXPECT_TRUE(irqd_irq_masked(&desc->irq_data));
    }
    EXPECT_EQ(irq.irq_to_desc(16), nullptr);
}

TEST_F(GenirqTest, LinearDomainMapsHwirqsInCreationOrderFrom16) {
    // bcm2836_arm_irqchip_l1_intc_of_init() maps local hwirqs 0, 1, 2, 3, 8, 9.
    irq_domain* local = irq.irq_domain_add_linear(nullptr, 10, {}, nullptr);
    std::vector<unsigned> got;
    for (irq_hw_number_t hw : {0u, 1u, 2u, 3u, 8u, 9u})
        got.push_back(irq.irq_create_mapping(local, hw));
    EXPECT_EQ(got, (std::vector<unsigned>{16, 17, 18, 19, 20, 21}));
    EXPECT_EQ(irq.nr_irqs(), 22u);
    // Then the ARMCTRL banks: hwirq 1 -> 23, 48 -> 46, 94 -> 92, as on a Pi 3.
    irq_domain* armctrl = irq.irq_domain_add_linear(nullptr, 96, {}, nullptr);
    for (unsigned bank = 0; bank < 3; bank++)
        for (unsigned i = 0; i < (bank == 0 ? 8u : 32u); i++)
            irq.irq_create_mapping(armctrl, bank * 32 + i);
    EXPECT_EQ(irq.irq_find_mapping(armctrl, 1), 23u);
    EXPECT_EQ(irq.irq_find_mapping(armctrl, 48), 46u);
    EXPECT_EQ(irq.irq_find_mapping(armctrl, 64), 62u);
    EXPECT_EQ(irq.irq_find_mapping(armctrl, 94), 92u);
    EXPECT_EQ(irq.irq_find_mapping(armctrl, 95), 93u);
    EXPECT_EQ(irq.irq_find_mapping(armctrl, 10), 0u) << "never mapped";
    EXPECT_EQ(irq.irq_find_mapping(local, 9), 21u);
    EXPECT_EQ(irq.nr_irqs(), 94u);
    EXPECT_EQ(irq.irq_create_mapping(local, 9), 21u) << "an existing mapping is returned";
    irq_data* d = irq.irq_get_irq_data(92);
    EXPECT_EQ(d->domain, armctrl);
    EXPECT_EQ(d->hwirq, 94u);
    EXPECT_FALSE(irq.irq_to_desc(92)->status_use_accessors & IRQ_NOREQUEST)
        << "a mapped line can be requested";
    EXPECT_EQ(armctrl->mapcount, 72u);
}

TEST_F(GenirqTest, MapCallbackSetsChipAndHandlerAndNamesTheDomain) {
    irq_domain_ops ops{.map = [this](irq_domain*, unsigned virq, irq_hw_number_t) {
        irq.irq_set_chip_and_handler(virq, &chip, &Irq::handle_level_irq);
        return 0;
    }};
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 4, ops, nullptr);
    unsigned virq = irq.irq_create_mapping(d, 2);
    ASSERT_EQ(virq, 16u);
    EXPECT_EQ(irq.irq_to_desc(virq)->irq_data.chip, &chip);
    EXPECT_EQ(irq.irq_to_desc(virq)->handle_irq.name, "handle_level_irq");
    EXPECT_EQ(d->name, "fake");
}

TEST_F(GenirqTest, RefusedMappingsAreReported) {
    irq_domain_ops ops{
        .map = [](irq_domain*, unsigned, irq_hw_number_t hw) { return hw == 3 ? -EINVAL : 0; }};
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 4, ops, nullptr);
    d->name = "soc:intc";
    EXPECT_EQ(irq.irq_create_mapping(d, 3), 0u);
    EXPECT_EQ(new_messages(),
              (Strings{"irq: soc:intc didn't like hwirq-0x3 to VIRQ16 mapping (rc=-22)"}));
    EXPECT_EQ(irq.irq_to_desc(16), nullptr) << "the descriptor is freed again";
    EXPECT_EQ(irq.irq_create_mapping(d, 2), 16u) << "and its number reused";
}

TEST_F(GenirqTest, TooLargeHwirqWarns) {
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 4, {}, nullptr);
    d->name = "small";
    EXPECT_EQ(irq.irq_create_mapping(d, 4), 0u);
    Strings m = new_messages();
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[1], "WARNING: CPU: 0 PID: 0 at irq_domain_associate");
    EXPECT_EQ(m[2], "error: hwirq 0x4 is too large for small");
}

TEST_F(GenirqTest, TwoCellSpecifierMapsWithItsTriggerType) {
    int node = 0;
    irq.irq_domain_add_linear(&node, 16, {.xlate = irq_domain_xlate_twocell}, nullptr);
    irq_fwspec spec{.fwnode = &node,
                    .node_name = "/soc/intc",
                    .param_count = 2,
                    .param = {5, IRQ_TYPE_LEVEL_HIGH}};
    unsigned virq = irq.irq_create_fwspec_mapping(spec);
    ASSERT_EQ(virq, 16u);
    EXPECT_EQ(irq.irq_get_trigger_type(virq), IRQ_TYPE_LEVEL_HIGH);
    EXPECT_EQ(irq.irq_create_fwspec_mapping(spec), 16u) << "same type: the same mapping";

    irq_fwspec other = spec;
    other.param[1] = IRQ_TYPE_EDGE_RISING;
    EXPECT_EQ(irq.irq_create_fwspec_mapping(other), 0u);
    EXPECT_EQ(new_messages(),
              (Strings{"irq: type mismatch, failed to map hwirq-5 for /soc/intc!"}));

    irq_fwspec one_cell{.fwnode = &node, .param_count = 1, .param = {6}};
    EXPECT_EQ(irq.irq_create_fwspec_mapping(one_cell), 0u) << "twocell needs two cells";
}

TEST_F(GenirqTest, RequestAppliesTheStoredTriggerTypeThroughTheChip) {
    int node = 0;
    irq_domain_ops ops{.map =
                           [this](irq_domain*, unsigned virq, irq_hw_number_t) {
                               irq.irq_set_chip_and_handler(virq, &chip, &Irq::handle_level_irq);
                               return 0;
                           },
                       .xlate = irq_domain_xlate_twocell};
    irq.irq_domain_add_linear(&node, 16, ops, nullptr);
    unsigned virq =
        irq.irq_create_fwspec_mapping({.fwnode = &node, .param_count = 2, .param = {7, 4}});
    ASSERT_EQ(virq, 16u);
    ASSERT_EQ(irq.request_irq(virq, recording_handler("h", &calls), 0, "h", nullptr), 0);
    EXPECT_EQ(calls, (Strings{"set_type 16 4", "unmask 16"}));
    EXPECT_TRUE(irqd_is_level_type(&irq.irq_to_desc(virq)->irq_data));
}

TEST_F(GenirqTest, UnknownControllerNodeIsReported) {
    int node = 0;
    EXPECT_EQ(irq.irq_create_fwspec_mapping(
                  {.fwnode = &node, .node_name = "/soc/gpio", .param_count = 1}),
              0u);
    EXPECT_EQ(new_messages(), (Strings{"irq: no irq domain found for /soc/gpio !"}));
}

TEST_F(GenirqTest, FindMatchingFwnodePrefersTheNewestDomain) {
    int node = 0;
    irq_domain* a = irq.irq_domain_add_linear(&node, 4, {}, nullptr);
    irq_domain* b = irq.irq_domain_add_linear(&node, 4, {}, nullptr);
    EXPECT_EQ(irq.irq_find_matching_fwnode(&node), b);
    EXPECT_NE(a, b);
    EXPECT_EQ(irq.irq_find_matching_fwnode(nullptr), nullptr);
}

TEST_F(GenirqTest, DisposeMappingFreesTheNumber) {
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 4, {}, nullptr);
    unsigned virq = irq.irq_create_mapping(d, 1);
    ASSERT_EQ(virq, 16u);
    run_sync(irq.irq_dispose_mapping(virq));
    EXPECT_EQ(irq.irq_find_mapping(d, 1), 0u);
    EXPECT_EQ(irq.irq_to_desc(16), nullptr);
    EXPECT_EQ(d->mapcount, 0u);
    EXPECT_EQ(irq.nr_irqs(), 17u) << "nr_irqs never shrinks";
}

TEST_F(GenirqTest, TreeRevmapBeyondTheLinearSize) {
    irq_domain* d = irq.irq_domain_add_linear(nullptr, 4, {}, nullptr);
    d->hwirq_max = 100; // as irq_domain_add_tree() would allow
    unsigned virq = irq.irq_create_mapping(d, 50);
    EXPECT_EQ(irq.irq_find_mapping(d, 50), virq);
}
