package io.alimi.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Stopping, by PID, every process a drill started (relays, bridge, redis-server: this JVM's children), whatever
 * way the drill ends.
 *
 * <p>A shutdown hook covers a normal exit, an exception and SIGTERM/Ctrl-C. It does not run when the JVM is halted
 * (the Kafka broker inside it halts it when its log folder fails) or killed: for that, a small reaper process
 * watches this JVM's PID and, once it is gone, stops the processes listed in a file that is kept current here
 * (each with its start time, so a PID reused meanwhile by another process is left alone).
 */
final class DrillProcesses {

    private static Path file;
    private static long reaperPid;

    private DrillProcesses() {
    }

    /** Starts the reaper and keeps the list current; call once, first. */
    static synchronized void guard(Path work) throws IOException {
        file = work.resolve("pids");
        Files.writeString(file, "");
        String script = """
                drill=$1; list=$2
                while kill -0 "$drill" 2>/dev/null; do sleep 1; done
                [ -f "$list" ] || exit 0
                while read -r pid start; do
                  [ -n "$pid" ] && [ "$(cut -d' ' -f22 /proc/"$pid"/stat 2>/dev/null)" = "$start" ] && kill "$pid" 2>/dev/null
                done < "$list"
                """;
        Process reaper = new ProcessBuilder("bash", "-c", script, "drill-reaper",
                Long.toString(ProcessHandle.current().pid()), file.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        reaperPid = reaper.pid();
        Runtime.getRuntime().addShutdownHook(new Thread(DrillProcesses::stopAll, "drill-shutdown"));
        Thread.ofPlatform().daemon().name("drill-pids").start(() -> {
            while (true) {
                refresh();
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Writes the list of this JVM's live children (but the reaper) with their start times. */
    static synchronized void refresh() {
        if (file == null) {
            return;
        }
        StringBuilder lines = new StringBuilder();
        for (ProcessHandle child : started()) {
            String start = startTime(child.pid());
            if (start != null) {
                lines.append(child.pid()).append(' ').append(start).append('\n');
            }
        }
        try {
            Path next = file.resolveSibling("pids.next");
            Files.writeString(next, lines);
            Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every live process this JVM started, except the reaper. */
    private static List<ProcessHandle> started() {
        List<ProcessHandle> children = new ArrayList<>();
        ProcessHandle.current().children().filter(p -> p.pid() != reaperPid && p.isAlive()).forEach(children::add);
        return children;
    }

    /** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
    private static String startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return fields[19];
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** SIGTERM to each process started, by PID; SIGKILL to any still there after 20 s. */
    static void stopAll() {
        List<ProcessHandle> running = started();
        running.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (ProcessHandle p : running) {
            try {
                p.onExit().get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                p.destroyForcibly();
            }
        }
    }
}
