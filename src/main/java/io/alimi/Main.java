package io.alimi;

import io.alimi.http.Cors;
import io.alimi.http.Origins;
import io.alimi.api.PublishLimits;
import io.alimi.api.PublishService;
import io.alimi.api.ScopeEventsService;
import io.alimi.api.TimelineService;
import io.alimi.api.PreferencesService;
import io.alimi.inbox.InboxPolicy;
import io.alimi.inbox.PreferenceStore;
import io.alimi.http.TransportProblems;
import io.alimi.auth.ApiKeySource;
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
import io.alimi.limit.Limits;
import io.alimi.http.AdminAuth;
import io.alimi.observe.HealthCheck;
import io.alimi.observe.HealthService;
import io.alimi.push.DeviceService;
import io.alimi.push.Devices;
import io.alimi.push.FcmClient;
import io.alimi.push.PushAudience;
import io.alimi.push.PushQueue;
import io.alimi.push.PushWorker;
import io.alimi.observe.MetricsService;
import io.alimi.timeline.Keys;
import io.alimi.timeline.RedisConnector;
import io.alimi.timeline.RedisHealth;
import io.alimi.timeline.RedisLink;
import io.alimi.timeline.ReadState;
import io.alimi.timeline.Durability;
import io.alimi.timeline.RedisSettings;
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

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
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
        EnvelopeReader reader = new EnvelopeReader(EnvelopeLimits.from(settings));
        Retention retention = Retention.from(settings);
        RedisSettings redisSettings = RedisSettings.from(settings);
        boolean redisCluster = redisSettings.cluster();
        Keys keys = redisSettings.keys();
        Duration commandTimeout = redisSettings.commandTimeout();
        Duration patience = redisSettings.connectPatience();
        PublishLimits publishLimits = PublishLimits.from(settings);
        Limits limits = Limits.from(settings);
        Origins origins = Origins.from(settings);
        ClientAddress clientAddress = ClientAddress.from(settings);
        StreamAccess.Policy streamPolicy = StreamAccess.Policy.from(settings);
        BrowserAuthService.CookieSettings cookie = BrowserAuthService.CookieSettings.from(settings);
        boolean demo = settings.bool("alimi.demo.enabled", false);
        Duration ticketTtl = settings.duration("alimi.auth.ticket-ttl", Tickets.DEFAULT_TIME_TO_LIVE,
                Duration.ofSeconds(1), Duration.ofMinutes(10));
        RelaySettings relaySettings = RelaySettings.from(settings, redisCluster);
        InboxPolicy inboxPolicy = InboxPolicy.from(settings);
        BridgeSettings bridgeSettings = roles.contains(Role.BRIDGE) ? BridgeSettings.from(settings) : null;
        String host = settings.string("alimi.http.host", "0.0.0.0");
        int port = settings.integer("alimi.http.port", DEFAULT_HTTP_PORT, 0, 65_535);

        Durability durability = Durability.from(settings, redisCluster, commandTimeout);

        RedisConnector redis;
        try {
            redis = RedisConnector.create(redisSettings.url(), redisCluster, commandTimeout);
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.redis.url", e.getMessage());
        }
        List<AutoCloseable> parts = new ArrayList<>();
        parts.add(redis);
        try {
            ApiKeySource apiKeys = ApiKeySource.from(settings);
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
            Optional<FcmClient> fcm = FcmClient.from(settings);
            Devices devices = new Devices(shared.async(), keys,
                    settings.integer("alimi.push.max-devices-per-admin", Devices.DEFAULT_MAX_PER_ADMIN, 1, 1_000),
                    deviceTtl, audience);
            PreferenceStore preferences = new PreferenceStore(shared.async(), keys, inboxPolicy);
            // Announcements from every node (this one's too), by channel: preference changes for the relay and the
            // push worker, read-state changes for the relay's unread counts.
            Map<String, java.util.function.Consumer<String>> notices = new java.util.concurrent.ConcurrentHashMap<>();
            StatefulRedisPubSubConnection<String, byte[]> announcements = null;
            if (roles.contains(Role.RELAY) || roles.contains(Role.PUSH)) {
                announcements = redis.connectPubSub(patience);
                parts.add(announcements);
                announcements.addListener(new RedisPubSubAdapter<>() {
                    @Override
                    public void message(String channel, byte[] adminNo) {
                        java.util.function.Consumer<String> notice = notices.get(channel);
                        if (notice != null) {
                            notice.accept(new String(adminNo, StandardCharsets.UTF_8));
                        }
                    }
                });
                notices.put(keys.preferencesChangedChannel(), preferences::changed);
                announcements.sync().subscribe(keys.preferencesChangedChannel());
            }
            PushWorker push = null;
            if (roles.contains(Role.PUSH)) {
                if (fcm.isEmpty()) {
                    throw new SettingsException("alimi.push.fcm.credentials-file", "the push role needs FCM service-account credentials");
                }
                RedisLink pushConnection = redis.connect(patience);
                parts.add(pushConnection);
                push = new PushWorker(pushConnection, shared.async(), keys, devices, audience, preferences, fcm.get(),
                        PushWorker.Settings.from(settings));
                push.start();
                parts.add(push);
                checks.add(push::health);
            }
            Relay relay = null;
            Api api = null;
            StreamAccess streams = null;
            if (roles.contains(Role.RELAY)) {
                RedisLink tailConnection = redis.connect(patience);
                parts.add(tailConnection);
                // Replays, timeline pages and scope reads answer with many entries: on a connection of their own,
                // a reply of megabytes never holds up a publish, a ticket or a read mark queued behind it.
                RedisLink readConnection = redis.connect(patience);
                parts.add(readConnection);
                Timeline reading = new RedisTimeline(readConnection, keys, retention, meters);
                ReadState reads = new ReadState(shared.async(), keys, reading, retention.maxAge());
                relay = new Relay(reading, keys, tailConnection, shared, relaySettings, reads, preferences);
                // Read-state and preference changes on any node reach this node's sessions.
                Relay listening = relay;
                preferences.onChange(listening::preferencesChanged);
                notices.put(keys.readChangedChannel(), listening::readChanged);
                announcements.sync().subscribe(keys.readChangedChannel());
                parts.add(relay);
                checks.add(relay::health);
                Tickets tickets = new Tickets(shared.async(), keys, ticketTtl, commandTimeout);
                StreamAccess access = new StreamAccess(identities, tickets, streamPolicy, limits, origins, clientAddress);
                streams = access;
                // Publishes on a connection of their own: reads cannot delay them, and WAIT (alimi.redis.min-replicas)
                // holding it while replicas catch up delays nothing else.
                RedisLink publishConnection = redis.connect(patience);
                parts.add(publishConnection);
                Timeline publishing = new RedisTimeline(publishConnection, keys, retention, meters, durability);
                AdminAuth adminAuth = new AdminAuth(identities, limits, clientAddress);
                if (apiKeys.get().isEmpty()) {
                    LOG.warning("no API keys (alimi.publish.api-keys, alimi.publish.api-keys-file): POST /v1/events refuses every request");
                }
                api = new Api(new PublishService(apiKeys, reader, publishing, publishLimits, limits),
                        new ScopeEventsService(adminAuth, reading), new SseService(relay, access),
                        new PollService(relay, access), new WsEndpoint(relay, access),
                        new BrowserAuthService(access, tickets, cookie), new Cors(origins),
                        new TimelineService(adminAuth, relay.reads(), preferences),
                        new PreferencesService(adminAuth, preferences),
                        new WebFiles(demo), demo ? demoService(settings, identities, shared, keys, parts) : null,
                        new DeviceService(adminAuth, devices, audience, fcm.<DeviceService.Topics>map(client -> client)
                                .orElse(DeviceService.Topics.NONE)));
            }
            Api routes = api;
            HealthService health = new HealthService(checks);
            PushQueue pushQueue = new PushQueue(shared.async(), keys);
            if (fcm.isEmpty()) {
                pushQueue.warnIfWaiting(retention.pushQueueMaxLength());
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
                    // the plain one a single one. SseWriter, the only user of a response's output stream, hands
                    // each flush over in one write: a buffer in front of it would only copy every frame once more.
                    .useNio(false)
                    .writeBufferSize(0)
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
            return new Running(settings, started, bridge, relay, push, parts);
        } catch (RuntimeException e) {
            closeAll(parts);
            throw e;
        }
    }

    /** The services of the relay role. */
    public record Api(PublishService publish, ScopeEventsService scopes, SseService sse, PollService poll, WsEndpoint ws,
                      BrowserAuthService browserAuth, Cors cors, TimelineService timeline,
                      PreferencesService preferences, WebFiles web,
                      DemoService demo, DeviceService devices) {
    }

    /** The HTTP routes of a node; {@code api} is null when the node does not run the relay role. */
    public static void routing(HttpRouting.Builder routing, HealthService health, MetricsService metrics, Api api) {
        routing.addFilter(io.alimi.http.ConnectionClose::filter);
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
            routing.register("/v1/preferences", api.preferences());
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


    /** The demo console's back end: a Kafka producer onto the bridge's topic, files kept in Redis. */
    private static DemoService demoService(Settings settings, Identities identities,
                                           RedisLink shared, Keys keys,
                                           List<AutoCloseable> parts) {
        BridgeSettings kafka = BridgeSettings.from(settings);
        Producer<byte[], byte[]> producer = KafkaClients.producer(kafka);
        parts.add(() -> producer.close(Duration.ofSeconds(5)));
        return new DemoService(identities, producer, kafka.topic(), shared.async(), keys,
                settings.duration("alimi.demo.export-time", Duration.ofSeconds(4), Duration.ZERO, Duration.ofMinutes(5)));
    }
}
