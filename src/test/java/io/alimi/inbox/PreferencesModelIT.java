package io.alimi.inbox;

import com.fasterxml.jackson.databind.JsonNode;
import io.alimi.Main;
import io.alimi.support.Closer;
import io.alimi.support.Http;
import io.alimi.support.Publisher;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generated histories of an admin changing their preferences between page loads while events arrive (some while no
 * page is open, replayed on resume, some live), checked against an oracle written from the documented rule, not from
 * the code: an event is muted on a channel when it is not of a critical type and, through every one of its targets
 * the admin follows, some mute covers its type in that scope on that channel (inbox covering live too). The stream
 * must hand out exactly the events not muted in the inbox, once each, quiet exactly when muted on live; the
 * timeline's inbox list must hold exactly the events not muted in the inbox under the preferences in force.
 */
class PreferencesModelIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final List<String> TYPES = List.of("order.created", "claim.requested", "product.qna.created",
            "product.approval.completed", "notice.published", "fds.alert.raised");
    private static final List<String> PATTERNS = List.of("order.created", "claim.requested", "product.qna.created",
            "product.*", "notice.published", "fds.*");
    /** Admin 42's scopes, and two that are not theirs. */
    private static final List<String> FOLLOWED = List.of("all", "admin:42", "mall:1", "partner:7");
    private static final List<String> SCOPES = List.of("all", "admin:42", "mall:1", "partner:7", "mall:2", "admin:77");
    private static final List<String> CHANNELS = List.of("live", "inbox", "push");

    @RegisterExtension
    final Closer closer = new Closer();

    record Rule(String type, String scope, Set<String> channels) {
        boolean covers(String channel, String eventType, String through) {
            boolean typeMatches = type == null || (type.endsWith(".*")
                    ? eventType.startsWith(type.substring(0, type.length() - 1)) : type.equals(eventType));
            return typeMatches && (scope == null || scope.equals(through))
                    && (channels.contains(channel) || channel.equals("live") && channels.contains("inbox"));
        }

        String json() {
            StringBuilder json = new StringBuilder("{");
            if (type != null) {
                json.append("\"type\":\"").append(type).append("\",");
            }
            if (scope != null) {
                json.append("\"scope\":\"").append(scope).append("\",");
            }
            json.append("\"channels\":[").append(String.join(",", channels.stream().map(c -> "\"" + c + "\"").sorted().toList())).append("]}");
            return json.toString();
        }
    }

    record Sent(String id, String type, List<String> targets) {
    }

    /** The oracle: muted on {@code channel} under {@code rules}. */
    static boolean muted(List<Rule> rules, String channel, Sent event) {
        if (event.type().startsWith("fds.alert.raised")) {
            return false;
        }
        List<String> through = event.targets().stream().filter(FOLLOWED::contains).toList();
        if (through.isEmpty()) {
            return false;
        }
        for (String scope : through) {
            if (rules.stream().noneMatch(rule -> rule.covers(channel, event.type(), scope))) {
                return false;
            }
        }
        return true;
    }

    @Test
    void generatedHistoriesOfMutesAndReconnectsHandOutWhatTheRuleSays() {
        // Up to 24 changes within seconds: more than an admin's burst of preference writes, which is not what is tested.
        Main.Running node = closer.add(TestNode.start(Map.of("alimi.redis.key-prefix", TestServers.uniquePrefix(),
                "alimi.limits.preference-writes-per-admin", "off")));
        Publisher publisher = new Publisher(node.port());
        long seed = Long.getLong("alimi.model.seed", System.nanoTime());
        Random random = new Random(seed);
        String about = "seed " + seed + " (-Dalimi.model.seed to replay)";
        Map<String, Sent> everSent = new LinkedHashMap<>();
        List<Rule> rules = List.of();
        int shown = 0;
        int quiet = 0;
        int hidden = 0;
        for (int history = 0; history < 4; history++) {
            String cursor = null;
            int sessions = 3 + random.nextInt(4);
            for (int session = 0; session < sessions; session++) {
                rules = rules(random);
                Http.Reply saved = new Http(node.port()).put("/v1/preferences", "application/json",
                        "{\"mutes\":[" + String.join(",", rules.stream().map(Rule::json).toList()) + "]}",
                        "Authorization", "Bearer " + TestNode.ADMIN_42);
                assertEquals(200, saved.status(), saved.body());
                List<Sent> sent = new ArrayList<>();
                String tag = "h" + history + "s" + session;
                if (cursor != null) {
                    // Published while no page is open: replayed when the next page resumes, under its preferences.
                    sent.addAll(publish(publisher, random, tag + "-off", 1 + random.nextInt(10)));
                }
                SseClient sse = SseClient.connect(node.port(), TestNode.ADMIN_42, "", cursor);
                try {
                    assertEquals("ready", sse.next(WAIT).type(), about);
                    sent.addAll(publish(publisher, random, tag + "-on", 1 + random.nextInt(12)));
                    String sentinel = tag + "-end";
                    publisher.publishJson(PreferencesIT.event(sentinel, "fds.alert.raised", "admin:42"));
                    Map<String, Boolean> got = new HashMap<>();
                    while (true) {
                        SseClient.Event frame = sse.nextExcept(WAIT, "unread");
                        String id = frame.json().path("id").asText();
                        if (id.equals(sentinel)) {
                            break;
                        }
                        assertTrue(got.put(id, frame.type().equals("alimi.quiet")) == null, id + " twice; " + about);
                    }
                    cursor = sse.lastEventId();
                    Map<String, Boolean> expected = new HashMap<>();
                    for (Sent event : sent) {
                        everSent.put(event.id(), event);
                        if (event.targets().stream().noneMatch(FOLLOWED::contains)) {
                            continue;
                        }
                        if (muted(rules, "inbox", event)) {
                            hidden++;
                            continue;
                        }
                        boolean isQuiet = muted(rules, "live", event);
                        expected.put(event.id(), isQuiet);
                        if (isQuiet) {
                            quiet++;
                        } else {
                            shown++;
                        }
                    }
                    assertEquals(expected, got, "handed out (id → quiet) under " + rules + "; " + about);
                } finally {
                    sse.close();
                }
            }
            // The inbox list under the preferences in force, all of it, page by page.
            Set<String> listed = new HashSet<>();
            String before = "";
            do {
                JsonNode page = new Http(node.port()).get("/v1/timeline?limit=100" + (before.isEmpty() ? "" : "&before=" + before),
                        "Authorization", "Bearer " + TestNode.ADMIN_42).json();
                page.get("items").forEach(item -> listed.add(item.get("event").get("id").asText()));
                before = page.get("next").isNull() ? "" : page.get("next").asText();
            } while (!before.isEmpty());
            Set<String> inInbox = new HashSet<>();
            for (Sent event : everSent.values()) {
                if (event != null && event.targets().stream().anyMatch(FOLLOWED::contains) && !muted(rules, "inbox", event)) {
                    inInbox.add(event.id());
                }
            }
            listed.removeIf(id -> id.endsWith("-end"));
            assertEquals(inInbox, listed, "the inbox list under " + rules + "; " + about);
        }
        assertTrue(shown > 0 && quiet > 0 && hidden > 0, "the histories tried every verdict: shown " + shown
                + ", quiet " + quiet + ", hidden " + hidden + "; " + about);
    }

    private static List<Rule> rules(Random random) {
        List<Rule> rules = new ArrayList<>();
        Set<String> subjects = new HashSet<>();
        int n = random.nextInt(5);
        while (rules.size() < n) {
            String type = random.nextInt(3) == 0 ? null : PATTERNS.get(random.nextInt(PATTERNS.size()));
            String scope = random.nextInt(2) == 0 ? null : FOLLOWED.get(random.nextInt(FOLLOWED.size()));
            if (type == null && scope == null || "fds.*".equals(type) && random.nextBoolean()) {
                // fds.* is allowed (it names more than the critical type), not on every try
                continue;
            }
            Set<String> channels = new HashSet<>();
            while (channels.isEmpty()) {
                for (String channel : CHANNELS) {
                    if (random.nextInt(3) == 0) {
                        channels.add(channel);
                    }
                }
            }
            if (subjects.add(type + "@" + scope)) {
                rules.add(new Rule(type, scope, channels));
            }
        }
        return rules;
    }

    private static List<Sent> publish(Publisher publisher, Random random, String tag, int n) {
        List<Sent> sent = new ArrayList<>();
        List<String> json = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String type = TYPES.get(random.nextInt(TYPES.size()));
            List<String> targets = new ArrayList<>();
            int k = 1 + random.nextInt(3);
            while (targets.size() < k) {
                String scope = SCOPES.get(random.nextInt(SCOPES.size()));
                if (!targets.contains(scope)) {
                    targets.add(scope);
                }
            }
            Sent event = new Sent(tag + "-" + i, type, targets);
            sent.add(event);
            json.add(PreferencesIT.event(event.id(), type, String.join(",", targets)));
        }
        publisher.publishAll(json);
        return sent;
    }
}
