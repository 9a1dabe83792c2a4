package io.alimi.bench;

import java.util.Map;

/**
 * The node settings a load client needs: one process on a few loopback addresses stands for thousands of browsers,
 * opening its connections as fast as it can, so the per-address connect rate and the node's admission rate, which
 * would refuse it by design, are lifted. A benchmark measures the node, not those limits.
 */
final class LoadLimits {

    static final Map<String, String> LIFTED = Map.of(
            "ALIMI_LIMITS_CONNECTS_PER_SECOND_PER_IP", "1000000",
            "ALIMI_LIMITS_CONNECT_BURST_PER_IP", "1000000",
            "ALIMI_LIMITS_ADMISSIONS_PER_SECOND", "1000000",
            "ALIMI_LIMITS_ADMISSION_BURST", "1000000",
            "ALIMI_LIMITS_MAX_CONNECTIONS", "1000000");

    private LoadLimits() {
    }
}
