package io.alimi;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.alimi.support.Await;
import io.alimi.support.ContainerImage;
import io.alimi.support.ContainerImage.Runner;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.KafkaBroker;
import io.alimi.support.TestServers;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The container image the build writes ({@code target/alimi-image.tar}), checked without a container engine: it is
 * unpacked and its own entry point started confined to its file system ({@link Runner#strongest()}: chrooted as the
 * image's user when the tests run as root), against the tests' real Redis and Kafka on loopback.
 *
 * <p>Skipped only when there is no image to check: built with {@code -Dimage.skip=true}, or no archive.
 * {@code -Dalimi.image.runner=CHROOT|USER_NAMESPACE|LOADER} picks a weaker confinement to try it.
 */
class ImageIT {

    private static final Path ARCHIVE = Path.of(System.getProperty("alimi.image.tar", "target/alimi-image.tar"));
    private static final String SECRET = "image-it-hs256-secret-of-32-bytes!!";
    private static final String API_KEY = "image-it-publisher-key-0001";
    /** Start-up of a JVM on two shared cores, next to a broker and the rest of the suite; usually ~3 s. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

    private static ContainerImage image;
    private static Runner runner;
    private static String skipped;

    @BeforeAll
    static void unpack() {
        if (Boolean.getBoolean("alimi.image.skip")) {
            skipped = "the image was not built (-Dimage.skip=true)";
        } else if (!Files.isRegularFile(ARCHIVE)) {
            skipped = "no " + ARCHIVE + ": `./mvnw package` builds it on Linux (profile image)";
        } else {
            image = ContainerImage.unpack(ARCHIVE);
            String chosen = System.getProperty("alimi.image.runner", "");
            runner = chosen.isEmpty() ? Runner.strongest() : Runner.valueOf(chosen);
        }
    }

    /** Each test reports the reason it is skipped (an assumption failing in @BeforeAll would hide it). */
    @BeforeEach
    void anImageToCheck() {
        assumeTrue(skipped == null, skipped);
    }

    @AfterAll
    static void delete() throws IOException {
        if (image != null) {
            image.close();
        }
    }

    @Test
    void theArchiveIsTheTaggedImageOfAlimiRunningAsAnUnprivilegedUser() throws IOException {
        String name = System.getProperty("alimi.image.name");
        if (name != null) {
            assertEquals(List.of(name), image.repoTags());
        }
        assertEquals("65532:65532", image.user());
        List<String> entrypoint = image.entrypoint();
        assertEquals(Main.class.getName(), entrypoint.getLast(), entrypoint.toString());
        assertTrue(Files.isExecutable(image.file(entrypoint.getFirst())), entrypoint.getFirst() + " is in the image");
        assertTrue(Files.readString(image.file("/etc/passwd")).contains(":65532:65532:"), "the user has a name");
        assertEquals("@/app/jvm.options", entrypoint.get(1), "the JVM settings Alimi ships come first: " + entrypoint);
        assertEquals(Files.readString(java.nio.file.Path.of("config/jvm.options")), Files.readString(image.file("/app/jvm.options")),
                "the image ships config/jvm.options as it is");
    }

    @Test
    void theRuntimeHasTheTlsAndEllipticCurveProvidersAndTheCaCertificates() throws Exception {
        // HTTPS to FCM, a JWKS or the admin service, ES256 tokens, rediss:// and Kafka over TLS need these.
        assertTrue(Files.size(image.file("/opt/java/openjdk/lib/security/cacerts")) > 100_000, "CA certificates");
        Path log = Files.createTempFile("alimi-image-java-", ".log");
        Process java = image.start(runner, List.of(image.entrypoint().getFirst(), "-XshowSettings:security:providers",
                "-version"), Map.of(), log);
        try {
            assertTrue(java.waitFor(60, TimeUnit.SECONDS), "java -version finished");
            String output = Files.readString(log);
            assertEquals(0, java.exitValue(), output);
            for (String provider : List.of("SunEC", "SunJSSE", "SunJCE", "SunRsaSign")) {
                assertTrue(output.contains("Provider name: " + provider), provider + " in\n" + output);
            }
        } finally {
            if (java.isAlive()) {
                ContainerImage.stop(java, 5);
            }
            Files.delete(log);
        }
    }

    @Test
    void alimiStartsFromTheImageAndMovesAnEventFromKafkaAndHttpToItsReaders() throws Exception {
        KafkaBroker kafka = TestServers.kafka();
        String topic = TestServers.uniqueTopic("image");
        kafka.createTopic(topic, 1);
        // Settings from a YAML file too: SnakeYAML must work without java.desktop, which the runtime leaves out.
        Files.writeString(image.file("/tmp/alimi-it.yaml"), """
                alimi:
                  publish:
                    api-keys: "it=%s"
                """.formatted(API_KEY));
        Map<String, String> env = Map.ofEntries(
                Map.entry("ALIMI_CONFIG", image.path(runner, "/tmp/alimi-it.yaml")),
                Map.entry("ALIMI_ROLES", "relay,bridge"),
                Map.entry("ALIMI_HTTP_HOST", "127.0.0.1"),
                Map.entry("ALIMI_HTTP_PORT", "0"),
                Map.entry("ALIMI_REDIS_URL", TestServers.redis().url()),
                Map.entry("ALIMI_REDIS_KEY_PREFIX", TestServers.uniquePrefix()),
                Map.entry("ALIMI_KAFKA_BOOTSTRAP", kafka.bootstrap()),
                Map.entry("ALIMI_BRIDGE_TOPIC", topic),
                Map.entry("ALIMI_BRIDGE_GROUP", topic + "-group"),
                Map.entry("ALIMI_BRIDGE_DEAD_LETTER_TOPIC", topic + ".dlq"),
                Map.entry("ALIMI_AUTH_JWT_HS256_SECRET", SECRET),
                Map.entry("ALIMI_RELAY_DRAIN_TIMEOUT", "2s"));
        Path log = Files.createTempFile("alimi-image-node-", ".log");
        Process node = image.start(runner, List.of(), env, log);
        try {
            // The port the node bound, from its start-up line: no free port to guess and race for.
            int port = awaitOrDump(log, node, "the node logs its port", () -> LISTENING.matcher(read(log)),
                    Matcher::find).group(1).transform(Integer::parseInt);
            Http http = new Http(port);
            awaitOrDump(log, node, "the node in the image is ready (Redis and the bridge up)",
                    () -> status(http, "/health/ready") == 200);
            assertEquals(200, http.get("/health/live").status());

            // zstd makes the bridge load its JNI library: unpacked into the image's /tmp as the image's user,
            // linked against the image's C library.
            try (Producer<byte[], byte[]> producer = zstdProducer(kafka)) {
                producer.send(new ProducerRecord<>(topic, "1".getBytes(StandardCharsets.UTF_8),
                        Events.json("image-kafka-1", "mall:1").getBytes(StandardCharsets.UTF_8))).get();
            }
            Http.Reply published = http.post("/v1/events", "application/cloudevents+json",
                    Events.json("image-http-1", "mall:1"), "X-Api-Key", API_KEY);
            assertEquals(202, published.status(), published.body());

            String token = "Bearer " + jwt();
            JsonNode page = awaitOrDump(log, node, "both events are on mall:1's timeline",
                    () -> http.get("/v1/scopes/mall:1/events", "Authorization", token).json(),
                    body -> body.path("events").size() == 2);
            List<String> ids = page.get("events").valueStream().map(e -> e.get("event").get("id").asText()).toList();
            assertTrue(ids.containsAll(List.of("image-kafka-1", "image-http-1")), ids.toString());

            assertFalse(read(log).contains("restricted method"), () -> "JNI is allowed by the entry point:\n" + tail(log));

            // What `docker stop` does: SIGTERM to the JVM, which drains and exits by itself well within the grace.
            assertEquals(143, ContainerImage.stop(node, 30), () -> "exit on SIGTERM\n" + tail(log));
        } finally {
            if (node.isAlive()) {
                ContainerImage.stop(node, 5);
            }
            Files.delete(log);
        }
    }

    private static void awaitOrDump(Path log, Process node, String what, BooleanSupplier condition) {
        awaitOrDump(log, node, what, condition::getAsBoolean, ok -> ok);
    }

    /** Waits for {@code accept}, failing at once with the node's output if it exits. */
    private static <T> T awaitOrDump(Path log, Process node, String what, Supplier<T> value, Predicate<T> accept) {
        try {
            return Await.value(START_TIMEOUT, what, () -> {
                if (!node.isAlive()) {
                    throw new AssertionError("the node exited with " + node.exitValue());
                }
                return value.get();
            }, accept);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nnode output:\n" + tail(log), e);
        }
    }

    private static int status(Http http, String path) {
        try {
            return http.get(path).status();
        } catch (UncheckedIOException e) {
            return -1;
        }
    }

    private static Producer<byte[], byte[]> zstdProducer(KafkaBroker kafka) {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1,
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd"), new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static String jwt() throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject("1")
                .claim("malls", List.of("1")).expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
        jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    private static String tail(Path log) {
        String text = read(log);
        return text.length() > 8000 ? "…" + text.substring(text.length() - 8000) : text;
    }
}
