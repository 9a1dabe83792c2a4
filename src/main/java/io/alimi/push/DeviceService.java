package io.alimi.push;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.http.AdminAuth;
import io.alimi.http.Problem;
import io.alimi.http.RequestBody;
import io.alimi.limit.Limit;
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
import java.util.Set;
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
 * A token already registered to another admin moves to this one. At registration the admin joins the push
 * audience of their broad scopes (their malls, their partner, everyone) for a lease renewed whenever they are seen
 * ({@link PushAudience}): pushes to those scopes are sent to each device of the audience, never to FCM topics.
 * A device registered, moved or signed out is taken out of any FCM topic it is subscribed to (older versions
 * subscribed devices to {@code mall-<id>} and the like; nothing is sent to topics now).
 */
public final class DeviceService implements HttpService {

    private static final Logger LOG = Logger.getLogger(DeviceService.class.getName());
    static final int MAX_TOKEN_LENGTH = 4096;
    private static final List<String> PLATFORMS = List.of("android", "ios", "web");

    /** Takes a device out of every FCM topic it is subscribed to. */
    @FunctionalInterface
    public interface Topics {
        /** @return the topics it was taken out of */
        List<String> unsubscribeAll(String token) throws Exception;

        Topics NONE = token -> List.of();
    }

    private final AdminAuth auth;
    private final Devices devices;
    private final PushAudience audience;
    private final Topics topics;

    public DeviceService(AdminAuth auth, Devices devices, PushAudience audience, Topics topics) {
        this.auth = auth;
        this.devices = devices;
        this.audience = audience;
        this.topics = topics;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/", this::register)
                .get("/", this::list)
                .delete("/{token}", this::remove);
    }

    private void register(ServerRequest req, ServerResponse res) {
        Optional<Profile> admin = auth.profile(req, res, Limit.DEVICE_WRITES_PER_ADMIN);
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
        Set<String> pushes;
        try {
            Devices.Registered registered = devices.register(admin.get().adminNo(),
                    new Devices.Device(token, platform, appVersion, Instant.now()));
            registered.movedFrom().ifPresent(previous -> LOG.info(() -> "a device moved from admin " + previous
                    + " to admin " + admin.get().adminNo()));
            pushes = audience.enroll(admin.get().adminNo(), admin.get().scopes());
            registered.evicted().forEach(this::leaveTopics);
        } catch (CompletionException e) {
            Problem.unavailable("devices cannot be stored right now; retry").send(res);
            return;
        }
        leaveTopics(token);
        ObjectNode reply = EventJson.mapper().createObjectNode().put("platform", platform).put("appVersion", appVersion);
        ArrayNode list = reply.putArray("pushes");
        list.add(Scope.admin(admin.get().adminNo()).toString());
        pushes.forEach(list::add);
        res.status(Status.CREATED_201);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(EventJson.bytes(reply));
    }

    /** Out of every FCM topic: pushes to topics could reach it whatever its admin is entitled to now. */
    private void leaveTopics(String token) {
        try {
            List<String> left = topics.unsubscribeAll(token);
            if (!left.isEmpty()) {
                LOG.info(() -> "a device was taken out of " + left.size() + " FCM topics");
            }
        } catch (Exception e) {
            LOG.log(Level.WARNING, "a device could not be taken out of its FCM topics ({0}); Alimi sends nothing "
                    + "to topics, so only pushes sent to them by others could still reach it", e.getClass().getSimpleName());
        }
    }

    private void list(ServerRequest req, ServerResponse res) {
        Optional<Profile> admin = auth.profile(req, res, Limit.READS_PER_ADMIN);
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
        Optional<Profile> admin = auth.profile(req, res, Limit.DEVICE_WRITES_PER_ADMIN);
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
        leaveTopics(token);
        res.status(Status.NO_CONTENT_204);
        res.send();
    }

    static boolean validToken(String token) {
        return !token.isEmpty() && token.length() <= MAX_TOKEN_LENGTH && token.matches("[A-Za-z0-9_:.-]+");
    }
}
