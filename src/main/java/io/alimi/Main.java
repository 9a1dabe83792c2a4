package io.alimi;

import io.alimi.api.Cors;
import io.alimi.api.Origins;
import io.alimi.api.PublishLimits;
import io.alimi.api.PublishService;
import io.alimi.api.ScopeEventsService;
import io.alimi.api.TimelineService;
import io.alimi.api.TransportProblems;
import io.alimi.auth.ApiKeySource;
import io.alimi.auth.ApiKeys;
import io.alimi.auth.Identities;
import io.alimi.auth.IdentitySources;
import io.alimi.auth.Tickets;
import io.alimi.bridge.Bridge;
import io.alimi.bridge.BridgeSettings;
import io.alimi.bridge.KafkaClients;
import io.alimi.demo.DemoService;
import io.alimi.demo.WebFiles;
import io.alimi.config.Settings;
import io.alimi.config.SettingsException;
import io.alimi.event.EnvelopeLimits;
import io.alimi.event.EnvelopeReader;
import io.alimi.hub.Relay;
import io.alimi.hub.RelaySettings;
import io.alimi.limit.ClientAddress;
import io.alimi.limit.Limit;
import io.alimi.limit.Limits;
import io.alimi.limit.Rate;
import io.alimi.api.AdminAuth;
import io.alimi.observe.HealthCheck;
import io.alimi.observe.HealthService;
import io.alimi.push.DeviceService;
import io.alimi.push.Devices;
import io.alimi.push.FcmClient;
import io.alimi.push.PushAudience;
import io.alimi.push.PushQueue;
import io.alimi.push.PushWorker;
import io.alimi.push.ServiceAccount;
import io.alimi.observe.MetricsService;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisHealth;
import io.alimi.timeline.RedisLink;
import io.alimi.timeline.ReadState;
import io.alimi.timeline.Durability;
import io.alimi.timeline.RedisTimeline;
import io.alimi.timeline.Retention;
import io.alimi.timeline.Timeline;
import io.alimi.transport.BrowserAuthService;
import io.alimi.transport.PollService;
import io.alimi.transport.SseService;
import io.alimi.transport.StreamAccess;
import io.alimi.transport.WsEndpoint;
import io.helidon.logging.common.LogConfig;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.websocket.WsConfig;
import io.helidon.webserver.websocket.WsRouting;
import org.apache.kafka.clients.producer.Producer;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
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
    public enum Role { RELAY, BRIDGE, PUSH }

    private Main() {
    }

    public static void main(String[] args) {
        LogConfig.configureRuntime();
        Running running;
        try {
            Settings settings = Settings.load();
            logFormat(settings);
            running = start(settings);
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

    /** {@code alimi.log.format}: {@code text} (default) or {@code json}, one object per line. */
    private static void logFormat(Settings settings) {
        String format = settings.string("alimi.log.format", "text");
        switch (format) {
            case "text" -> { }
            case "json" -> {
                for (java.util.logging.Handler handler : Logger.getLogger("").getHandlers()) {
                    handler.setFormatter(new io.alimi.observe.JsonLogFormatter());
                }
            }
            default -> throw new SettingsException("alimi.log.format", "must be text or json, not '" + format + "'");
        }
    }

    /** Starts a node with {@code settings}; tests and the dev launcher use this same wiring. */
    public static Running start(Settings settings) {
        Set<Role> roles = roles(settings);
        EnvelopeReader reader = new EnvelopeReader(envelopeLimits(settings));
        Retention retention = retention(settings);
        boolean redisCluster = settings.bool("alimi.redis.cluster", false);
        Keys keys = new Keys(settings.string("alimi.redis.key-prefix", Keys.DEFAULT_PREFIX),
                redisCluster ? settings.integer("alimi.redis.cluster-shards", Keys.DEFAULT_CLUSTER_SHARDS, 1, 16_384) : 0);
        PublishLimits publishLimits = publishLimits(settings);
        ApiKeys fixedKeys = apiKeys(settings);
        Limits limits = limits(settings);
        Origins origins = origins(settings);
        ClientAddress clientAddress = clientAddress(settings);
        StreamAccess.Policy streamPolicy = streamPolicy(settings);
        BrowserAuthService.CookieSettings cookie = cookie(settings);
        boolean demo = settings.bool("alimi.demo.enabled", false);
        Duration ticketTtl = settings.duration("alimi.auth.ticket-ttl", Tickets.DEFAULT_TIME_TO_LIVE,
                Duration.ofSeconds(1), Duration.ofMinutes(10));
        RelaySettings relaySettings = relaySettings(settings, redisCluster);
        BridgeSettings bridgeSettings = roles.contains(Role.BRIDGE) ? bridgeSettings(settings) : null;
        String redisUrl = settings.string("alimi.redis.url", DEFAULT_REDIS_URL);
        Duration commandTimeout = settings.duration("alimi.redis.command-timeout", RedisConnector.DEFAULT_COMMAND_TIMEOUT,
                Duration.ofMillis(100), Duration.ofMinutes(1));
        Duration patience = settings.duration("alimi.redis.connect-patience", DEFAULT_REDIS_CONNECT_PATIENCE,
                Duration.ZERO, Duration.ofHours(1));
        String host = settings.string("alimi.http.host", "0.0.0.0");
        int port = settings.integer("alimi.http.port", DEFAULT_HTTP_PORT, 0, 65_535);

        Durability durability = durability(settings, redisCluster, commandTimeout);

        RedisConnector redis;
        try {
            redis = RedisConnector.create(redisUrl, redisCluster, commandTimeout);
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.redis.url", e.getMessage());
        }
        List<AutoCloseable> parts = new ArrayList<>();
        parts.add(redis);
        try {
            ApiKeySource apiKeys = apiKeySource(settings, fixedKeys);
            parts.add(apiKeys);
            RedisLink shared = redis.connect(patience);
            parts.add(shared);
            Duration deviceTtl = settings.duration("alimi.push.device-ttl", Devices.DEFAULT_TIME_TO_LIVE,
                    Duration.ofMinutes(1), Duration.ofDays(3650));
            PushAudience audience = new PushAudience(shared.async(), keys,
                    settings.duration("alimi.push.entitlement-ttl", PushAudience.DEFAULT_LEASE, Duration.ofSeconds(1), Duration.ofDays(365)),
                    deviceTtl, java.time.Clock.systemUTC());
            // Every admin seen with a valid token renews (and corrects) their place in the push audiences.
            Identities identities = Identities.observed(IdentitySources.from(settings, parts), audience::seen);
            RedisTimeline.Meters meters = new RedisTimeline.Meters();
            List<HealthCheck> checks = new ArrayList<>();
            checks.add(new RedisHealth(shared, redis.describe()));

            Bridge bridge = null;
            if (bridgeSettings != null) {
                // Its own connection: large pipelined batches must not queue ahead of publish requests.
                RedisLink bridgeConnection = redis.connect(patience);
                parts.add(bridgeConnection);
                bridge = Bridge.create(bridgeSettings, new RedisTimeline(bridgeConnection, keys, retention, meters, durability), reader);
                parts.add(bridge);
                checks.add(bridge::health);
            }
            Relay relay = null;
            Timeline reading = null;
            if (roles.contains(Role.RELAY)) {
                RedisLink tailConnection = redis.connect(patience);
                parts.add(tailConnection);
                // Replays, timeline pages and scope reads answer with many entries: on a connection of their own,
                // a reply of megabytes never holds up a publish, a ticket or a read mark queued behind it.
                RedisLink readConnection = redis.connect(patience);
                parts.add(readConnection);
                reading = new RedisTimeline(readConnection, keys, retention, meters);
                ReadState reads = new ReadState(shared.async(), keys, reading, retention.maxAge());
                relay = new Relay(reading, keys, tailConnection, shared, relaySettings, reads);
                // Read-state changes on any node reach this node's sessions that show an unread count.
                StatefulRedisPubSubConnection<String, byte[]> readChanges = redis.connectPubSub(patience);
                parts.add(readChanges);
                Relay listening = relay;
                readChanges.addListener(new RedisPubSubAdapter<>() {
                    @Override
                    public void message(String channel, byte[] adminNo) {
                        listening.readChanged(new String(adminNo, StandardCharsets.UTF_8));
                    }
                });
                readChanges.sync().subscribe(keys.readChangedChannel());
                parts.add(relay);
                checks.add(relay::health);
            }
            Optional<FcmClient> fcm = fcmClient(settings);
            Devices devices = new Devices(shared.async(), keys,
                    settings.integer("alimi.push.max-devices-per-admin", Devices.DEFAULT_MAX_PER_ADMIN, 1, 1_000),
                    deviceTtl, audience);
            PushWorker push = null;
            if (roles.contains(Role.PUSH)) {
                if (fcm.isEmpty()) {
                    throw new SettingsException("alimi.push.fcm.credentials-file", "the push role needs FCM service-account credentials");
                }
                RedisLink pushConnection = redis.connect(patience);
                parts.add(pushConnection);
                push = new PushWorker(pushConnection, shared.async(), keys, devices, audience, fcm.get(), pushSettings(settings));
                push.start();
                parts.add(push);
                checks.add(push::health);
            }
            Api api = null;
            StreamAccess streams = null;
            if (roles.contains(Role.RELAY)) {
                Optional<Tickets> tickets = Optional.of(new Tickets(shared.async(), keys, ticketTtl, commandTimeout));
                StreamAccess access = new StreamAccess(identities, tickets, streamPolicy, limits, origins, clientAddress);
                streams = access;
                // Publishes on a connection of their own: reads cannot delay them, and WAIT (alimi.redis.min-replicas)
                // holding it while replicas catch up delays nothing else.
                RedisLink publishConnection = redis.connect(patience);
                parts.add(publishConnection);
                Timeline publishing = new RedisTimeline(publishConnection, keys, retention, meters, durability);
                AdminAuth adminAuth = new AdminAuth(identities, limits, clientAddress);
                api = new Api(new PublishService(apiKeys, reader, publishing, publishLimits, limits),
                        new ScopeEventsService(adminAuth, reading), new SseService(relay, access),
                        new PollService(relay, access), new WsEndpoint(relay, access),
                        new BrowserAuthService(access, tickets, cookie), new Cors(origins),
                        new TimelineService(adminAuth, relay.reads()),
                        new WebFiles(demo), demo ? demoService(settings, identities, shared, keys, parts) : null,
                        new DeviceService(adminAuth, devices, audience, fcm.<DeviceService.Topics>map(client -> client)
                                .orElse(DeviceService.Topics.NONE)));
            }
            Api routes = api;
            HealthService health = new HealthService(checks);
            PushQueue pushQueue = new PushQueue(shared.async(), keys);
            if (fcm.isEmpty()) {
                warnIfPushesWait(pushQueue, retention);
            }
            MetricsService metrics = new MetricsService(limits, relay, push, bridge, meters,
                    streams == null ? Map::of : streams::connections, pushQueue);
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
                    .routing(routing -> routing(routing, health, metrics, routes));
            if (api != null) {
                server.addRouting(WsRouting.builder().endpoint("/v1/ws", api.ws().listeners()));
                // The handshake itself refuses an origin neither listed nor Alimi's own (403, OriginCheckingUpgrades):
                // a foreign page never gets a socket. WsEndpoint checks the same rule again once open.
                server.addProtocol(WsConfig.builder().origins(origins.allowed()).build());
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
            if (roles.contains(Role.RELAY) && apiKeys.get().isEmpty()) {
                LOG.warning("no API keys (alimi.publish.api-keys, alimi.publish.api-keys-file): POST /v1/events refuses every request");
            }
            return new Running(settings, started, bridge, relay, push, parts);
        } catch (RuntimeException e) {
            closeAll(parts);
            throw e;
        }
    }

    /** The services of the relay role. */
    public record Api(PublishService publish, ScopeEventsService scopes, SseService sse, PollService poll, WsEndpoint ws,
                      BrowserAuthService browserAuth, Cors cors, TimelineService timeline, WebFiles web,
                      DemoService demo, DeviceService devices) {
    }

    /** The HTTP routes of a node; {@code api} is null when the node does not run the relay role. */
    public static void routing(HttpRouting.Builder routing, HealthService health, MetricsService metrics, Api api) {
        routing.addFilter(io.alimi.api.ConnectionClose::filter);
        if (api != null) {
            routing.any("/v1", api.cors()).any("/v1/*", api.cors()).any("/alimi.js", api.cors());
        }
        routing.register("/health", health);
        routing.register("/metrics", metrics);
        if (api != null) {
            routing.register("/v1", api.browserAuth());
            routing.register("/v1/events", api.publish());
            routing.register("/v1/scopes", api.scopes());
            routing.register("/v1/timeline", api.timeline());
            routing.register("/v1/devices", api.devices());
            if (api.demo() != null) {
                routing.register("/v1/demo", api.demo());
            }
            routing.register("/", api.web());
            routing.register("/v1/stream", api.sse());
            routing.register("/v1/poll", api.poll());
        }
    }

    /** A started node. */
    public static final class Running implements AutoCloseable {
        private final Settings settings;
        private final WebServer server;
        private final Bridge bridge;
        private final Relay relay;
        private final PushWorker push;
        private final List<AutoCloseable> parts;

        Running(Settings settings, WebServer server, Bridge bridge, Relay relay, PushWorker push, List<AutoCloseable> parts) {
            this.push = push;
            this.settings = settings;
            this.server = server;
            this.bridge = bridge;
            this.relay = relay;
            this.parts = parts;
        }

        public int port() {
            return server.port();
        }

        /** The settings it started with. */
        public Settings settings() {
            return settings;
        }

        public Optional<Bridge> bridge() {
            return Optional.ofNullable(bridge);
        }

        public Optional<Relay> relay() {
            return Optional.ofNullable(relay);
        }

        public Optional<PushWorker> push() {
            return Optional.ofNullable(push);
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
                throw new SettingsException("alimi.roles", "unknown role '" + name + "'; use relay, bridge, push or a comma-separated mix");
            }
        }
        if (roles.isEmpty()) {
            // The push role needs FCM credentials; by default it runs where they are configured.
            roles = EnumSet.of(Role.RELAY, Role.BRIDGE);
            if (settings.optionalString("alimi.push.fcm.credentials-file").isPresent()) {
                roles.add(Role.PUSH);
            }
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
                settings.duration("alimi.timeline.dedup-ttl", Retention.DEFAULT_DEDUP_TTL, Duration.ofSeconds(1), Duration.ofDays(365)),
                settings.integer("alimi.push.queue-max-length", Retention.DEFAULT_PUSH_QUEUE_MAX_LENGTH, 1, 100_000_000));
    }

    private static Durability durability(Settings settings, boolean cluster, Duration commandTimeout) {
        int replicas = settings.integer("alimi.redis.min-replicas", 0, 0, 100);
        Duration timeout = settings.duration("alimi.redis.replica-timeout", Durability.DEFAULT_TIMEOUT,
                Duration.ofMillis(1), Duration.ofMinutes(1));
        if (replicas == 0) {
            return Durability.NONE;
        }
        if (cluster) {
            throw new SettingsException("alimi.redis.min-replicas", "waiting for replicas is supported on a single "
                    + "Redis master (with Sentinel or without), not yet with alimi.redis.cluster=true");
        }
        if (timeout.compareTo(commandTimeout) >= 0) {
            throw new SettingsException("alimi.redis.replica-timeout", "must be shorter than alimi.redis.command-timeout ("
                    + commandTimeout.toMillis() + " ms), or every wait would time out as a failed command");
        }
        return new Durability(replicas, timeout);
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

    private static ApiKeySource apiKeySource(Settings settings, ApiKeys fixed) {
        Optional<String> file = settings.optionalString("alimi.publish.api-keys-file");
        try {
            return new ApiKeySource(fixed, file.map(Path::of), settings.duration("alimi.publish.api-keys-reload",
                    ApiKeySource.DEFAULT_RELOAD_INTERVAL, Duration.ofMillis(100), Duration.ofHours(1)));
        } catch (IOException | IllegalArgumentException e) {
            throw new SettingsException("alimi.publish.api-keys-file", e.getMessage());
        }
    }

    private static Limits limits(Settings settings) {
        return new Limits(new Limits.Settings(
                settings.integer("alimi.limits.connections-per-admin", Limits.Settings.DEFAULT_CONNECTIONS_PER_ADMIN, 1, 1_000_000),
                settings.integer("alimi.limits.max-connections", Limits.Settings.DEFAULT_MAX_CONNECTIONS, 1, 10_000_000),
                settings.integer("alimi.limits.connects-per-second-per-ip",
                        (int) Limits.Settings.DEFAULT_CONNECTS_PER_SECOND_PER_IP, 1, 1_000_000),
                settings.integer("alimi.limits.connect-burst-per-ip", Limits.Settings.DEFAULT_CONNECT_BURST_PER_IP, 1, 1_000_000),
                settings.integer("alimi.limits.admissions-per-second",
                        (int) Limits.Settings.DEFAULT_ADMISSIONS_PER_SECOND, 1, 1_000_000),
                settings.integer("alimi.limits.admission-burst", Limits.Settings.DEFAULT_ADMISSION_BURST, 1, 1_000_000)),
                rates(settings));
    }

    /**
     * The keyed limits: {@code alimi.limits.<name>} a rate ({@code 10/s}, {@code 6/min}) or {@code off},
     * {@code alimi.limits.<name>-burst} how many at once.
     */
    private static Limits.Rates rates(Settings settings) {
        Map<Limit, Rate> keyed = new EnumMap<>(Limit.class);
        Limits.Rates.DEFAULT_KEYED.forEach((limit, fallback) -> {
            String key = "alimi.limits." + limit.key();
            String text = settings.string(key, fallback.toString());
            if (text.strip().equalsIgnoreCase("off")) {
                return;
            }
            double perSecond;
            try {
                perSecond = Rate.parsePerSecond(text);
            } catch (IllegalArgumentException e) {
                throw new SettingsException(key, e.getMessage() + ", or off");
            }
            keyed.put(limit, new Rate(perSecond, settings.integer(key + "-burst", fallback.burst(), 1, 1_000_000)));
        });
        return new Limits.Rates(keyed, settings.integer("alimi.limits.ipv6-prefix", Limits.Rates.DEFAULT_IPV6_PREFIX, 1, 128));
    }

    private static Optional<FcmClient> fcmClient(Settings settings) {
        Optional<String> file = settings.optionalString("alimi.push.fcm.credentials-file");
        if (file.isEmpty()) {
            return Optional.empty();
        }
        ServiceAccount account;
        try {
            account = ServiceAccount.load(Path.of(file.get()));
        } catch (IOException | IllegalArgumentException e) {
            throw new SettingsException("alimi.push.fcm.credentials-file", e.getMessage());
        }
        String project = settings.optionalString("alimi.push.fcm.project-id").orElse(account.projectId());
        if (project.isEmpty()) {
            throw new SettingsException("alimi.push.fcm.project-id", "not set, and the credentials file names no project_id");
        }
        try {
            return Optional.of(new FcmClient(new FcmClient.Settings(
                    java.net.URI.create(settings.string("alimi.push.fcm.base-url", "https://fcm.googleapis.com")),
                    java.net.URI.create(settings.string("alimi.push.fcm.iid-base-url", "https://iid.googleapis.com")),
                    project,
                    settings.duration("alimi.push.fcm.timeout", Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofMinutes(2))),
                    account));
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.push.fcm.base-url", e.getMessage());
        }
    }

    /**
     * A node without FCM credentials cannot send what is queued: when pushes wait, say so at start-up (with none of
     * the nodes running the push role, the queue fills up to its cap and then drops the oldest).
     */
    private static void warnIfPushesWait(PushQueue queue, Retention retention) {
        queue.figures().filter(figures -> figures.waiting() > 0).ifPresent(figures -> LOG.warning(() ->
                figures.waiting() + " push-flagged events are queued in " + queue.key() + " and this node has no "
                        + "push credentials (alimi.push.fcm.credentials-file): unless a node with the push role runs, "
                        + "they wait, and beyond alimi.push.queue-max-length ("
                        + retention.pushQueueMaxLength()
                        + ") the oldest are dropped (" + figures.dropped() + " so far; see alimi_push_queue_dropped_total)"));
    }

    private static PushWorker.Settings pushSettings(Settings settings) {
        PushWorker.Settings d = PushWorker.Settings.DEFAULTS;
        Duration backoffMin = settings.duration("alimi.push.backoff-min", d.backoffMin(), Duration.ofMillis(1), Duration.ofMinutes(10));
        return new PushWorker.Settings(
                settings.integer("alimi.push.concurrency", d.concurrency(), 1, 10_000),
                settings.integer("alimi.push.max-attempts", d.maxAttempts(), 1, 100),
                backoffMin,
                settings.duration("alimi.push.backoff-max", d.backoffMax(), backoffMin, Duration.ofHours(1)),
                settings.duration("alimi.push.claim-idle", d.claimIdle(), Duration.ofMillis(100), Duration.ofHours(24)),
                d.block(),
                settings.integer("alimi.push.dead-letter-max-length", d.deadLetterMaxLength(), 1, 100_000_000),
                settings.integer("alimi.push.fanout", d.fanout(), 1, 10_000));
    }

    /** The demo console's back end: a Kafka producer onto the bridge's topic, files kept in Redis. */
    private static DemoService demoService(Settings settings, Identities identities,
                                           RedisLink shared, Keys keys,
                                           List<AutoCloseable> parts) {
        BridgeSettings kafka = bridgeSettings(settings);
        Producer<byte[], byte[]> producer = KafkaClients.producer(kafka);
        parts.add(() -> producer.close(Duration.ofSeconds(5)));
        return new DemoService(identities, producer, kafka.topic(), shared.async(), keys,
                settings.duration("alimi.demo.export-time", Duration.ofSeconds(4), Duration.ZERO, Duration.ofMinutes(5)));
    }

    private static ClientAddress clientAddress(Settings settings) {
        try {
            return ClientAddress.trusting(settings.list("alimi.http.trusted-proxies"));
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.http.trusted-proxies", e.getMessage());
        }
    }

    private static Origins origins(Settings settings) {
        try {
            return Origins.of(settings.list("alimi.http.cors.allowed-origins"));
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.http.cors.allowed-origins", e.getMessage());
        }
    }

    private static StreamAccess.Policy streamPolicy(Settings settings) {
        boolean cookies = settings.bool("alimi.auth.cookie.enabled", false);
        return new StreamAccess.Policy(settings.bool("alimi.auth.allow-token-in-query", false),
                cookies ? Optional.of(cookieName(settings)) : Optional.empty());
    }

    private static BrowserAuthService.CookieSettings cookie(Settings settings) {
        return new BrowserAuthService.CookieSettings(settings.bool("alimi.auth.cookie.enabled", false),
                cookieName(settings), settings.bool("alimi.auth.cookie.secure", true));
    }

    private static String cookieName(Settings settings) {
        String name = settings.string("alimi.auth.cookie.name", BrowserAuthService.CookieSettings.DEFAULT_NAME);
        if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
            throw new SettingsException("alimi.auth.cookie.name", "must be 1 to 64 characters of A-Z a-z 0-9 _ -");
        }
        return name;
    }

    private static RelaySettings relaySettings(Settings settings, boolean redisCluster) {
        Duration lifetime = settings.duration("alimi.relay.max-lifetime", RelaySettings.DEFAULT_MAX_LIFETIME,
                Duration.ofSeconds(1), Duration.ofHours(24));
        int tailCount = settings.integer("alimi.relay.tail-count", RelaySettings.DEFAULT_TAIL_COUNT, 1, 100_000);
        return new RelaySettings(
                settings.integer("alimi.relay.queue-capacity", Math.max(RelaySettings.DEFAULT_QUEUE_CAPACITY, tailCount),
                        tailCount, 1_000_000),
                settings.integer("alimi.relay.max-catch-up", RelaySettings.DEFAULT_MAX_CATCH_UP, 1, 100_000),
                settings.bytes("alimi.relay.max-catch-up-bytes", RelaySettings.DEFAULT_MAX_CATCH_UP_BYTES, 1, 1 << 30),
                settings.integer("alimi.relay.replay-piece", RelaySettings.DEFAULT_REPLAY_PIECE, 1, 10_000),
                settings.integer("alimi.relay.concurrent-replays", RelaySettings.DEFAULT_CONCURRENT_REPLAYS, 1, 10_000),
                settings.duration("alimi.relay.heartbeat", RelaySettings.DEFAULT_HEARTBEAT, Duration.ofMillis(100), Duration.ofMinutes(10)),
                lifetime,
                RelaySettings.DEFAULT_LIFETIME_JITTER,
                settings.duration("alimi.relay.retry", RelaySettings.DEFAULT_RETRY, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.retry-jitter", RelaySettings.DEFAULT_RETRY_JITTER, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.drain-timeout", RelaySettings.DEFAULT_DRAIN_TIMEOUT, Duration.ZERO, Duration.ofMinutes(10)),
                settings.duration("alimi.relay.tail-block", RelaySettings.DEFAULT_TAIL_BLOCK, Duration.ofMillis(100), Duration.ofMinutes(1)),
                tailCount,
                settings.duration("alimi.relay.clock-skew",
                        redisCluster ? RelaySettings.DEFAULT_CLUSTER_CLOCK_SKEW : Duration.ZERO, Duration.ZERO, Duration.ofMinutes(10)));
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
