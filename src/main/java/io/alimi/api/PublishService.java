package io.alimi.api;

import io.alimi.http.Problem;
import io.alimi.http.RequestBody;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.auth.ApiKeys;
import io.alimi.event.Envelope;
import io.alimi.event.EnvelopeReader;
import io.alimi.event.EventJson;
import io.alimi.event.InvalidEventException;
import io.alimi.event.Text;
import io.alimi.limit.Limit;
import io.alimi.limit.Limits;
import io.alimi.observe.LogThrottle;
import io.alimi.timeline.Appended;
import io.alimi.timeline.Durability;
import io.alimi.timeline.Placement;
import io.alimi.timeline.Timeline;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code POST /v1/events}: producers publish over HTTP what they could also put on the Kafka topic.
 *
 * <pre>
 * curl -i http://localhost:8080/v1/events -H 'X-Api-Key: dev-publisher-key-0001' \
 *      -H 'Content-Type: application/cloudevents+json' \
 *      -d '{"specversion":"1.0","id":"ord-1","source":"/orders","type":"order.created","targets":"mall:1","data":{"orderNo":"A-1"}}'
 * </pre>
 *
 * Body: one structured CloudEvent ({@code application/cloudevents+json}), an array of them
 * ({@code application/cloudevents-batch+json}), or either as {@code application/json}. A batch is validated as a
 * whole first: if any event is invalid, none is stored and every fault is listed. 202 lists, per event and scope,
 * the entry id and whether it was a duplicate. 503 means the timeline could not be reached: retry with the same
 * event ids, duplicates are recognised.
 */
public final class PublishService implements HttpService {

    public static final HeaderName API_KEY = HeaderNames.create("X-Api-Key");
    private static final Logger LOG = Logger.getLogger(PublishService.class.getName());
    private static final String SINGLE = "application/cloudevents+json";
    private static final String BATCH = "application/cloudevents-batch+json";
    private static final String JSON = "application/json";

    /** Failed publishes come in floods while Redis is away (every producer retrying): one line per 10 s. */
    private final LogThrottle failures = new LogThrottle(Duration.ofSeconds(10));
    private final Supplier<ApiKeys> apiKeys;
    private final EnvelopeReader reader;
    private final Timeline timeline;
    private final PublishLimits limits;
    private final Limits counters;

    /**
     * @param apiKeys  the keys in force (they may change while the node runs)
     * @param counters where refusals by a size limit are counted
     */
    public PublishService(Supplier<ApiKeys> apiKeys, EnvelopeReader reader, Timeline timeline, PublishLimits limits,
                          Limits counters) {
        this.apiKeys = apiKeys;
        this.reader = reader;
        this.timeline = timeline;
        this.limits = limits;
        this.counters = counters;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/", this::publish);
    }

    private void publish(ServerRequest req, ServerResponse res) {
        Optional<String> key = req.headers().first(API_KEY);
        if (key.isEmpty()) {
            Problem.unauthorized("missing " + API_KEY.defaultCase() + " header").send(res);
            return;
        }
        Optional<ApiKeys.Key> apiKey = apiKeys.get().verify(key.get());
        if (apiKey.isEmpty()) {
            Problem.unauthorized("unknown API key").send(res);
            return;
        }
        String mediaType = req.headers().first(HeaderNames.CONTENT_TYPE).map(PublishService::baseType).orElse("");
        if (!mediaType.equals(SINGLE) && !mediaType.equals(BATCH) && !mediaType.equals(JSON)) {
            Problem.of(Status.UNSUPPORTED_MEDIA_TYPE_415, "unsupported-media-type", "Unsupported media type",
                    "Content-Type " + (mediaType.isEmpty() ? "is missing" : "'" + Text.quote(mediaType) + "' is not accepted")
                            + "; use " + SINGLE + ", " + BATCH + " or " + JSON).send(res);
            return;
        }
        byte[] body;
        try {
            body = RequestBody.read(req, limits.maxBodyBytes());
        } catch (RequestBody.TooLarge e) {
            counters.count(Limit.PUBLISH_BODY_BYTES);
            Problem.tooLarge(e.getMessage()).send(res);
            return;
        }
        List<Envelope> events;
        try {
            events = events(EnvelopeReader.parseJson(body, "body"), mediaType);
        } catch (InvalidEventException e) {
            Problem.badRequest(e.getMessage()).send(res);
            return;
        } catch (Rejected rejected) {
            rejected.problem.send(res);
            return;
        }
        Optional<Problem> forbidden = permitted(apiKey.get(), events);
        if (forbidden.isPresent()) {
            forbidden.get().send(res);
            return;
        }
        List<Appended> appended;
        try {
            appended = timeline.append(events).join();
        } catch (CompletionException e) {
            Throwable cause = e;
            while (cause instanceof CompletionException && cause.getCause() != null) {
                cause = cause.getCause();
            }
            long held = failures.due();
            if (cause instanceof Durability.NotReplicatedException shortfall) {
                if (held >= 0) {
                    LOG.log(Level.WARNING, "publish by key ''{0}'' not acknowledged: {1} ({2} more failed publishes "
                            + "since the last line; logged at most every 10 s)", new Object[] {apiKey.get().name(), shortfall.getMessage(), held});
                }
                Problem.unavailable("not stored durably yet: " + shortfall.getMessage() + "; retry with the same "
                        + "event ids (a retry never makes a second copy)").send(res);
                return;
            }
            if (held >= 0) {
                LOG.log(Level.WARNING, "publish by key ''{0}'' could not reach the timeline: {1} ({2} more failed "
                        + "publishes since the last line; logged at most every 10 s)", new Object[] {apiKey.get().name(), String.valueOf(cause), held});
            }
            Problem.unavailable("the timeline store cannot be reached or refused the write; retry with the same event ids").send(res);
            return;
        }
        res.status(Status.ACCEPTED_202);
        res.header(HeaderNames.CONTENT_TYPE, JSON);
        res.send(accepted(appended));
    }

    private List<Envelope> events(JsonNode body, String mediaType) throws Rejected {
        if (body.isArray()) {
            if (mediaType.equals(SINGLE)) {
                throw new Rejected(Problem.badRequest("body: an array of events needs Content-Type " + BATCH));
            }
            if (body.isEmpty()) {
                throw new Rejected(Problem.badRequest("body: the batch is empty"));
            }
            if (body.size() > limits.maxBatchEvents()) {
                counters.count(Limit.PUBLISH_BATCH_EVENTS);
                throw new Rejected(Problem.tooLarge("body: " + Text.count(body.size()) + " events exceed the batch limit of "
                        + Text.count(limits.maxBatchEvents())));
            }
        } else if (mediaType.equals(BATCH)) {
            throw new Rejected(Problem.badRequest("body: a batch must be a JSON array of events"));
        }
        List<JsonNode> nodes = new ArrayList<>();
        if (body.isArray()) {
            body.forEach(nodes::add);
        } else {
            nodes.add(body);
        }
        List<Envelope> events = new ArrayList<>(nodes.size());
        List<Problem.FieldError> errors = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            try {
                events.add(reader.read(nodes.get(i)));
            } catch (InvalidEventException e) {
                errors.add(new Problem.FieldError(i, e.field(), e.getMessage()));
            }
        }
        if (!errors.isEmpty()) {
            Problem.FieldError first = errors.get(0);
            String detail = body.isArray()
                    ? errors.size() + " of " + nodes.size() + " events are invalid; nothing was stored. Event " + first.index() + ": " + first.message()
                    : first.message();
            throw new Rejected(new Problem(Status.BAD_REQUEST_400, "invalid-event", "Invalid event", detail, errors));
        }
        return events;
    }

    /** 403 listing every event the key may not publish (source, type or target kind), if any. */
    private static Optional<Problem> permitted(ApiKeys.Key key, List<Envelope> events) {
        List<Problem.FieldError> errors = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            int index = i;
            key.refusal(events.get(i)).ifPresent(reason -> errors.add(new Problem.FieldError(index,
                    reason.startsWith("source") ? "source" : reason.startsWith("type") ? "type" : "targets", reason)));
        }
        if (errors.isEmpty()) {
            return Optional.empty();
        }
        String detail = events.size() > 1
                ? errors.size() + " of " + events.size() + " events are not allowed for this key; nothing was stored. Event "
                        + errors.get(0).index() + ": " + errors.get(0).message()
                : errors.get(0).message();
        return Optional.of(new Problem(Status.FORBIDDEN_403, "forbidden", "Forbidden", detail, errors));
    }

    private static byte[] accepted(List<Appended> appended) {
        ObjectNode body = EventJson.mapper().createObjectNode();
        ArrayNode list = body.putArray("accepted");
        for (Appended event : appended) {
            ObjectNode item = list.addObject();
            item.put("id", event.eventId());
            item.put("source", event.source());
            item.put("duplicate", event.duplicate());
            ArrayNode entries = item.putArray("entries");
            for (Placement placement : event.placements()) {
                entries.addObject()
                        .put("scope", placement.scope().toString())
                        .put("entry", placement.entryId().toString())
                        .put("duplicate", placement.duplicate());
            }
        }
        return EventJson.bytes(body);
    }

    private static String baseType(String contentType) {
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
    }

    /** A request refused with a ready problem. */
    private static final class Rejected extends Exception {
        private final transient Problem problem;

        Rejected(Problem problem) {
            super(problem.detail(), null, false, false);
            this.problem = problem;
        }
    }
}
