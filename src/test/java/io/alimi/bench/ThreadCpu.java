package io.alimi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Where a process spent its CPU, by kind of thread and user / kernel, from {@code /proc/<pid>/task/*}/stat: a
 * snapshot before a measurement and one after tell whether the figure is the work measured (virtual threads'
 * carriers, Lettuce's event loops) or the JIT compiling or the collector, which a short warm-up leaves running.
 */
record ThreadCpu(Map<String, long[]> ticks) {

    /** The kinds, by the start of a thread's name (Linux keeps 15 characters of it). */
    private static final Map<String, String> KINDS = kinds();

    private static Map<String, String> kinds() {
        Map<String, String> kinds = new LinkedHashMap<>();
        kinds.put("ForkJoinPool", "virtual-thread carriers");
        kinds.put("C1 Compiler", "JIT");
        kinds.put("C2 Compiler", "JIT");
        kinds.put("GC Thread", "GC");
        kinds.put("G1 ", "GC");
        kinds.put("lettuce-", "Redis client (Lettuce)");
        return kinds;
    }

    static ThreadCpu of(long pid) {
        Map<String, long[]> ticks = new TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long[] sum = ticks.computeIfAbsent(kind(name), k -> new long[2]);
                    sum[0] += Long.parseLong(fields[11]);
                    sum[1] += Long.parseLong(fields[12]);
                } catch (IOException | RuntimeException gone) {
                    // The thread ended between the listing and the read: its time is in neither snapshot.
                }
            }
        } catch (IOException e) {
            return new ThreadCpu(Map.of());
        }
        return new ThreadCpu(ticks);
    }

    private static String kind(String name) {
        for (Map.Entry<String, String> kind : KINDS.entrySet()) {
            if (name.startsWith(kind.getKey())) {
                return kind.getValue();
            }
        }
        return "other";
    }

    /** One line: seconds per kind since {@code before}, user + kernel, largest first. */
    String since(ThreadCpu before) {
        StringBuilder line = new StringBuilder();
        long user = 0;
        long kernel = 0;
        Map<String, Long> totals = new TreeMap<>();
        for (Map.Entry<String, long[]> kind : ticks.entrySet()) {
            long[] was = before.ticks.getOrDefault(kind.getKey(), new long[2]);
            long u = kind.getValue()[0] - was[0];
            long k = kind.getValue()[1] - was[1];
            user += u;
            kernel += k;
            totals.put(kind.getKey(), u + k);
        }
        totals.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .filter(e -> e.getValue() > 0)
                .forEach(e -> line.append(line.isEmpty() ? "" : ", ")
                        .append(String.format(Locale.ROOT, "%s %.2f s", e.getKey(), e.getValue() / 100.0)));
        return String.format(Locale.ROOT, "%s; user %.2f s, kernel %.2f s", line, user / 100.0, kernel / 100.0);
    }
}
