package io.alimi.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.auth.Profile;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;
import io.alimi.http.AdminAuth;
import io.alimi.http.Problem;
import io.alimi.http.RequestBody;
import io.alimi.inbox.Channel;
import io.alimi.inbox.Mute;
import io.alimi.inbox.PreferenceStore;
import io.alimi.inbox.Preferences;
import io.alimi.inbox.TypePattern;
import io.alimi.limit.Limit;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;

/**
 * What an admin does not want to be told of, and where.
 *
 * <pre>
 * GET    /v1/preferences    {"mutes":[…],"saved":true,"critical":["fds.alert.raised"]}
 * PUT    /v1/preferences    {"mutes":[{"type":"product.qna.created","scope":"mall:3","channels":["live","push"]}]}
 * DELETE /v1/preferences    back to the operator's defaults
 * </pre>
 *
 * A change applies on every node at once: live streams, timeline, unread count, push.
 */
public final class PreferencesService implements HttpService {

    private static final int MAX_BODY = 64 * 1024;

    private final AdminAuth auth;
    private final PreferenceStore store;

    public PreferencesService(AdminAuth auth, PreferenceStore store) {
        this.auth = auth;
        this.store = store;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::get)
                .put("/", this::put)
                .delete("/", this::delete);
    }

    private void get(ServerRequest req, ServerResponse res) {
        Optional<Profile> profile = auth.profile(req, res, Limit.READS_PER_ADMIN);
        if (profile.isEmpty()) {
            return;
        }
        try {
            send(res, store.of(profile.get().adminNo()), profile.get().scopes());
        } catch (CompletionException e) {
            Problem.unavailable("the preferences store cannot be reached").send(res);
        }
    }

    private void put(ServerRequest req, ServerResponse res) {
        Optional<Profile> profile = auth.profile(req, res, Limit.PREFERENCE_WRITES_PER_ADMIN);
        if (profile.isEmpty()) {
            return;
        }
        Optional<JsonNode> json = RequestBody.json(req, res, MAX_BODY);
        if (json.isEmpty()) {
            return;
        }
        List<Mute> mutes;
        try {
            mutes = mutes(json.get(), profile.get().scopes());
        } catch (Refused refused) {
            refused.problem.send(res);
            return;
        }
        try {
            send(res, store.save(profile.get().adminNo(), mutes), profile.get().scopes());
        } catch (CompletionException e) {
            Problem.unavailable("the preferences store cannot be reached; they may not be saved, send them again").send(res);
        }
    }

    private void delete(ServerRequest req, ServerResponse res) {
        Optional<Profile> profile = auth.profile(req, res, Limit.PREFERENCE_WRITES_PER_ADMIN);
        if (profile.isEmpty()) {
            return;
        }
        try {
            send(res, store.reset(profile.get().adminNo()), profile.get().scopes());
        } catch (CompletionException e) {
            Problem.unavailable("the preferences store cannot be reached; send the request again").send(res);
        }
    }

    /** A request that cannot be taken, and the problem saying why. */
    private static final class Refused extends Exception {
        final Problem problem;

        Refused(Problem problem) {
            super(problem.detail(), null, false, false);
            this.problem = problem;
        }
    }

    /** The body's mutes, each checked: well formed, not a critical type alone, in a scope of the admin's, once. */
    private List<Mute> mutes(JsonNode body, Set<Scope> entitled) throws Refused {
        if (!body.isObject()) {
            throw new Refused(Problem.badRequest("body: must be an object, {\"mutes\": [...]}"));
        }
        for (var names = body.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!name.equals("mutes")) {
                throw new Refused(Problem.badRequest(name + ": unknown member (the body is {\"mutes\": [...]})"));
            }
        }
        JsonNode list = body.get("mutes");
        if (list == null || !list.isArray()) {
            throw new Refused(Problem.badRequest("mutes: must be an array (empty to mute nothing)"));
        }
        if (list.size() > Preferences.MAX_MUTES) {
            throw new Refused(Problem.badRequest("mutes: at most " + Preferences.MAX_MUTES + " per admin, got " + list.size()));
        }
        List<Mute> mutes = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "mutes[" + i + "]";
            Mute mute;
            try {
                mute = Mute.fromJson(list.get(i));
            } catch (IllegalArgumentException e) {
                throw new Refused(Problem.badRequest(at + e.getMessage().replaceFirst("^(?![.:])", ": ")));
            }
            Optional<String> refusal = store.policy().refusal(mute);
            if (refusal.isPresent()) {
                throw new Refused(Problem.badRequest(at + ".type: " + refusal.get()));
            }
            if (mute.scope().isPresent() && !entitled.contains(mute.scope().get())) {
                throw new Refused(Problem.forbidden(at + ".scope: " + mute.scope().get()
                        + " is not one of this admin's scopes"));
            }
            for (int j = 0; j < mutes.size(); j++) {
                Mute earlier = mutes.get(j);
                if (earlier.sameSubject(mute)) {
                    throw new Refused(Problem.badRequest(at + ": the same type and scope as mutes[" + j
                            + "]; give their channels together"));
                }
            }
            mutes.add(mute);
        }
        return mutes;
    }

    /**
     * The preferences as an admin sees them: mutes of scopes the admin has lost since are left out (they match
     * nothing now), so that what a page reads it can send back unchanged.
     */
    static ObjectNode json(Preferences preferences, Set<Scope> entitled) {
        ObjectNode json = EventJson.mapper().createObjectNode();
        ArrayNode mutes = json.putArray("mutes");
        for (Mute mute : preferences.mutes()) {
            if (mute.scope().isEmpty() || entitled.contains(mute.scope().get())) {
                mutes.add(mute.toJson());
            }
        }
        json.put("saved", preferences.saved());
        ArrayNode critical = json.putArray("critical");
        for (TypePattern pattern : preferences.policy().critical()) {
            critical.add(pattern.text());
        }
        ArrayNode channels = json.putArray("channels");
        for (Channel channel : Channel.values()) {
            channels.add(channel.label());
        }
        return json;
    }

    private static void send(ServerResponse res, Preferences preferences, Set<Scope> entitled) {
        res.status(Status.OK_200);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(EventJson.bytes(json(preferences, entitled)));
    }
}
