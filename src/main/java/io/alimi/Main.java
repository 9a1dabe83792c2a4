package io.alimi;

import io.alimi.api.PublishLimits;
import io.alimi.api.PublishService;
import io.alimi.api.ScopeEventsService;
import io.alimi.api.TransportProblems;
import io.alimi.auth.ApiKeys;
import io.alimi.auth.DevTokens;
import io.alimi.auth.Identities;
import io.alimi.auth.JwtIdentities;
import io.alimi.bridge.Bridge;
import io.alimi.bridge.BridgeSettings;
import io.alimi.config.Settings;
import io.alimi.config.SettingsException;
import io.alimi.event.EnvelopeLimits;
import io.alimi.event.EnvelopeReader;
import io.alimi.hub.Relay;
import io.alimi.hub.RelaySettings;
import io.alimi.observe.HealthCheck;
import io.alimi.observe.HealthService;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisHealth;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.Retention;
import io.alimi.timeline.Timeline;
import io.alimi.transport.PollService;
import io.alimi.transport.SseService;
import io.alimi.transport.WsEndpoint;
import io.helidon.logging.common.LogConfig;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.websocket.WsRouting;
import io.lettuce.core.api.StatefulRedisConnection;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
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
    private static final int STREAM_WRITE_BUFFER_BYTES = 256;

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
        Identities identities = identities(settings);
        RelaySettings relaySettings = relaySettings(settings);
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
            Relay relay = null;
            if (roles.contains(Role.RELAY)) {
                StatefulRedisConnection<String, byte[]> tailConnection = redis.connect(patience);
                parts.add(tailConnection);
                relay = new Relay(timeline, keys, tailConnection, shared.async(), relaySettings);
                parts.add(relay);
                checks.add(relay::health);
            }
            Api api = roles.contains(Role.RELAY)
                    ? new Api(new PublishService(apiKeys, reader, timeline, publishLimits),
                            new ScopeEventsService(identities, timeline), new SseService(relay, identities),
                            new PollService(relay, identities), new WsEndpoint(relay, identities))
                    : null;
            HealthService health = new HealthService(checks);
            var server = WebServer.builder()
                    .host(host)
                    .port(port)
                    // Above our own body limit, so oversize requests get our 413 problem, not a bare one.
                    .maxPayloadSize(publishLimits.maxBodyBytes() + 64L * 1024)
                    .directHandlers(TransportProblems.handlers(publishLimits.maxBodyBytes()))
                    // Live streams are long requests; an idle WebSocket is one whose client sent nothing.
                    .idleConnectionTimeout(relaySettings.maxLifetime().plusMinutes(1))
                    // Memory per idle live connection (docs/BENCHMARKS.md): the NIO socket keeps two 8 KiB buffers,
                    // the plain one a single one; and SseWriter hands each flush over in one write, so the
                    // response stream's own buffer can be small.
                    .useNio(false)
                    .writeBufferSize(STREAM_WRITE_BUFFER_BYTES)
                    .routing(routing -> routing(routing, health, api));
            if (api != null) {
                server.addRouting(WsRouting.builder().endpoint("/v1/ws", api.ws().listeners()));
            }
            WebServer started = server.build().start();
            parts.add(started::stop);
            if (relay != null) {
                // Closed before the server stops: clients are told to reconnect elsewhere while it still runs.
                Relay drained = relay;
                parts.add(drained::drain);
            }
            if (bridge != null) {
                bridge.start();
            }
            LOG.info(() -> "Alimi " + roles + " listening on http://" + host + ":" + started.port()
                    + ", Redis " + redis.describe() + " (prefix " + keys.prefix() + ")"
                    + (bridgeSettings == null ? "" : ", Kafka " + bridgeSettings.bootstrap() + " topic " + bridgeSettings.topic()));
            if (roles.contains(Role.RELAY) && apiKeys.isEmpty()) {
                LOG.warning("alimi.publish.api-keys is empty: POST /v1/events refuses every request");
            }
            return new Running(started, bridge, relay, parts);
        } catch (RuntimeException e) {
            closeAll(parts);
            throw e;
        }
    }

    /** The services of the relay role. */
    public record Api(PublishService publish, ScopeEventsService scopes, SseService sse, PollService poll, WsEndpoint ws) {
    }

    /** The HTTP routes of a node; {@code api} is null when the node does not run the relay role. */
    public static void routing(HttpRouting.Builder routing, HealthService health, Api api) {
        routing.register("/health", health);
        if (api != null) {
            routing.register("/v1/events", api.publish());
            routing.register("/v1/scopes", api.scopes());
            routing.register("/v1/stream", api.sse());
            routing.register("/v1/poll", api.poll());
        }
    }

    /** A started node. */
    public static final class Running implements AutoCloseable {
        private final WebServer server;
        private final Bridge bridge;
        private final Relay relay;
        private final List<AutoCloseable> parts;

        Running(WebServer server, Bridge bridge, Relay relay, List<AutoCloseable> parts) {
            this.server = server;
            this.bridge = bridge;
            this.relay = relay;
            this.parts = parts;
        }

        public int port() {
            return server.port();
        }

        public Optional<Bridge> bridge() {
            return Optional.ofNullable(bridge);
        }

        public Optional<Relay> relay() {
            return Optional.ofNullable(relay);
        }

        /**
         * Stops in reverse order of start: live clients are told to reconnect elsewhere and drained, then HTTP
         * stops, then the bridge finishes its batch, then Redis connections close.
         */
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

    private static Identities identities(Settings settings) {
        List<Identities> sources = new ArrayList<>();
        Optional<String> secret = settings.optionalString("alimi.auth.jwt.hs256-secret");
        if (secret.isPresent()) {
            byte[] key = secret.get().getBytes(StandardCharsets.UTF_8);
            if (key.length < JwtIdentities.MIN_SECRET_BYTES) {
                throw new SettingsException("alimi.auth.jwt.hs256-secret", "must be at least "
                        + JwtIdentities.MIN_SECRET_BYTES + " bytes");
            }
            sources.add(new JwtIdentities(new JwtIdentities.Settings(key,
                    settings.optionalString("alimi.auth.jwt.issuer"),
                    settings.optionalString("alimi.auth.jwt.audience"),
                    settings.duration("alimi.auth.jwt.clock-skew", JwtIdentities.Settings.DEFAULT_CLOCK_SKEW,
                            Duration.ZERO, Duration.ofMinutes(10)),
                    settings.string("alimi.auth.jwt.admin-claim", "sub"),
                    settings.string("alimi.auth.jwt.malls-claim", "malls"),
                    settings.string("alimi.auth.jwt.partner-claim", "partner"),
                    settings.string("alimi.auth.jwt.roles-claim", "roles")), Clock.systemUTC()));
        }
        Optional<String> file = settings.optionalString("alimi.auth.dev-tokens-file");
        if (file.isPresent()) {
            try {
                sources.add(DevTokens.load(Path.of(file.get())));
            } catch (IOException | IllegalArgumentException e) {
                throw new SettingsException("alimi.auth.dev-tokens-file", e.getMessage());
            }
        }
        return sources.isEmpty() ? Identities.NONE : Identities.firstOf(sources);
    }

    private static RelaySettings relaySettings(Settings settings) {
        Duration lifetime = settings.duration("alimi.relay.max-lifetime", RelaySettings.DEFAULT_MAX_LIFETIME,
                Duration.ofSeconds(1), Duration.ofHours(24));
        int tailCount = settings.integer("alimi.relay.tail-count", RelaySettings.DEFAULT_TAIL_COUNT, 1, 100_000);
        return new RelaySettings(
                settings.integer("alimi.relay.queue-capacity", Math.max(RelaySettings.DEFAULT_QUEUE_CAPACITY, tailCount),
                        tailCount, 1_000_000),
                settings.integer("alimi.relay.max-catch-up", RelaySettings.DEFAULT_MAX_CATCH_UP, 1, 100_000),
                settings.duration("alimi.relay.heartbeat", RelaySettings.DEFAULT_HEARTBEAT, Duration.ofMillis(100), Duration.ofMinutes(10)),
                lifetime,
                RelaySettings.DEFAULT_LIFETIME_JITTER,
                settings.duration("alimi.relay.retry", RelaySettings.DEFAULT_RETRY, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.retry-jitter", RelaySettings.DEFAULT_RETRY_JITTER, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.drain-timeout", RelaySettings.DEFAULT_DRAIN_TIMEOUT, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.tail-block", RelaySettings.DEFAULT_TAIL_BLOCK, Duration.ofMillis(100), Duration.ofMinutes(1)),
                tailCount);
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
