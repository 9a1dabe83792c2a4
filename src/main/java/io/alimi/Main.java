package io.alimi;

import io.alimi.api.PublishLimits;
import io.alimi.api.PublishService;
import io.alimi.api.ScopeEventsService;
import io.alimi.api.TransportProblems;
import io.alimi.auth.ApiKeys;
import io.alimi.auth.DevTokens;
import io.alimi.auth.Identities;
import io.alimi.bridge.Bridge;
import io.alimi.bridge.BridgeSettings;
import io.alimi.config.Settings;
import io.alimi.config.SettingsException;
import io.alimi.event.EnvelopeLimits;
import io.alimi.event.EnvelopeReader;
import io.alimi.observe.HealthCheck;
import io.alimi.observe.HealthService;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisHealth;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.Retention;
import io.alimi.timeline.Timeline;
import io.helidon.logging.common.LogConfig;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.lettuce.core.api.StatefulRedisConnection;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reads the settings, builds every part, starts the roles this process runs. Nothing else happens here.
 *
 * <p>Roles ({@code alimi.roles}): {@code relay} serves the HTTP API; {@code bridge} consumes the Kafka topic into
 * the timeline. Health endpoints are served whatever the roles.
 */
public final class Main {

    private static final Logger LOG = Logger.getLogger(Main.class.getName());

    public static final int DEFAULT_HTTP_PORT = 8080;
    public static final String DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
    public static final String DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092";
    public static final Duration DEFAULT_REDIS_CONNECT_PATIENCE = Duration.ofSeconds(30);

    /** What a process does. */
    public enum Role { RELAY, BRIDGE }

    private Main() {
    }

    public static void main(String[] args) {
        LogConfig.configureRuntime();
        Running running;
        try {
            running = start(Settings.load());
        } catch (SettingsException e) {
            LOG.severe("cannot start: " + e.getMessage());
            System.exit(2);
            return;
        } catch (RuntimeException e) {
            // Unreachable servers and the like: one clear line; the trace only when asked for (FINE).
            LOG.severe("cannot start: " + e.getMessage());
            LOG.log(Level.FINE, "start-up failure", e);
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(running::close, "alimi-shutdown"));
    }

    /** Starts a node with {@code settings}; tests and the dev launcher use this same wiring. */
    public static Running start(Settings settings) {
        Set<Role> roles = roles(settings);
        EnvelopeReader reader = new EnvelopeReader(envelopeLimits(settings));
        Retention retention = retention(settings);
        Keys keys = new Keys(settings.string("alimi.redis.key-prefix", Keys.DEFAULT_PREFIX));
        PublishLimits publishLimits = publishLimits(settings);
        ApiKeys apiKeys = apiKeys(settings);
        Optional<Identities> identities = identities(settings);
        BridgeSettings bridgeSettings = roles.contains(Role.BRIDGE) ? bridgeSettings(settings) : null;
        String redisUrl = settings.string("alimi.redis.url", DEFAULT_REDIS_URL);
        Duration commandTimeout = settings.duration("alimi.redis.command-timeout", RedisConnector.DEFAULT_COMMAND_TIMEOUT,
                Duration.ofMillis(100), Duration.ofMinutes(1));
        Duration patience = settings.duration("alimi.redis.connect-patience", DEFAULT_REDIS_CONNECT_PATIENCE,
                Duration.ZERO, Duration.ofHours(1));
        String host = settings.string("alimi.http.host", "0.0.0.0");
        int port = settings.integer("alimi.http.port", DEFAULT_HTTP_PORT, 0, 65_535);

        RedisConnector redis;
        try {
            redis = RedisConnector.create(redisUrl, commandTimeout);
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.redis.url", e.getMessage());
        }
        List<AutoCloseable> parts = new ArrayList<>();
        parts.add(redis);
        try {
            StatefulRedisConnection<String, byte[]> shared = redis.connect(patience);
            parts.add(shared);
            Timeline timeline = new RedisTimeline(shared, keys, retention);
            List<HealthCheck> checks = new ArrayList<>();
            checks.add(new RedisHealth(shared, redis.describe()));

            Bridge bridge = null;
            if (bridgeSettings != null) {
                // Its own connection: large pipelined batches must not queue ahead of publish requests.
                StatefulRedisConnection<String, byte[]> bridgeConnection = redis.connect(patience);
                parts.add(bridgeConnection);
                bridge = Bridge.create(bridgeSettings, new RedisTimeline(bridgeConnection, keys, retention), reader);
                parts.add(bridge);
                checks.add(bridge::health);
            }
            HealthService health = new HealthService(checks);
            PublishService publish = roles.contains(Role.RELAY) ? new PublishService(apiKeys, reader, timeline, publishLimits) : null;
            ScopeEventsService scopes = roles.contains(Role.RELAY)
                    ? new ScopeEventsService(identities.orElse(token -> Optional.empty()), timeline) : null;
            WebServer server = WebServer.builder()
                    .host(host)
                    .port(port)
                    // Above our own body limit, so oversize requests get our 413 problem, not a bare one.
                    .maxPayloadSize(publishLimits.maxBodyBytes() + 64L * 1024)
                    .directHandlers(TransportProblems.handlers(publishLimits.maxBodyBytes()))
                    .routing(routing -> routing(routing, health, publish, scopes))
                    .build()
                    .start();
            parts.add(server::stop);
            if (bridge != null) {
                bridge.start();
            }
            LOG.info(() -> "Alimi " + roles + " listening on http://" + host + ":" + server.port()
                    + ", Redis " + redis.describe() + " (prefix " + keys.prefix() + ")"
                    + (bridgeSettings == null ? "" : ", Kafka " + bridgeSettings.bootstrap() + " topic " + bridgeSettings.topic()));
            if (roles.contains(Role.RELAY) && apiKeys.isEmpty()) {
                LOG.warning("alimi.publish.api-keys is empty: POST /v1/events refuses every request");
            }
            return new Running(server, bridge, parts);
        } catch (RuntimeException e) {
            closeAll(parts);
            throw e;
        }
    }

    /** The HTTP routes of a node; the services that are null (roles not run) are left out. */
    public static void routing(HttpRouting.Builder routing, HealthService health, PublishService publish,
                               ScopeEventsService scopes) {
        routing.register("/health", health);
        if (publish != null) {
            routing.register("/v1/events", publish);
        }
        if (scopes != null) {
            routing.register("/v1/scopes", scopes);
        }
    }

    /** A started node. */
    public static final class Running implements AutoCloseable {
        private final WebServer server;
        private final Bridge bridge;
        private final List<AutoCloseable> parts;

        Running(WebServer server, Bridge bridge, List<AutoCloseable> parts) {
            this.server = server;
            this.bridge = bridge;
            this.parts = parts;
        }

        public int port() {
            return server.port();
        }

        public Optional<Bridge> bridge() {
            return Optional.ofNullable(bridge);
        }

        /** Stops in reverse order of start: HTTP, then the bridge (finishing its batch), then Redis. */
        @Override
        public void close() {
            closeAll(parts);
        }
    }

    private static void closeAll(List<AutoCloseable> parts) {
        for (int i = parts.size() - 1; i >= 0; i--) {
            try {
                parts.get(i).close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "while stopping", e);
            }
        }
        parts.clear();
    }

    private static Set<Role> roles(Settings settings) {
        Set<Role> roles = EnumSet.noneOf(Role.class);
        for (String name : settings.list("alimi.roles")) {
            try {
                roles.add(Role.valueOf(name.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new SettingsException("alimi.roles", "unknown role '" + name + "'; use relay, bridge or both");
            }
        }
        if (roles.isEmpty()) {
            return EnumSet.allOf(Role.class);
        }
        return roles;
    }

    private static EnvelopeLimits envelopeLimits(Settings settings) {
        int maxData = settings.bytes("alimi.events.max-data-bytes", EnvelopeLimits.DEFAULT_MAX_DATA_BYTES, 1, 16 << 20);
        int maxEvent = settings.bytes("alimi.events.max-event-bytes", Math.max(EnvelopeLimits.DEFAULT_MAX_EVENT_BYTES,
                maxData + 8 * 1024), maxData, 32 << 20);
        return new EnvelopeLimits(maxData, maxEvent,
                settings.integer("alimi.events.max-targets", EnvelopeLimits.DEFAULT_MAX_TARGETS, 1, 1_000),
                settings.integer("alimi.events.max-id-length", EnvelopeLimits.DEFAULT_MAX_ID_LENGTH, 1, 1_024));
    }

    private static Retention retention(Settings settings) {
        return new Retention(
                settings.integer("alimi.timeline.max-length", Retention.DEFAULT_MAX_LENGTH, 1, 100_000_000),
                settings.duration("alimi.timeline.max-age", Retention.DEFAULT_MAX_AGE, Duration.ofSeconds(1), Duration.ofDays(3650)),
                settings.duration("alimi.timeline.dedup-ttl", Retention.DEFAULT_DEDUP_TTL, Duration.ofSeconds(1), Duration.ofDays(365)));
    }

    private static PublishLimits publishLimits(Settings settings) {
        return new PublishLimits(
                settings.bytes("alimi.publish.max-body-bytes", PublishLimits.DEFAULT_MAX_BODY_BYTES, 1024, 256 << 20),
                settings.integer("alimi.publish.max-batch-events", PublishLimits.DEFAULT_MAX_BATCH_EVENTS, 1, 100_000));
    }

    private static ApiKeys apiKeys(Settings settings) {
        try {
            return ApiKeys.parse(settings.list("alimi.publish.api-keys"));
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.publish.api-keys", e.getMessage());
        }
    }

    private static Optional<Identities> identities(Settings settings) {
        Optional<String> file = settings.optionalString("alimi.auth.dev-tokens-file");
        if (file.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(DevTokens.load(Path.of(file.get())));
        } catch (IOException | IllegalArgumentException e) {
            throw new SettingsException("alimi.auth.dev-tokens-file", e.getMessage());
        }
    }

    private static BridgeSettings bridgeSettings(Settings settings) {
        Map<String, String> clientProperties = new HashMap<>();
        Optional<String> file = settings.optionalString("alimi.kafka.properties-file");
        if (file.isPresent()) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(Path.of(file.get()))) {
                properties.load(in);
            } catch (IOException e) {
                throw new SettingsException("alimi.kafka.properties-file", "cannot read " + file.get() + ": " + e.getMessage());
            }
            properties.forEach((k, v) -> clientProperties.put(k.toString(), v.toString()));
        }
        Duration backoffMin = settings.duration("alimi.bridge.retry-backoff-min", BridgeSettings.DEFAULT_RETRY_BACKOFF_MIN,
                Duration.ofMillis(1), Duration.ofMinutes(1));
        return new BridgeSettings(
                settings.string("alimi.kafka.bootstrap", DEFAULT_KAFKA_BOOTSTRAP),
                settings.string("alimi.bridge.topic", BridgeSettings.DEFAULT_TOPIC),
                settings.string("alimi.bridge.group", BridgeSettings.DEFAULT_GROUP),
                settings.string("alimi.bridge.dead-letter-topic", BridgeSettings.DEFAULT_DEAD_LETTER_TOPIC),
                settings.integer("alimi.bridge.max-poll-records", BridgeSettings.DEFAULT_MAX_POLL_RECORDS, 1, 100_000),
                backoffMin,
                settings.duration("alimi.bridge.retry-backoff-max", BridgeSettings.DEFAULT_RETRY_BACKOFF_MAX,
                        backoffMin, Duration.ofMinutes(10)),
                settings.duration("alimi.bridge.shutdown-timeout", BridgeSettings.DEFAULT_SHUTDOWN_TIMEOUT,
                        Duration.ZERO, Duration.ofMinutes(10)),
                clientProperties);
    }
}
