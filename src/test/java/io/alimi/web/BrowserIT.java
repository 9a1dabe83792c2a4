package io.alimi.web;

import io.alimi.Main;
import io.alimi.dev.DevLauncher;
import io.alimi.support.Closer;
import io.alimi.support.KafkaBroker;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo console and the browser client end to end, in headless Chromium (Debian's package) driven by
 * playwright-core (npm), against a whole node: relay and bridge on the test Kafka broker and Redis, the demo on.
 * {@code scripts/test} installs both; the scenarios are in {@code e2e/console.test.mjs} (the demo console) and
 * {@code e2e/guarantee.test.mjs} (the delivery guarantee through /alimi.js on every transport).
 */
class BrowserIT {

    private static final Path E2E = Path.of("e2e");
    /** Admin tokens the browser scenarios mint themselves, with the malls each scenario needs. */
    private static final String JWT_SECRET = "browser-scenarios-hs256-secret-0001";
    private static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"));

    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    void theConsoleWorksInARealBrowser() throws Exception {
        assertTrue(Files.isExecutable(CHROMIUM), CHROMIUM + " is missing: scripts/test installs Debian's chromium");
        assertTrue(Files.isDirectory(E2E.resolve("node_modules/playwright-core")),
                "e2e/node_modules is missing: scripts/test runs npm ci in e2e/");
        KafkaBroker kafka = TestServers.kafka();
        String topic = TestServers.uniqueTopic("browser");
        kafka.createTopic(topic, 2);
        Path tokens = DevLauncher.DevTokensFile.write(Files.createTempDirectory("alimi-browser-").resolve("dev-tokens.json"));
        Main.Running node = closer.add(TestNode.start(Map.of(
                "alimi.roles", "relay,bridge",
                "alimi.kafka.bootstrap", kafka.bootstrap(),
                "alimi.bridge.topic", topic,
                "alimi.bridge.group", topic + "-group",
                "alimi.bridge.dead-letter-topic", topic + ".dlq",
                "alimi.auth.dev-tokens-file", tokens.toString(),
                "alimi.demo.enabled", "true",
                "alimi.demo.export-time", "1s",
                "alimi.auth.jwt.hs256-secret", JWT_SECRET)));

        Path log = Files.createTempFile("alimi-e2e-", ".log");
        ProcessBuilder builder = new ProcessBuilder("node", "--test", "--test-concurrency=1", "--test-reporter=spec",
                "console.test.mjs", "guarantee.test.mjs")
                .directory(E2E.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("ALIMI_URL", "http://127.0.0.1:" + node.port());
        builder.environment().put("CHROMIUM", CHROMIUM.toString());
        builder.environment().put("ALIMI_API_KEY", TestNode.API_KEY);
        builder.environment().put("ALIMI_JWT_SECRET", JWT_SECRET);
        Process process = builder.start();
        boolean done = process.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            process.destroyForcibly();
        }
        String output = read(log);
        System.out.println(output);
        assertTrue(done, "the browser tests did not finish within 5 minutes:\n" + output);
        assertEquals(0, process.exitValue(), "browser tests failed:\n" + output);
    }

    private static String read(Path log) throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }
}
