package io.alimi.api;

import io.alimi.http.Query;
import io.alimi.http.Problem;
import io.alimi.http.AdminAuth;
import com.fasterxml.jackson.core.JsonGenerator;
import io.alimi.auth.Profile;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;
import io.alimi.event.Text;
import io.alimi.timeline.Entry;
import io.alimi.timeline.StreamBounds;
import io.alimi.timeline.StreamId;
import io.alimi.timeline.Timeline;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@code GET /v1/scopes/{scope}/events}: one scope's timeline, for an admin entitled to that scope.
 *
 * <pre>
 * curl -s http://localhost:8080/v1/scopes/mall:1/events?limit=20 -H 'Authorization: Bearer dev-admin-42-token'
 * curl -s 'http://localhost:8080/v1/scopes/mall:1/events?before=1732500000000-0'   # the next (older) page
 * curl -s 'http://localhost:8080/v1/scopes/mall:1/events?after=1732500000000-0'    # what came since, oldest first
 * </pre>
 *
 * Without {@code after} the page is newest first and {@code next} is the {@code before} of the following page;
 * with {@code after} it is oldest first. The reply also carries the stream's epoch, length and first and last
 * entry ids, so a client can tell when a position has fallen out of retention.
 */
public final class ScopeEventsService implements HttpService {

    public static final int DEFAULT_LIMIT = 50;
    public static final int MAX_LIMIT = 500;

    private final AdminAuth auth;
    private final Timeline timeline;

    public ScopeEventsService(AdminAuth auth, Timeline timeline) {
        this.auth = auth;
        this.timeline = timeline;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/{scope}/events", this::events);
    }

    private void events(ServerRequest req, ServerResponse res) {
        Optional<Profile> profile = auth.profile(req, res, io.alimi.limit.Limit.READS_PER_ADMIN);
        if (profile.isEmpty()) {
            return;
        }
        Scope scope;
        StreamId before;
        StreamId after;
        int limit;
        try {
            scope = scopeParameter(req.path().pathParameters().get("scope"));
            before = streamId(req, "before");
            after = streamId(req, "after");
            limit = Query.integer(req.query(), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
            if (before != null && after != null) {
                throw new IllegalArgumentException("use either before or after, not both");
            }
        } catch (IllegalArgumentException e) {
            Problem.badRequest(e.getMessage()).send(res);
            return;
        }
        if (!profile.get().scopes().contains(scope)) {
            Problem.forbidden("scope " + scope + " is not one of this admin's scopes").send(res);
            return;
        }
        CompletableFuture<List<Entry>> page = after != null
                ? timeline.readAfter(scope, after, limit)
                : timeline.readBefore(scope, before, limit);
        CompletableFuture<StreamBounds> bounds = timeline.bounds(scope);
        try {
            byte[] body = body(scope, bounds.join(), page.join(), after == null, limit);
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            res.header(HeaderNames.CACHE_CONTROL, "no-store");
            res.send(body);
        } catch (CompletionException e) {
            Problem.unavailable("the timeline store cannot be reached").send(res);
        }
    }

    private static byte[] body(Scope scope, StreamBounds bounds, List<Entry> entries, boolean newestFirst, int limit) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024 + entries.size() * 512);
        try (JsonGenerator json = EventJson.mapper().createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("scope", scope.toString());
            json.writeStringField("epoch", bounds.epoch().orElse(null));
            json.writeNumberField("length", bounds.length());
            json.writeStringField("first", bounds.first().map(StreamId::toString).orElse(null));
            json.writeStringField("last", bounds.last().map(StreamId::toString).orElse(null));
            json.writeArrayFieldStart("events");
            for (Entry entry : entries) {
                json.writeStartObject();
                json.writeStringField("entry", entry.id().toString());
                json.writeFieldName("event");
                // Stored envelopes are validated, single-line JSON: embedded as they are.
                json.writeRawValue(entry.jsonText());
                json.writeEndObject();
            }
            json.writeEndArray();
            boolean more = newestFirst && entries.size() == limit;
            json.writeStringField("next", more ? entries.get(entries.size() - 1).id().toString() : null);
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static Scope scopeParameter(String text) {
        try {
            return Scope.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("scope: " + e.getMessage());
        }
    }

    private static StreamId streamId(ServerRequest req, String name) {
        Optional<String> value = req.query().first(name).asOptional();
        if (value.isEmpty()) {
            return null;
        }
        try {
            return StreamId.parse(value.get());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": '" + Text.quote(value.get()) + "' is not an entry id like 1732500000000-0");
        }
    }


}
