package io.alimi.observe;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

class HistogramTest {

    @Test
    void bucketsAreCumulativeInSecondsWithSumAndCount() {
        Histogram histogram = new Histogram();
        histogram.record(0);
        histogram.record(3);
        histogram.record(3);
        histogram.record(70_000);
        StringBuilder text = new StringBuilder();
        histogram.write(text, "x_seconds", "test");
        String out = text.toString();
        assertTrue(out.contains("x_seconds_bucket{le=\"0.001\"} 1\n"), out);
        assertTrue(out.contains("x_seconds_bucket{le=\"0.005\"} 3\n"), out);
        assertTrue(out.contains("x_seconds_bucket{le=\"10\"} 3\n"), out);
        assertTrue(out.contains("x_seconds_bucket{le=\"+Inf\"} 4\n"), out);
        assertTrue(out.contains("x_seconds_sum 70.006\n"), out);
        assertTrue(out.contains("x_seconds_count 4\n"), out);
    }
}
