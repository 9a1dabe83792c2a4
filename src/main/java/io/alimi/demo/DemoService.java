package io.alimi.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.http.AdminAuth;
import io.alimi.http.Problem;
import io.alimi.http.RequestBody;
import io.alimi.auth.Identities;
import io.alimi.auth.Narrowing;
import io.alimi.auth.Profile;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;
import io.alimi.timeline.Keys;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The demo console's back end ({@code alimi.demo.enabled}, on with {@code scripts/run}): what a domain service
 * would do, so the console can show the whole story. Everything it publishes goes through Kafka and the bridge,
 * like any producer's events.
 *
 * <pre>
 * POST /v1/demo/exports                 start an "export orders to Excel" job for the signed-in admin (202); a few
 *                                       seconds later excel.export.completed reaches admin:&lt;n&gt; with its link
 * GET  /v1/demo/exports/{job}/file     the file (CSV, UTF-8 with BOM so Excel reads Korean); the job id is the key
 * POST /v1/demo/events                 {"type": "order.created", "targets": "mall:1", "data": {…}} → Kafka; every
 *                                       target must be one of the admin's scopes (403 naming the first that is not)
 * </pre>
 */
public final class DemoService implements HttpService {

    private static final Logger LOG = Logger.getLogger(DemoService.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration FILE_LIFETIME = Duration.ofHours(1);
    /** Event types the producer panel offers: one per back-office story. */
    public static final List<String> TYPES = List.of("order.created", "claim.requested", "inquiry.created",
            "product.approval.completed", "product.qna.created", "fds.alert.raised", "notice.published");

    private final Identities identities;
    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final RedisClusterAsyncCommands<String, byte[]> redis;
    private final Keys keys;
    private final Duration exportTime;

    /**
     * @param exportTime how long an export job works before its file is ready (the point of the demo: the admin
     *                   goes on working and is told when it is done)
     */
    public DemoService(Identities identities, Producer<byte[], byte[]> producer, String topic,
                       RedisClusterAsyncCommands<String, byte[]> redis, Keys keys, Duration exportTime) {
        this.identities = identities;
        this.producer = producer;
        this.topic = topic;
        this.redis = redis;
        this.keys = keys;
        this.exportTime = exportTime;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/exports", this::startExport)
                .get("/exports/{job}/file", this::download)
                .post("/events", this::publish);
    }

    private void startExport(ServerRequest req, ServerResponse res) {
        Optional<Profile> admin = admin(req, res);
        if (admin.isEmpty()) {
            return;
        }
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        String job = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
        Profile profile = admin.get();
        Thread.ofVirtual().name("alimi-demo-export").start(() -> export(job, profile));
        res.status(Status.ACCEPTED_202);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(EventJson.bytes(EventJson.mapper().createObjectNode()
                .put("job", job)
                .put("status", "running")
                .put("readyIn", exportTime.toMillis())));
    }

    /** The job: builds the file, keeps it, then announces it to the admin through Kafka. */
    private void export(String job, Profile admin) {
        try {
            LockSupport.parkNanos(exportTime.toNanos());
            List<String[]> rows = orders(admin, 25);
            byte[] file = csv(rows);
            redis.set(keys.export(job), file, SetArgs.Builder.ex(FILE_LIFETIME.toSeconds())).get(10, TimeUnit.SECONDS);
            String fileName = "orders-" + LocalDate.now(ZoneOffset.UTC) + ".csv";
            ObjectNode data = EventJson.mapper().createObjectNode()
                    .put("jobId", job)
                    .put("fileName", fileName)
                    .put("rows", rows.size() - 1)
                    .put("downloadUrl", "/v1/demo/exports/" + job + "/file");
            send(event("export-" + job, "/demo/excel", "excel.export.completed", Scope.admin(admin.adminNo()).toString(), data),
                    admin.adminNo());
        } catch (Exception e) {
            LOG.log(Level.WARNING, "demo export job failed", e);
        }
    }

    private void download(ServerRequest req, ServerResponse res) {
        String job = req.path().pathParameters().get("job");
        if (!job.matches("[A-Za-z0-9_-]{22}")) {
            Problem.of(Status.NOT_FOUND_404, "not-found", "Not found", "no such export").send(res);
            return;
        }
        byte[] file;
        try {
            file = redis.get(keys.export(job)).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            Problem.unavailable("the export store cannot be reached").send(res);
            return;
        }
        if (file == null) {
            Problem.of(Status.NOT_FOUND_404, "not-found", "Not found", "no such export, or it expired (exports are kept an hour)").send(res);
            return;
        }
        res.header(HeaderNames.CONTENT_TYPE, "text/csv; charset=UTF-8");
        res.header(HeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"orders-" + LocalDate.now(ZoneOffset.UTC) + ".csv\"");
        res.header(HeaderNames.CACHE_CONTROL, "private, no-store");
        res.send(file);
    }

    private void publish(ServerRequest req, ServerResponse res) {
        Optional<Profile> admin = admin(req, res);
        if (admin.isEmpty()) {
            return;
        }
        Optional<JsonNode> json = RequestBody.json(req, res, 64 * 1024);
        if (json.isEmpty()) {
            return;
        }
        JsonNode body = json.get();
        String type = body.path("type").asText("");
        String targets = body.path("targets").asText("");
        if (!TYPES.contains(type)) {
            Problem.badRequest("type: must be one of " + TYPES).send(res);
            return;
        }
        String checked;
        try {
            checked = targets(admin.get().scopes(), targets);
        } catch (IllegalArgumentException e) {
            Problem.badRequest(e.getMessage()).send(res);
            return;
        } catch (Narrowing.NotEntitled e) {
            Problem.forbidden(e.getMessage()).send(res);
            return;
        }
        JsonNode data = body.has("data") ? body.get("data") : EventJson.mapper().createObjectNode();
        String id = "demo-" + UUID.randomUUID();
        RecordMetadata sent;
        try {
            sent = send(event(id, "/demo/console", type, checked, data), checked);
        } catch (Exception e) {
            Problem.unavailable("Kafka cannot be reached: " + e.getClass().getSimpleName()).send(res);
            return;
        }
        res.status(Status.ACCEPTED_202);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(EventJson.bytes(EventJson.mapper().createObjectNode()
                .put("id", id)
                .put("topic", sent.topic())
                .put("partition", sent.partition())
                .put("offset", sent.offset())));
    }

    /**
     * The targets of an event from the producer panel, as they will be sent: every one a scope the admin is
     * entitled to, like every other route, so the demo cannot put an event on a mall the admin does not work for.
     * What is checked is what is sent: the scopes joined by commas, without the spaces around them.
     *
     * @throws IllegalArgumentException (400) when an item is not a scope (an empty one included), prefixed "targets: "
     * @throws Narrowing.NotEntitled    (403) naming the first scope, in the order given, that is not one of
     *                                  {@code entitled}
     */
    static String targets(Set<Scope> entitled, String targets) throws Narrowing.NotEntitled {
        Set<Scope> scopes = new LinkedHashSet<>();
        // -1: "mall:1," has an empty second item, as the bridge reads it, not one item.
        for (String item : targets.split(",", -1)) {
            try {
                scopes.add(Scope.parse(item.strip()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("targets: " + e.getMessage());
            }
        }
        for (Scope scope : scopes) {
            if (!entitled.contains(scope)) {
                throw new Narrowing.NotEntitled("scope " + scope + " is not one of this admin's scopes");
            }
        }
        return String.join(",", scopes.stream().map(Scope::toString).toList());
    }

    private Optional<Profile> admin(ServerRequest req, ServerResponse res) {
        return AdminAuth.profile(identities, req, res);
    }

    private static ObjectNode event(String id, String source, String type, String targets, JsonNode data) {
        ObjectNode event = EventJson.mapper().createObjectNode()
                .put("specversion", "1.0")
                .put("id", id)
                .put("source", source)
                .put("type", type)
                .put("targets", targets)
                .put("time", OffsetDateTime.now(ZoneOffset.UTC).toString())
                .put("datacontenttype", "application/json");
        event.set("data", data);
        return event;
    }

    private RecordMetadata send(ObjectNode event, String key) throws Exception {
        RecordHeaders headers = new RecordHeaders();
        headers.add("content-type", "application/cloudevents+json; charset=UTF-8".getBytes(StandardCharsets.UTF_8));
        return producer.send(new ProducerRecord<>(topic, null, key.getBytes(StandardCharsets.UTF_8),
                EventJson.bytes(event), headers)).get(15, TimeUnit.SECONDS);
    }

    /** Some orders of the admin's malls: a header row and {@code count} rows. */
    private static List<String[]> orders(Profile admin, int count) {
        List<String> malls = admin.malls().isEmpty() ? List.of("1") : admin.malls().stream().sorted().toList();
        String[] products = {"오버핏 니트 가디건", "린넨 와이드 팬츠", "캐시미어 머플러", "가죽 미니 크로스백", "데님 셔츠"};
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"orderNo", "mall", "product", "quantity", "amount", "orderedAt"});
        for (int i = 0; i < count; i++) {
            rows.add(new String[] {"A-" + (100_000 + RANDOM.nextInt(900_000)), malls.get(i % malls.size()),
                    products[RANDOM.nextInt(products.length)], Integer.toString(1 + RANDOM.nextInt(3)),
                    Integer.toString((10 + RANDOM.nextInt(90)) * 1000),
                    OffsetDateTime.now(ZoneOffset.UTC).minusMinutes(RANDOM.nextInt(10_000)).withNano(0).toString()});
        }
        return rows;
    }

    /** CSV (RFC 4180), UTF-8 with a byte-order mark so spreadsheet programs read Korean text right. */
    static byte[] csv(List<String[]> rows) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                if (i > 0) {
                    line.append(',');
                }
                String cell = row[i];
                // Cells a spreadsheet would run as a formula are quoted with a leading apostrophe.
                if (!cell.isEmpty() && "=+-@".indexOf(cell.charAt(0)) >= 0 && !cell.matches("-?\\d+")) {
                    cell = "'" + cell;
                }
                line.append(cell.matches(".*[\",\\r\\n].*") ? "\"" + cell.replace("\"", "\"\"") + "\"" : cell);
            }
            out.writeBytes(line.append("\r\n").toString().getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }
}
