package io.alimi.dev;

import io.alimi.Main;
import io.alimi.config.Settings;
import io.alimi.support.KafkaBroker;
import io.alimi.support.RedisProcess;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code scripts/run}: the whole stack on one machine for development and demos.
 *
 * <p>Starts redis-server (data under {@code ./data/redis}, AOF on, so the timeline survives a restart) and a
 * single-node KRaft Kafka in this JVM (log under {@code ./data/kafka}), unless {@code ALIMI_REDIS_URL} /
 * {@code ALIMI_KAFKA_BOOTSTRAP} name servers to use instead; writes dev admin tokens; then starts Alimi with
 * every role through {@link Main#start}, exactly as production does, and prints where to look.
 */
public final class DevLauncher {

    static final int REDIS_PORT = 6379;
    static final int KAFKA_PORT = 9092;
    static final int KAFKA_CONTROLLER_PORT = 9093;
    static final String TOPIC = "alimi.events";
    static final String API_KEY = "dev-publisher-key-0001";

    private DevLauncher() {
    }

    public static void main(String[] args) throws Exception {
        Path data = Path.of("data").toAbsolutePath();
        Settings settings = Settings.load();
        Map<String, String> dev = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--host") && i + 1 < args.length) {
                dev.put("alimi.http.host", args[++i]);
            } else {
                System.err.println("Usage: scripts/run [--host <address>]   (default 127.0.0.1; settings: docs/CONFIGURATION.md)");
                System.exit(2);
            }
        }
        // The development tokens and the demo producer are public knowledge: only this machine may use them,
        // unless asked otherwise.
        if (!dev.containsKey("alimi.http.host") && settings.raw("alimi.http.host").isEmpty()) {
            dev.put("alimi.http.host", "127.0.0.1");
        }

        RedisProcess redis = null;
        if (settings.raw("alimi.redis.url").isEmpty()) {
            requireFree(REDIS_PORT, "Redis", "ALIMI_REDIS_URL=redis://host:port");
            redis = RedisProcess.start(data.resolve("redis"), REDIS_PORT,
                    List.of(Path.of("redis/redis.conf").toAbsolutePath().toString()));
            dev.put("alimi.redis.url", redis.url());
            System.out.println("Redis   " + redis.url() + "  (" + redis.version() + ", data in data/redis, AOF on)");
        }
        KafkaBroker kafka = null;
        String bootstrap = settings.raw("alimi.kafka.bootstrap").orElse(null);
        if (bootstrap == null) {
            requireFree(KAFKA_PORT, "Kafka", "ALIMI_KAFKA_BOOTSTRAP=host:port");
            requireFree(KAFKA_CONTROLLER_PORT, "the Kafka controller", "ALIMI_KAFKA_BOOTSTRAP=host:port");
            kafka = KafkaBroker.start(data.resolve("kafka"), KAFKA_PORT, KAFKA_CONTROLLER_PORT);
            kafka.createTopic(settings.string("alimi.bridge.topic", TOPIC), 4);
            kafka.createTopic(settings.string("alimi.bridge.dead-letter-topic", TOPIC + ".dlq"), 1);
            bootstrap = kafka.bootstrap();
            dev.put("alimi.kafka.bootstrap", bootstrap);
            System.out.println("Kafka   " + bootstrap + "  (KRaft in this JVM, log in data/kafka)");
        }
        if (settings.raw("alimi.publish.api-keys").isEmpty()) {
            dev.put("alimi.publish.api-keys", "dev=" + API_KEY);
        }
        if (settings.raw("alimi.auth.dev-tokens-file").isEmpty()) {
            dev.put("alimi.auth.dev-tokens-file", DevTokensFile.write(data.resolve("dev-tokens.json")).toString());
        }
        if (settings.raw("alimi.demo.enabled").isEmpty()) {
            dev.put("alimi.demo.enabled", "true");
        }

        Main.Running node = Main.start(settings.with(dev));
        RedisProcess startedRedis = redis;
        KafkaBroker startedKafka = kafka;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            if (startedKafka != null) {
                startedKafka.stop();
            }
            if (startedRedis != null) {
                startedRedis.stop();
            }
        }, "dev-shutdown"));

        String host = settings.with(dev).string("alimi.http.host", "127.0.0.1");
        String base = "http://localhost:" + node.port();
        System.out.println();
        System.out.println("Alimi is up: " + base + "   (Ctrl-C stops everything; data stays in ./data)");
        if (host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1")) {
            System.out.println("  listening on " + host + " only: other machines cannot connect (scripts/run --host 0.0.0.0 "
                    + "opens it; the dev tokens below are public, so only on a network you trust)");
        } else {
            System.out.println("  listening on " + host + ": reachable from other machines, with the public dev tokens below");
        }
        if (settings.bool("alimi.demo.enabled", true)) {
            System.out.println("  console    " + base + "/   (sign in as a dev admin; export to Excel; send events through Kafka)");
        }
        System.out.println("  health     " + base + "/health/ready");
        System.out.println("  publish    POST " + base + "/v1/events  with header X-Api-Key: " + (dev.containsKey("alimi.publish.api-keys") ? API_KEY : "<your key>"));
        System.out.println("  Kafka      topic " + settings.string("alimi.bridge.topic", TOPIC) + " on " + bootstrap + "   (scripts/produce --help)");
        System.out.println("  read       GET " + base + "/v1/scopes/mall:1/events  with header Authorization: Bearer <token>");
        if (dev.containsKey("alimi.auth.dev-tokens-file")) {
            System.out.println("  dev admin tokens (data/dev-tokens.json):");
            DevTokensFile.describe().forEach(line -> System.out.println("    " + line));
        }
    }

    private static void requireFree(int port, String what, String instead) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", port));
        } catch (IOException e) {
            System.err.println("Port " + port + " is in use, so " + what + " cannot start there. Stop what holds it, or use "
                    + "a running server with " + instead + ".");
            System.exit(2);
        }
    }

    /** The development admins and their tokens. */
    public static final class DevTokensFile {

        private static final String JSON = """
                {
                  "dev-admin-1-token": {"adminNo": "1", "malls": ["1"], "roles": ["operator"]},
                  "dev-admin-2-token": {"adminNo": "2", "malls": ["2"], "roles": ["operator"]},
                  "dev-partner-7-token": {"adminNo": "7", "malls": ["1"], "partner": "7", "roles": ["partner"]},
                  "dev-platform-token": {"adminNo": "100", "malls": ["1", "2", "3"], "roles": ["platform"]}
                }
                """;

        private DevTokensFile() {
        }

        /** Writes the development tokens to {@code file} unless it exists; also used by the browser tests. */
        public static Path write(Path file) throws IOException {
            Files.createDirectories(file.getParent());
            if (!Files.exists(file)) {
                Files.writeString(file, JSON);
            }
            return file;
        }

        static List<String> describe() {
            return List.of(
                    "dev-admin-1-token     admin 1, mall 1          scopes all, admin:1, mall:1",
                    "dev-admin-2-token     admin 2, mall 2          scopes all, admin:2, mall:2",
                    "dev-partner-7-token   admin 7, mall 1, partner 7  scopes all, admin:7, mall:1, partner:7",
                    "dev-platform-token    admin 100, malls 1-3     scopes all, admin:100, mall:1, mall:2, mall:3");
        }
    }
}
