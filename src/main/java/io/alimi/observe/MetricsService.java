package io.alimi.observe;

import io.alimi.bridge.Bridge;
import io.alimi.hub.Relay;
import io.alimi.timeline.RedisTimeline;
import io.alimi.limit.Limit;
import io.alimi.limit.Limits;
import io.alimi.push.PushQueue;
import io.alimi.push.PushWorker;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code GET /metrics}: Prometheus text format. For now the relay's counters and, by limit name, how often each
 * limit refused a client.
 */
public final class MetricsService implements HttpService {

    private final Limits limits;
    private final Relay relay;
    private final PushWorker push;
    private final Bridge bridge;
    private final RedisTimeline.Meters timeline;
    private final Supplier<Map<String, Integer>> connections;
    private final PushQueue pushQueue;

    /** {@code relay}, {@code push} and {@code bridge} are null on nodes without those roles. */
    public MetricsService(Limits limits, Relay relay, PushWorker push, Bridge bridge, RedisTimeline.Meters timeline,
                          Supplier<Map<String, Integer>> connections, PushQueue pushQueue) {
        this.pushQueue = pushQueue;
        this.limits = limits;
        this.relay = relay;
        this.push = push;
        this.bridge = bridge;
        this.timeline = timeline;
        this.connections = connections;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::metrics);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        StringBuilder text = new StringBuilder(2048);
        text.append("# HELP alimi_limit_refusals_total Requests and connections refused by a limit, by limit name.\n");
        text.append("# TYPE alimi_limit_refusals_total counter\n");
        for (Map.Entry<Limit, Long> entry : limits.refusals().entrySet()) {
            text.append("alimi_limit_refusals_total{limit=\"").append(entry.getKey().key()).append("\"} ")
                    .append(entry.getValue()).append('\n');
        }
        text.append("# HELP alimi_limit Configured value of each connection limit.\n# TYPE alimi_limit gauge\n");
        Limits.Settings settings = limits.settings();
        text.append("alimi_limit{limit=\"connections-per-admin\"} ").append(settings.connectionsPerAdmin()).append('\n');
        text.append("alimi_limit{limit=\"max-connections\"} ").append(settings.maxConnections()).append('\n');
        text.append("alimi_limit{limit=\"connects-per-second-per-ip\"} ").append(settings.connectsPerSecondPerIp()).append('\n');
        text.append("alimi_limit{limit=\"admissions-per-second\"} ").append(settings.admissionsPerSecond()).append('\n');
        // Keyed limits, per second (per client address or per admin).
        limits.rates().keyed().forEach((limit, rate) -> text.append("alimi_limit{limit=\"").append(limit.key())
                .append("\"} ").append(String.format(java.util.Locale.ROOT, "%.4f", rate.perSecond())).append('\n'));
        text.append("# HELP alimi_admission_backlog_seconds How long this node's admission rate needs for the "
                + "clients it refused and told to come back; 0 when none waits.\n"
                + "# TYPE alimi_admission_backlog_seconds gauge\n");
        text.append("alimi_admission_backlog_seconds ")
                .append(String.format(java.util.Locale.ROOT, "%.3f", limits.admissionBacklogSeconds())).append('\n');
        text.append("# HELP alimi_connections Live stream connections on this node, by transport.\n# TYPE alimi_connections gauge\n");
        connections.get().forEach((transport, count) ->
                text.append("alimi_connections{transport=\"").append(transport).append("\"} ").append(count).append('\n'));
        counter(text, "alimi_events_appended_total", "Timeline entries appended (one per event and target scope).", timeline.entries().sum());
        counter(text, "alimi_events_duplicate_total", "Appends recognised as duplicates (a retried publish).", timeline.duplicates().sum());
        counter(text, "alimi_redis_not_replicated_total", "Appends refused for want of the replicas alimi.redis.min-replicas "
                + "requires (retried by the bridge, 503 to publishers).", timeline.notReplicated().sum());
        timeline.appendLatency().write(text, "alimi_redis_append_seconds", "Time of one append call to Redis (all its scopes).");
        if (bridge != null) {
            text.append("# HELP alimi_bridge_lag Records in the topic not yet consumed by this bridge.\n# TYPE alimi_bridge_lag gauge\n");
            text.append("alimi_bridge_lag ").append(bridge.lagCount()).append('\n');
            counter(text, "alimi_bridge_dead_lettered_total", "Invalid records sent to the dead-letter topic.", bridge.deadLetteredCount());
            counter(text, "alimi_bridge_retries_total", "Bridge batches retried after a failure.", bridge.retryCount());
        }
        if (relay != null) {
            Relay.Stats stats = relay.stats();
            counter(text, "alimi_deliveries_total", "Events written to live connections.", stats.deliveries());
            counter(text, "alimi_live_writes_total", "Writes of live items to connections, each one or more events; "
                    + "deliveries per write show how much a broadcast batches.", stats.liveWrites());
            counter(text, "alimi_gaps_total", "Gaps signalled to resuming clients.", stats.gaps());
            counter(text, "alimi_slow_consumer_disconnects_total", "Connections cut off for not keeping up.", stats.slowConsumers());
            text.append("# HELP alimi_followed_scopes Scopes the tailer follows.\n# TYPE alimi_followed_scopes gauge\n");
            text.append("alimi_followed_scopes ").append(stats.streams()).append('\n');
            relay.deliveryLatency().write(text, "alimi_delivery_latency_seconds",
                    "From the event's append in Redis to its hand-out to a live connection's writer.");
        }
        pushQueue.figures().ifPresent(figures -> {
            text.append("# HELP alimi_push_queue_entries Push work not done yet, in the push stream (all nodes').\n"
                    + "# TYPE alimi_push_queue_entries gauge\n");
            text.append("alimi_push_queue_entries ").append(figures.waiting()).append('\n');
            counter(text, "alimi_push_queue_dropped_total", "Pushes dropped at the push stream's cap "
                    + "(alimi.push.queue-max-length; no push worker running, or far behind), all nodes'.", figures.dropped());
            text.append("# HELP alimi_push_dead_letters Entries in the push dead-letter stream.\n"
                    + "# TYPE alimi_push_dead_letters gauge\n");
            text.append("alimi_push_dead_letters ").append(figures.deadLetters()).append('\n');
        });
        if (push != null) {
            PushWorker.Stats stats = push.stats();
            counter(text, "alimi_push_sent_total", "Push messages FCM accepted.", stats.sent());
            counter(text, "alimi_push_retried_total", "Push sends retried (429, 5xx, unreachable).", stats.retried());
            counter(text, "alimi_push_failed_total", "Push destinations that failed for good.", stats.failed());
            counter(text, "alimi_push_dead_lettered_total", "Push entries copied to the dead-letter stream.", stats.deadLettered());
            counter(text, "alimi_push_tokens_removed_total", "Device tokens FCM called unregistered or invalid.", stats.goneTokens());
            counter(text, "alimi_push_suppressed_total", "Admins a push was not sent to because they muted it on push.", stats.suppressed());
            text.append("# HELP alimi_push_fcm_seconds Time spent in FCM send calls.\n# TYPE alimi_push_fcm_seconds summary\n");
            text.append("alimi_push_fcm_seconds_count ").append(stats.fcmCalls()).append('\n');
            text.append("alimi_push_fcm_seconds_sum ").append(String.format(java.util.Locale.ROOT, "%.6f", stats.fcmNanos() / 1e9)).append('\n');
        }
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        res.send(text.toString());
    }

    private static void counter(StringBuilder text, String name, String help, long value) {
        text.append("# HELP ").append(name).append(' ').append(help).append('\n');
        text.append("# TYPE ").append(name).append(" counter\n");
        text.append(name).append(' ').append(value).append('\n');
    }
}
