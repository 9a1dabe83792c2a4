package io.alimi.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A real redis-server child process on a loopback port: the one on PATH if there is one, else the Linux/macOS
 * binary shipped in {@code com.github.codemonstur:embedded-redis} (Redis 6.2).
 *
 * <p>It can be stopped and started again on the same port and data directory, to test what happens to clients
 * while Redis is away.
 */
public final class RedisProcess implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
    private static Path extracted;

    private final Path binary;
    private final Path dir;
    private final int port;
    private final List<String> extraArgs;
    private Process process;

    private RedisProcess(Path binary, Path dir, int port, List<String> extraArgs) {
        this.binary = binary;
        this.dir = dir;
        this.port = port;
        this.extraArgs = List.copyOf(extraArgs);
    }

    /** A throw-away Redis: no persistence, a fresh directory, a free port. */
    public static RedisProcess startEphemeral() {
        return start(TempDirs.create("alimi-redis-"), Ports.free(), List.of("--save", "", "--appendonly", "no"));
    }

    /**
     * Starts redis-server with its data in {@code dir} on {@code port}; {@code args} are extra redis-server
     * arguments, e.g. a config file first, then overrides.
     */
    public static RedisProcess start(Path dir, int port, List<String> args) {
        RedisProcess redis = new RedisProcess(binary(), dir, port, args);
        redis.start();
        return redis;
    }

    /** A throw-away replica of {@code master} (no persistence, a fresh directory, a free port). */
    public static RedisProcess startReplicaOf(RedisProcess master) {
        return start(TempDirs.create("alimi-replica-"), Ports.free(), List.of("--save", "", "--appendonly", "no",
                "--replicaof", "127.0.0.1", Integer.toString(master.port())));
    }

    public int port() {
        return port;
    }

    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    public String version() {
        return binary.getFileName().toString();
    }

    /** Starts the server again after {@link #stop()}, same port, same data directory. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.addAll(extraArgs);
        command.addAll(List.of("--port", Integer.toString(port), "--bind", "127.0.0.1", "--dir", dir.toString(),
                "--daemonize", "no", "--logfile", dir.resolve("redis.log").toString()));
        try {
            Files.createDirectories(dir);
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.out").toFile())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!ping()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("redis-server did not come up on port " + port + "; see "
                        + dir.resolve("redis.log"));
            }
            try {
                process.waitFor(20, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** Stops the server as an operator would (SIGTERM, which flushes the AOF), waiting until it is gone. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Kills the server outright (SIGKILL): no AOF flush, no goodbye to replicas, as a crashed host would. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Freezes the server (SIGSTOP) or thaws it (SIGCONT): a replica that stalls, then catches up. */
    public synchronized void freeze(boolean frozen) {
        try {
            Process signal = new ProcessBuilder("kill", frozen ? "-STOP" : "-CONT", Long.toString(process.pid()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (signal.waitFor() != 0) {
                throw new IllegalStateException("kill " + (frozen ? "-STOP" : "-CONT") + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Sends one inline command and returns the first reply line, e.g. {@code +PONG} or {@code :42}. */
    public String command(String... words) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            socket.setSoTimeout(5000);
            StringBuilder request = new StringBuilder("*" + words.length + "\r\n");
            for (String word : words) {
                byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
                request.append('$').append(bytes.length).append("\r\n").append(word).append("\r\n");
            }
            OutputStream out = socket.getOutputStream();
            out.write(request.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0 && c != '\n') {
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            return line.toString();
        } catch (IOException e) {
            return "-" + e.getMessage();
        }
    }

    private boolean ping() {
        return command("PING").equals("+PONG");
    }

    @Override
    public void close() {
        stop();
    }

    /** redis-server from PATH, else the embedded-redis binary for this OS and CPU, extracted once per JVM. */
    static synchronized Path binary() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, "redis-server");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        if (extracted != null) {
            return extracted;
        }
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String resource;
        if (os.contains("linux")) {
            resource = arch.contains("aarch64") || arch.contains("arm64") ? "redis-server-6.2.7-linux-arm64"
                    : "redis-server-6.2.6-v5-linux-amd64";
        } else if (os.contains("mac")) {
            resource = arch.contains("aarch64") || arch.contains("arm64") ? "redis-server-6.2.6-v5-darwin-arm64"
                    : "redis-server-6.2.6-v5-darwin-amd64";
        } else {
            throw new IllegalStateException("no redis-server on PATH and no embedded binary for " + os + "/" + arch);
        }
        try (InputStream in = RedisProcess.class.getResourceAsStream("/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("embedded-redis jar lacks " + resource);
            }
            Path dir = Files.createTempDirectory("alimi-redis-bin-");
            // Deleted at exit in reverse order of registration: the binary first, then its (then empty) folder.
            dir.toFile().deleteOnExit();
            Path target = dir.resolve(resource);
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
            target.toFile().deleteOnExit();
            extracted = target;
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + resource, e);
        }
    }
}
