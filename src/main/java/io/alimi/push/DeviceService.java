package io.alimi.push;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.api.AdminAuth;
import io.alimi.api.Problem;
import io.alimi.api.RequestBody;
import io.alimi.auth.Identities;
import io.alimi.auth.Profile;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The signed-in admin's phones.
 *
 * <pre>
 * POST   /v1/devices           {"token": "&lt;FCM registration token&gt;", "platform": "android", "appVersion": "3.2.0"}
 * GET    /v1/devices           the admin's devices
 * DELETE /v1/devices/{token}   sign a device out
 * </pre>
 *
 * A token already registered to another admin moves to this one. At registration the device is subscribed to the
 * FCM topics of the admin's broad scopes (their malls, their partner, everyone), which is how pushes to those
 * scopes reach it.
 */
public final class DeviceService implements HttpService {

    private static final Logger LOG = Logger.getLogger(DeviceService.class.getName());
    static final int MAX_TOKEN_LENGTH = 4096;
    private static final List<String> PLATFORMS = List.of("android", "ios", "web");

    /** Subscribes a device to FCM topics. */
    @FunctionalInterface
    public interface Topics {
        void subscribe(String token, List<String> topics) throws Exception;

        Topics NONE = (token, topics) -> { };
    }

    private final Identities identities;
    private final Devices devices;
    private final Topics topics;

    public DeviceService(Identities identities, Devices devices, Topics topics) {
        this.identities = identities;
        this.devices = devices;
        this.topics = topics;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/", this::register)
                .get("/", this::list)
                .delete("/{token}", this::remove);
    }

    /** The FCM topic standing for a broad scope: {@code all}, {@code mall-1}, {@code partner-7}. */
    public static Optional<String> topic(Scope scope) {
        return switch (scope.kind()) {
            case ALL -> Optional.of("all");
            case MALL -> Optional.of("mall-" + scope.id());
            case PARTNER -> Optional.of("partner-" + scope.id());
            case ADMIN -> Optional.empty();
        };
    }

    private void register(ServerRequest req, ServerResponse res) {
        Optional<Profile> admin = AdminAuth.profile(identities, req, res);
        if (admin.isEmpty()) {
            return;
        }
        Optional<JsonNode> json = RequestBody.json(req, res, 8 * 1024);
        if (json.isEmpty()) {
            return;
        }
        JsonNode body = json.get();
        String token = body.path("token").asText("");
        String platform = body.path("platform").asText("");
        String appVersion = body.path("appVersion").asText("");
        if (!validToken(token)) {
            Problem.badRequest("token: must be an FCM registration token (1 to " + MAX_TOKEN_LENGTH
                    + " characters of A-Z a-z 0-9 _ - : .)").send(res);
            return;
        }
        if (!PLATFORMS.contains(platform)) {
            Problem.badRequest("platform: must be one of " + PLATFORMS).send(res);
            return;
        }
        if (appVersion.length() > 64 || !appVersion.matches("[A-Za-z0-9._+-]*")) {
            Problem.badRequest("appVersion: at most 64 characters of A-Z a-z 0-9 . _ + -").send(res);
            return;
        }
        List<String> subscribed = admin.get().scopes().stream().map(DeviceService::topic).flatMap(Optional::stream).toList();
        try {
            Optional<String> movedFrom = devices.register(admin.get().adminNo(),
                    new Devices.Device(token, platform, appVersion, Instant.now()));
            movedFrom.ifPresent(previous -> LOG.info(() -> "a device moved from admin " + previous + " to admin "
                    + admin.get().adminNo()));
        } catch (CompletionException e) {
            Problem.unavailable("devices cannot be stored right now; retry").send(res);
            return;
        }
        try {
            topics.subscribe(token, subscribed);
        } catch (Exception e) {
            LOG.log(Level.WARNING, "a device could not be subscribed to its topics ({0}); pushes to its admin still "
                    + "reach it, pushes to its malls will once it registers again", e.getClass().getSimpleName());
        }
        ObjectNode reply = EventJson.mapper().createObjectNode().put("platform", platform).put("appVersion", appVersion);
        ArrayNode list = reply.putArray("topics");
        subscribed.forEach(list::add);
        res.status(Status.CREATED_201);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(EventJson.bytes(reply));
    }

    private void list(ServerRequest req, ServerResponse res) {
        Optional<Profile> admin = AdminAuth.profile(identities, req, res);
        if (admin.isEmpty()) {
            return;
        }
        Map<String, Devices.Device> mine;
        try {
            mine = devices.of(admin.get().adminNo());
        } catch (CompletionException e) {
            Problem.unavailable("devices cannot be read right now; retry").send(res);
            return;
        }
        ObjectNode reply = EventJson.mapper().createObjectNode();
        ArrayNode list = reply.putArray("devices");
        mine.values().forEach(device -> list.addObject()
                .put("token", device.token())
                .put("platform", device.platform())
                .put("appVersion", device.appVersion())
                .put("registeredAt", device.registeredAt().toString()));
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(EventJson.bytes(reply));
    }

    private void remove(ServerRequest req, ServerResponse res) {
        Optional<Profile> admin = AdminAuth.profile(identities, req, res);
        if (admin.isEmpty()) {
            return;
        }
        String token = req.path().pathParameters().get("token");
        try {
            if (!validToken(token) || !devices.remove(admin.get().adminNo(), token)) {
                Problem.of(Status.NOT_FOUND_404, "not-found", "Not found", "no such device for this admin").send(res);
                return;
            }
        } catch (CompletionException e) {
            Problem.unavailable("devices cannot be changed right now; retry").send(res);
            return;
        }
        res.status(Status.NO_CONTENT_204);
        res.send();
    }

    static boolean validToken(String token) {
        return !token.isEmpty() && token.length() <= MAX_TOKEN_LENGTH && token.matches("[A-Za-z0-9_:.-]+");
    }
}
