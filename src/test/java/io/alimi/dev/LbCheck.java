package io.alimi.dev;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.config.Settings;
import io.alimi.support.Await;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.Ports;
import io.alimi.support.RedisProcess;
import io.alimi.support.SseClient;
import io.alimi.support.WsClient;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code scripts/lb-check}: runs {@code deploy/nginx.conf} (the load balancer of {@code compose.yaml}) in front of
 * two real relay nodes and checks what it is configured for: events reach SSE and WebSocket clients through it at
 * once, idle streams' heartbeats pass, WebSocket upgrades work from a browser origin, and when a relay stops, new
 * streams go to the other one. Only the upstream addresses, the listening port and nginx's temporary directories
 * are changed from the file; everything else is used as written.
 *
 * <p>Everything it starts (redis-server, nginx and its workers, the relays in this JVM) is stopped at the end, by
 * process id for the processes.
 */
public final class LbCheck {

    private static final String API_KEY = "lb-check-publisher-key-0001";
    /** An event through the balancer arrives within this, or the balancer is holding it back. */
    private static final Duration PROMPT = Duration.ofSeconds(1);
    private static final Duration HEARTBEAT = Duration.ofMillis(500);
    private static final Duration WAIT = Duration.ofSeconds(15);

    private final List<String> failures = new ArrayList<>();

    private LbCheck() {
    }

    public static void main(String[] args) throws Exception {
        String nginx = args.length > 0 ? args[0] : "nginx";
        Path conf = Path.of(args.length > 1 ? args[1] : "deploy/nginx.conf");
        System.exit(new LbCheck().run(nginx, conf) ? 0 : 1);
    }

    private boolean run(String nginx, Path deployConf) throws Exception {
        Path work = Files.createTempDirectory("alimi-lb-check-");
        List<AutoCloseable> started = new ArrayList<>();
        Process balancer = null;
        List<ProcessHandle> workers = List.of();
        try {
            RedisProcess redis = RedisProcess.startEphemeral();
            started.add(redis);
            Path tokens = DevLauncher.DevTokensFile.write(work.resolve("dev-tokens.json"));
            Main.Running relay1 = relay(redis, tokens);
            started.add(relay1);
            Main.Running relay2 = relay(redis, tokens);
            started.add(relay2);

            int port = Ports.free();
            Path conf = localConf(deployConf, work, port, relay1.port(), relay2.port());
            List<String> command = List.of(nginx, "-p", work.toString(), "-c", conf.toString(),
                    "-g", "daemon off; pid " + work.resolve("nginx.pid") + ";");
            run(work, concat(command, "-t"));
            balancer = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(work.resolve("nginx.log").toFile()).start();
            Http lb = new Http(port);
            Process master = balancer;
            Await.until(WAIT, "nginx answers", () -> {
                if (!master.isAlive()) {
                    throw new IllegalStateException("nginx exited: " + read(work.resolve("nginx.log")));
                }
                return status(lb, "/health/live") == 200;
            });
            workers = balancer.descendants().toList();
            System.out.printf("nginx %s (pid %d, workers %s) on 127.0.0.1:%d -> relays 127.0.0.1:%d, 127.0.0.1:%d%n",
                    nginx, balancer.pid(), workers.stream().map(ProcessHandle::pid).toList(), port, relay1.port(), relay2.port());

            check("GET /health/ready through the balancer is 200", () -> status(lb, "/health/ready") == 200);
            sse(lb, port);
            webSocket(lb, port);
            failover(port, relay1, relay2, started);
        } finally {
            if (balancer != null) {
                stop(balancer, workers);
            }
            for (AutoCloseable part : started.reversed()) {
                try {
                    part.close();
                } catch (Exception e) {
                    System.err.println("while stopping: " + e);
                }
            }
            deleteTree(work);
        }
        System.out.println(failures.isEmpty() ? "lb-check: all checks passed" : "lb-check: FAILED: " + failures);
        return failures.isEmpty();
    }

    /** An event published through the balancer reaches an SSE stream opened through it at once; so do heartbeats. */
    private void sse(Http lb, int port) {
        try (SseClient stream = SseClient.connect(port, "dev-admin-1-token", "", null)) {
            check("SSE through the balancer: 200 and the ready event", () -> stream.status() == 200
                    && stream.next(WAIT).type().equals("ready"));
            long sent = System.nanoTime();
            publish(lb, "lb-sse-1", "mall:1");
            SseClient.Event event = stream.nextExcept(WAIT, "unread");
            long millis = (System.nanoTime() - sent) / 1_000_000;
            check("SSE: an event published through the balancer arrives in " + millis + " ms (limit " + PROMPT.toMillis()
                    + " ms), unbuffered", () -> event.data().contains("lb-sse-1") && millis < PROMPT.toMillis());
            int before = stream.comments().size();
            long idle = System.nanoTime();
            Await.until(WAIT, "a heartbeat", () -> stream.comments().size() > before);
            long heartbeatMillis = (System.nanoTime() - idle) / 1_000_000;
            check("SSE: an idle stream's heartbeat (every " + HEARTBEAT.toMillis() + " ms) passes, after "
                    + heartbeatMillis + " ms", () -> heartbeatMillis < HEARTBEAT.plus(PROMPT).toMillis());
        }
    }

    /** A page on the balancer's origin opens a WebSocket with a ticket, and events arrive on it. */
    private void webSocket(Http lb, int port) {
        Http.Reply ticket = lb.post("/v1/tickets", null, "", "Authorization", "Bearer dev-admin-2-token");
        check("POST /v1/tickets through the balancer is 200", () -> ticket.status() == 200);
        String origin = "http://127.0.0.1:" + port;
        try (WsClient ws = WsClient.connect(port, "/v1/ws?ticket=" + ticket.json().get("ticket").asText(),
                Map.of("Origin", origin))) {
            JsonNode ready = ws.next(WAIT);
            check("WebSocket upgrade through the balancer with Origin " + origin + ": the ready frame",
                    () -> "ready".equals(ready.path("op").asText()));
            long sent = System.nanoTime();
            publish(lb, "lb-ws-1", "mall:2");
            JsonNode frame = ws.nextEvent(WAIT);
            long millis = (System.nanoTime() - sent) / 1_000_000;
            check("WebSocket: an event arrives in " + millis + " ms (limit " + PROMPT.toMillis() + " ms)",
                    () -> frame.toString().contains("lb-ws-1") && millis < PROMPT.toMillis());
        }
    }

    /**
     * Opens streams through the balancer, stops relay 1 as SIGTERM would (it drains: its clients are told to
     * reconnect), then checks that new streams through the balancer all reach relay 2.
     */
    private void failover(int port, Main.Running relay1, Main.Running relay2, List<AutoCloseable> started) {
        List<SseClient> streams = new ArrayList<>();
        try {
            // The streams of the checks before are closed; the relays notice at their next heartbeat.
            Await.until(WAIT, "the earlier streams are gone", () -> connections(relay1) + connections(relay2) == 0);
            for (int i = 0; i < 4; i++) {
                SseClient stream = SseClient.connect(port, "dev-admin-1-token", "", null);
                streams.add(stream);
                stream.next(WAIT);
            }
            int onRelay1 = connections(relay1);
            // Informative: nginx's round robin runs per worker process, so the split is not fixed.
            System.out.printf("  4 streams through the balancer: %d on relay 1, %d on relay 2%n", onRelay1, connections(relay2));
            relay1.close();
            started.remove(relay1);
            boolean[] told = new boolean[streams.size()];
            check("relay 1 stopped: its " + onRelay1 + " stream(s) were told to reconnect through the balancer", () -> {
                Await.until(WAIT, "reconnect events", () -> {
                    for (int i = 0; i < told.length; i++) {
                        told[i] |= streams.get(i).drain().stream().anyMatch(e -> e.type().equals("reconnect"));
                    }
                    return count(told) >= onRelay1;
                });
                return count(told) == onRelay1;
            });
            for (int i = 0; i < 4; i++) {
                try (SseClient stream = SseClient.connect(port, "dev-admin-1-token", "", null)) {
                    int n = i + 1;
                    check("relay 1 stopped: new stream " + n + " through the balancer is served (by relay 2)",
                            () -> stream.status() == 200 && stream.next(WAIT).type().equals("ready"));
                }
            }
        } finally {
            streams.forEach(SseClient::close);
        }
    }

    private static int count(boolean[] flags) {
        int n = 0;
        for (boolean flag : flags) {
            n += flag ? 1 : 0;
        }
        return n;
    }

    private static int connections(Main.Running relay) {
        String metrics = new Http(relay.port()).get("/metrics").body();
        return metrics.lines().filter(line -> line.startsWith("alimi_connections{"))
                .mapToInt(line -> (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
    }

    private static Main.Running relay(RedisProcess redis, Path tokens) {
        Map<String, String> values = new HashMap<>();
        values.put("alimi.roles", "relay");
        values.put("alimi.http.host", "127.0.0.1");
        values.put("alimi.http.port", "0");
        values.put("alimi.redis.url", redis.url());
        values.put("alimi.publish.api-keys", "lb-check=" + API_KEY);
        values.put("alimi.auth.dev-tokens-file", tokens.toString());
        values.put("alimi.http.trusted-proxies", "127.0.0.1");
        values.put("alimi.relay.heartbeat", HEARTBEAT.toMillis() + "ms");
        values.put("alimi.relay.drain-timeout", "1s");
        values.put("alimi.relay.retry-jitter", "0s");
        return Main.start(Settings.of(values));
    }

    private static void publish(Http lb, String id, String targets) {
        Http.Reply reply = lb.post("/v1/events", "application/cloudevents+json", Events.json(id, targets),
                "X-Api-Key", API_KEY);
        if (reply.status() != 202) {
            throw new IllegalStateException("publish through the balancer: " + reply.status() + " " + reply.body());
        }
    }

    /**
     * deploy/nginx.conf with the relays' and its own addresses replaced, and nginx's temporary files in {@code work}
     * (the compiled-in directories may not exist or be writable here). Fails if the file no longer has the shape
     * this relies on, rather than checking something else.
     */
    static Path localConf(Path deployConf, Path work, int port, int relay1, int relay2) throws IOException {
        String text = Files.readString(deployConf);
        text = replaceOnce(text, "server relay-1:8080", "server 127.0.0.1:" + relay1);
        text = replaceOnce(text, "server relay-2:8080", "server 127.0.0.1:" + relay2);
        text = replaceOnce(text, "listen 8080;", "listen 127.0.0.1:" + port + ";");
        StringBuilder temp = new StringBuilder("http {\n");
        for (String kind : List.of("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) {
            // World-writable: nginx started as root runs its workers as nobody.
            Path dir = Files.createDirectories(work.resolve("temp-" + kind));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
            temp.append("    ").append(kind).append("_temp_path ").append(dir).append(";\n");
        }
        text = replaceOnce(text, "http {\n", temp.toString());
        Path conf = work.resolve("nginx.conf");
        Files.writeString(conf, text);
        return conf;
    }

    private static String replaceOnce(String text, String target, String replacement) {
        int at = text.indexOf(target);
        if (at < 0 || text.indexOf(target, at + 1) >= 0) {
            throw new IllegalStateException("deploy/nginx.conf should contain '" + target.strip() + "' exactly once");
        }
        return text.replace(target, replacement);
    }

    private void check(String what, java.util.function.BooleanSupplier condition) {
        boolean ok;
        String detail = "";
        try {
            ok = condition.getAsBoolean();
        } catch (RuntimeException | AssertionError e) {
            ok = false;
            detail = " (" + e.getMessage() + ")";
        }
        System.out.println((ok ? "  ok    " : "  FAIL  ") + what + detail);
        if (!ok) {
            failures.add(what);
        }
    }

    private static int status(Http http, String path) {
        try {
            return http.get(path).status();
        } catch (UncheckedIOException e) {
            return -1;
        }
    }

    /** SIGTERM to the master (a fast shutdown that ends its workers); anything left is killed by its pid. */
    private static void stop(Process master, List<ProcessHandle> workers) throws InterruptedException {
        master.destroy();
        if (!master.waitFor(10, TimeUnit.SECONDS)) {
            master.destroyForcibly().waitFor();
        }
        for (ProcessHandle worker : workers) {
            if (worker.isAlive()) {
                worker.destroyForcibly();
            }
        }
    }

    private static void run(Path work, List<String> command) throws IOException, InterruptedException {
        Path log = work.resolve("nginx-t.log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + ": " + read(log));
        }
        System.out.print(read(log).replaceAll("(?m)^", "  "));
    }

    private static List<String> concat(List<String> list, String last) {
        List<String> all = new ArrayList<>(list);
        all.add(last);
        return all;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }
}
