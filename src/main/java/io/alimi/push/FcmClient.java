package io.alimi.push;

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
 * FCM HTTP v1: sends one message to a device token or a topic, and subscribes devices to topics (Instance ID
 * {@code batchAdd}). Base URLs are settings, so tests (and proxies) can stand in for Google's.
 */
public final class FcmClient implements DeviceService.Topics {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where a message goes: a device token, or a topic. */
    public record Destination(String token, String topic) {
        public static Destination device(String token) {
            return new Destination(token, null);
        }

        public static Destination topic(String topic) {
            return new Destination(null, topic);
        }

        /** {@code token:<token>} or {@code topic:<name>}: how it is remembered as sent. */
        public String key() {
            return token != null ? "token:" + token : "topic:" + topic;
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

    public FcmClient(Settings settings, ServiceAccount account) {
        this.settings = settings;
        this.http = HttpClient.newBuilder().connectTimeout(settings.timeout())
                .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        this.tokens = new AccessTokens(account, http, settings.timeout(), java.time.Clock.systemUTC());
    }

    /** The FCM message for an event envelope: a notification and the event's identity as data (strings only). */
    public static ObjectNode message(JsonNode event, Destination destination) {
        ObjectNode message = EventJson.mapper().createObjectNode();
        ObjectNode body = message.putObject("message");
        if (destination.token() != null) {
            body.put("token", destination.token());
        } else {
            body.put("topic", destination.topic());
        }
        String type = event.path("type").asText("");
        body.putObject("notification")
                .put("title", type)
                .put("body", event.path("subject").asText(type));
        ObjectNode data = body.putObject("data");
        for (String field : List.of("id", "type", "source", "targets", "subject", "time")) {
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

    @Override
    public void subscribe(String token, List<String> topics) throws Exception {
        for (String topic : topics) {
            HttpRequest request = HttpRequest.newBuilder(settings.iidBase().resolve("/iid/v1:batchAdd"))
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
                throw new IOException("topic subscription answered HTTP " + response.statusCode());
            }
        }
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
