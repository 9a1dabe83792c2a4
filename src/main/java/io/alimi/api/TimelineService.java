package io.alimi.api;

import io.alimi.http.Query;
import io.alimi.http.Problem;
import io.alimi.http.RequestBody;
import io.alimi.http.AdminAuth;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.limit.Limit;
import io.alimi.auth.Narrowing;
import io.alimi.auth.Profile;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;
import io.alimi.inbox.PreferenceStore;
import io.alimi.timeline.MergedTimeline;
import io.alimi.timeline.ReadState;
import io.alimi.timeline.TimelinePosition;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.function.Predicate;

/**
 * The admin's bell: their merged history and what they have read.
 *
 * <pre>
 * GET  /v1/timeline?limit=20&amp;type=order.&amp;before=&lt;next&gt;     newest first, each event once, stable paging
 * POST /v1/timeline/read   {"upTo": "&lt;position&gt;"} | {"upTo": "latest"} | {"eventId": "&lt;id&gt;"}
 * GET  /v1/timeline/unread-count                                   {"count": 12, "capped": false, "text": "12"}
 * </pre>
 *
 * The list and the count leave out what the admin muted in their inbox ({@code muted=include} lists it too).
 *
 * Items: {@code {"position": "<entry id>.<scope>", "scope": …, "read": …, "event": {…envelope…}}}; {@code next}
 * is the {@code before} of the following (older) page, null at the end. {@code scopes=} narrows the history to
 * some of the admin's scopes (never widens); {@code type=} keeps the events whose type starts with it. A page
 * examines at most {@value MergedTimeline#DEFAULT_MAX_EXAMINED} entries: a filter that matches little gets a page
 * with fewer than {@code limit} items, {@code "partial": true} and a {@code next} to go on from.
 */
public final class TimelineService implements HttpService {

    public static final int DEFAULT_LIMIT = 20;
    public static final int MAX_LIMIT = 100;
    private static final int MAX_READ_BODY = 4096;

    private final AdminAuth auth;
    private final ReadState reads;
    private final PreferenceStore preferences;

    public TimelineService(AdminAuth auth, ReadState reads, PreferenceStore preferences) {
        this.auth = auth;
        this.reads = reads;
        this.preferences = preferences;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::page)
                .get("/unread-count", this::unreadCount)
                .post("/read", this::read);
    }

    private void page(ServerRequest req, ServerResponse res) {
        Optional<Profile> profile = auth.profile(req, res, Limit.READS_PER_ADMIN);
        if (profile.isEmpty()) {
            return;
        }
        Set<Scope> scopes;
        Optional<TimelinePosition> before;
        int limit;
        Optional<String> type;
        boolean muted;
        try {
            scopes = Narrowing.of(profile.get().scopes(), req.query().first("scopes").orElse(""));
            before = req.query().first("before").asOptional().filter(text -> !text.isEmpty())
                    .map(text -> parsePosition("before", text));
            limit = Query.integer(req.query(), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
            type = req.query().first("type").asOptional().filter(text -> !text.isEmpty());
            muted = switch (req.query().first("muted").orElse("hide")) {
                case "hide" -> false;
                case "include" -> true;
                default -> throw new IllegalArgumentException("muted: must be hide (the default) or include");
            };
        } catch (IllegalArgumentException e) {
            Problem.badRequest(e.getMessage()).send(res);
            return;
        } catch (Narrowing.NotEntitled e) {
            Problem.forbidden(e.getMessage()).send(res);
            return;
        }
        try {
            ReadState.Marks marks = reads.marks(profile.get().adminNo());
            Predicate<io.alimi.timeline.Entry> inInbox = muted
                    ? entry -> true : preferences.of(profile.get().adminNo()).inInbox(scopes);
            Predicate<io.alimi.timeline.Entry> include = type.<Predicate<io.alimi.timeline.Entry>>map(
                    prefix -> entry -> entry.type().startsWith(prefix)).orElse(entry -> true);
            include = include.and(inInbox);
            MergedTimeline.Page page = reads.merged().page(scopes, before, Optional.empty(), limit, include,
                    MergedTimeline.DEFAULT_MAX_EXAMINED);
            send(res, body(page, marks));
        } catch (CompletionException e) {
            Problem.unavailable("the timeline store cannot be reached").send(res);
        }
    }

    private void unreadCount(ServerRequest req, ServerResponse res) {
        Optional<Profile> profile = auth.profile(req, res, Limit.READS_PER_ADMIN);
        if (profile.isEmpty()) {
            return;
        }
        try {
            send(res, unreadJson(unread(profile.get().adminNo(), profile.get().scopes())));
        } catch (CompletionException e) {
            Problem.unavailable("the timeline store cannot be reached").send(res);
        }
    }

    private void read(ServerRequest req, ServerResponse res) {
        Optional<Profile> profile = auth.profile(req, res, Limit.READ_MARKS_PER_ADMIN);
        if (profile.isEmpty()) {
            return;
        }
        Optional<JsonNode> json = RequestBody.json(req, res, MAX_READ_BODY);
        if (json.isEmpty()) {
            return;
        }
        JsonNode body = json.get();
        String adminNo = profile.get().adminNo();
        Set<Scope> entitled = profile.get().scopes();
        try {
            JsonNode upTo = body.get("upTo");
            JsonNode eventId = body.get("eventId");
            if ((upTo == null) == (eventId == null)) {
                Problem.badRequest("body: give either upTo (a position, or \"latest\") or eventId").send(res);
                return;
            }
            if (eventId != null) {
                if (!eventId.isTextual() || eventId.textValue().isEmpty() || eventId.textValue().length() > 1024) {
                    Problem.badRequest("eventId: must be a non-empty string").send(res);
                    return;
                }
                reads.markEvent(adminNo, eventId.textValue());
            } else {
                if (!upTo.isTextual()) {
                    Problem.badRequest("upTo: must be a position string or \"latest\"").send(res);
                    return;
                }
                Optional<TimelinePosition> position;
                if (upTo.textValue().equals("latest")) {
                    position = reads.newest(entitled);
                } else {
                    TimelinePosition given;
                    try {
                        given = parsePosition("upTo", upTo.textValue());
                    } catch (IllegalArgumentException e) {
                        Problem.badRequest(e.getMessage()).send(res);
                        return;
                    }
                    if (!entitled.contains(given.scope())) {
                        Problem.forbidden("upTo names scope " + given.scope() + ", which is not one of this admin's scopes").send(res);
                        return;
                    }
                    position = Optional.of(given);
                }
                position.ifPresent(p -> reads.markUpTo(adminNo, p));
            }
            send(res, unreadJson(unread(adminNo, entitled)));
        } catch (CompletionException e) {
            Problem.unavailable("the timeline store cannot be reached; the read mark may not be saved, send it again").send(res);
        }
    }

    private ReadState.Unread unread(String adminNo, Set<Scope> scopes) {
        return reads.unread(adminNo, scopes, preferences.of(adminNo).inInbox(scopes));
    }

    private static TimelinePosition parsePosition(String name, String text) {
        try {
            return TimelinePosition.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage());
        }
    }


    private static byte[] body(MergedTimeline.Page page, ReadState.Marks marks) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512 + page.items().size() * 512);
        try (JsonGenerator json = EventJson.mapper().createGenerator(out)) {
            json.writeStartObject();
            json.writeArrayFieldStart("items");
            for (MergedTimeline.Item item : page.items()) {
                json.writeStartObject();
                json.writeStringField("position", item.position().toString());
                json.writeStringField("scope", item.position().scope().toString());
                json.writeBooleanField("read", marks.isRead(item.position(), item.entry().eventId()));
                json.writeFieldName("event");
                // Stored envelopes are validated, single-line JSON: embedded as they are.
                json.writeRawValue(item.entry().jsonText());
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeStringField("next", page.next().map(TimelinePosition::toString).orElse(null));
            if (page.partial()) {
                // A filter that matched little: the page stopped at the bound on entries examined; next goes on.
                json.writeBooleanField("partial", true);
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static byte[] unreadJson(ReadState.Unread unread) {
        return EventJson.bytes(EventJson.mapper().createObjectNode()
                .put("count", unread.count())
                .put("capped", unread.capped())
                .put("text", unread.text()));
    }

    private static void send(ServerResponse res, byte[] body) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(body);
    }
}
