package io.alimi.bench;

import java.util.HashMap;
import java.util.Map;

/** Command-line options of the benchmark and drill programs: {@code --name value} pairs. */
final class BenchOptions {

    private BenchOptions() {
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i], args[i + 1]);
        }
        return options;
    }
}
