package io.alimi.push;

import java.nio.file.Path;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.event.EventJson;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;

/**
 * FCM HTTP v1: sends one message to a device token; and takes a device out of every FCM topic it is subscribed to
 * (Instance ID {@code info} and {@code batchRemove}: Alimi once sent broad scopes' pushes to topics, and sends
 * nothing to topics now). Base URLs are settings, so tests (and proxies) can stand in for Google's.
 */
public final class FcmClient implements DeviceService.Topics {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where a message goes: a device token. */
    public record Destination(String token) {
        public static Destination device(String token) {
            return new Destination(token);
        }

        /** {@code token:<token>}: how it is remembered as sent. */
        public String key() {
            return "token:" + token;
        }
    }

    /** What one send came to. */
    public sealed interface Outcome {
        record Sent() implements Outcome {
        }

        /** Try again, not before {@code after} (FCM's Retry-After, when it said). */
        record Retry(Optional<Duration> after, String why) implements Outcome {
        }

        /** The device token is unregistered or invalid: forget it. */
        record Gone(String why) implements Outcome {
        }

        /** Will not succeed by retrying. */
        record Failed(String why) implements Outcome {
        }
    }

    /**
     * @param fcmBase   {@code https://fcm.googleapis.com}
     * @param iidBase   {@code https://iid.googleapis.com}
     * @param projectId the Firebase project
     */
    public record Settings(URI fcmBase, URI iidBase, String projectId, Duration timeout) {
    }

    private final Settings settings;
    private final AccessTokens tokens;
    private final HttpClient http;

    /** A client for the credentials of {@code alimi.push.fcm.credentials-file}, if set ({@code alimi.push.fcm.*}). */
    public static Optional<FcmClient> from(io.alimi.config.Settings settings) {
        Optional<String> file = settings.optionalString("alimi.push.fcm.credentials-file");
        if (file.isEmpty()) {
            return Optional.empty();
        }
        ServiceAccount account;
        try {
            account = ServiceAccount.load(Path.of(file.get()));
        } catch (IOException | IllegalArgumentException e) {
            throw new io.alimi.config.SettingsException("alimi.push.fcm.credentials-file", e.getMessage());
        }
        String project = settings.optionalString("alimi.push.fcm.project-id").orElse(account.projectId());
        if (project.isEmpty()) {
            throw new io.alimi.config.SettingsException("alimi.push.fcm.project-id", "not set, and the credentials file names no project_id");
        }
        try {
            return Optional.of(new FcmClient(new Settings(
                    java.net.URI.create(settings.string("alimi.push.fcm.base-url", "https://fcm.googleapis.com")),
                    java.net.URI.create(settings.string("alimi.push.fcm.iid-base-url", "https://iid.googleapis.com")),
                    project,
                    settings.duration("alimi.push.fcm.timeout", Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofMinutes(2))),
                    account));
        } catch (IllegalArgumentException e) {
            throw new io.alimi.config.SettingsException("alimi.push.fcm.base-url", e.getMessage());
        }
    }

    public FcmClient(Settings settings, ServiceAccount account) {
        this.settings = settings;
        this.http = HttpClient.newBuilder().connectTimeout(settings.timeout())
                .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        this.tokens = new AccessTokens(account, http, settings.timeout(), java.time.Clock.systemUTC());
    }

    /** The FCM message for an event envelope: a notification and the event's identity as data (strings only). */
    /**
     * The FCM message for one device: what a locked phone's lock screen may show (the event's type as title, its
     * subject as body) and what the app needs to open it (event id, type, time), nothing more: no targets, no
     * source, no data.
     */
    public static ObjectNode message(JsonNode event, Destination destination) {
        ObjectNode message = EventJson.mapper().createObjectNode();
        ObjectNode body = message.putObject("message");
        body.put("token", destination.token());
        String type = event.path("type").asText("");
        body.putObject("notification")
                .put("title", type)
                .put("body", event.path("subject").asText(type));
        ObjectNode data = body.putObject("data");
        for (String field : List.of("id", "type", "time")) {
            if (event.hasNonNull(field)) {
                data.put(field.equals("id") ? "eventId" : field, event.get(field).asText());
            }
        }
        return message;
    }

    public Outcome send(ObjectNode message, Destination destination) throws InterruptedException {
        HttpResponse<byte[]> response;
        try {
            HttpRequest request = HttpRequest.newBuilder(settings.fcmBase().resolve("/v1/projects/" + settings.projectId() + "/messages:send"))
                    .timeout(settings.timeout())
                    .header("Authorization", "Bearer " + tokens.get())
                    .header("Content-Type", "application/json; charset=UTF-8")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(EventJson.bytes(message)))
                    .build();
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            return new Outcome.Retry(Optional.empty(), "FCM cannot be reached (" + e.getClass().getSimpleName() + ")");
        }
        int status = response.statusCode();
        if (status == 200) {
            return new Outcome.Sent();
        }
        String code = errorCode(response.body());
        if (status == 401) {
            tokens.invalidate();
            return new Outcome.Retry(Optional.empty(), "FCM refused the access token");
        }
        if (status == 429 || status >= 500) {
            return new Outcome.Retry(retryAfter(response), "FCM answered " + status + (code.isEmpty() ? "" : " " + code));
        }
        if (destination.token() != null && (code.equals("UNREGISTERED") || code.equals("INVALID_ARGUMENT")
                || status == 404)) {
            return new Outcome.Gone("FCM answered " + status + " " + code);
        }
        return new Outcome.Failed("FCM answered " + status + (code.isEmpty() ? "" : " " + code));
    }

    /**
     * Takes {@code token} out of every topic it is subscribed to; returns those topics. The Instance ID service
     * lists them ({@code GET /iid/info/<token>?details=true}), then one {@code batchRemove} per topic.
     */
    @Override
    public List<String> unsubscribeAll(String token) throws Exception {
        // Registration tokens are A-Z a-z 0-9 _ : . - (checked at registration): safe in a path as they are.
        HttpRequest info = HttpRequest.newBuilder(settings.iidBase().resolve("/iid/info/" + token + "?details=true"))
                .timeout(settings.timeout())
                .header("Authorization", "Bearer " + tokens.get())
                .header("access_token_auth", "true")
                .GET()
                .build();
        HttpResponse<byte[]> listed = http.send(info, HttpResponse.BodyHandlers.ofByteArray());
        if (listed.statusCode() == 404 || listed.statusCode() == 400) {
            return List.of();   // a token the service does not know: subscribed to nothing
        }
        if (listed.statusCode() != 200) {
            throw new IOException("Instance ID info answered HTTP " + listed.statusCode());
        }
        List<String> topics = new java.util.ArrayList<>();
        JSON.readTree(listed.body()).path("rel").path("topics").fieldNames().forEachRemaining(topics::add);
        for (String topic : topics) {
            HttpRequest request = HttpRequest.newBuilder(settings.iidBase().resolve("/iid/v1:batchRemove"))
                    .timeout(settings.timeout())
                    .header("Authorization", "Bearer " + tokens.get())
                    .header("access_token_auth", "true")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(EventJson.bytes(EventJson.mapper().createObjectNode()
                            .put("to", "/topics/" + topic)
                            .set("registration_tokens", EventJson.mapper().createArrayNode().add(token)))))
                    .build();
            HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
            if (response.statusCode() != 200) {
                throw new IOException("topic unsubscription answered HTTP " + response.statusCode());
            }
        }
        return topics;
    }

    /** FCM's errorCode (UNREGISTERED, QUOTA_EXCEEDED, …), else the error status, else empty. */
    private static String errorCode(byte[] body) {
        try {
            JsonNode error = JSON.readTree(body).path("error");
            for (JsonNode detail : error.path("details")) {
                if (detail.hasNonNull("errorCode")) {
                    return detail.get("errorCode").asText();
                }
            }
            return error.path("status").asText("");
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static Optional<Duration> retryAfter(HttpResponse<?> response) {
        Optional<String> header = response.headers().firstValue("Retry-After");
        if (header.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(header.get().strip()))));
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(header.get().strip(), DateTimeFormatter.RFC_1123_DATE_TIME);
                return Optional.of(Duration.between(java.time.Instant.now(), at.toInstant()).isNegative()
                        ? Duration.ZERO : Duration.between(java.time.Instant.now(), at.toInstant()));
            } catch (RuntimeException unreadable) {
                return Optional.empty();
            }
        }
    }
}
