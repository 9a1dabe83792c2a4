package io.alimi.transport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.Main;
import io.alimi.support.AdminService;
import io.alimi.support.Http;
import io.alimi.support.SseClient;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import io.alimi.support.WsClient;
import io.alimi.timeline.StreamId;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The delivery guarantee as the oracle of generated histories, against real Redis and two relay nodes: admins
 * (one of them an operator of 1,200 malls) whose browsers connect, read a while or until they are caught up, and
 * go, each time to a random node over SSE, WebSocket or long-poll, following all their scopes or a narrower set;
 * malls granted and revoked between page loads; producers publishing to several scopes at once, retrying, picking
 * ids another producer also uses, naming types like EventSource's own, and bursts that outrun retention.
 *
 * <p>What must hold, for each browser over its whole life (one stored cursor, as alimi.js keeps it):
 * <ol>
 *   <li>no event (a source and an id) is received twice, whatever the scopes and nodes in between;</li>
 *   <li>once caught up, every event with a copy in a followed scope appended after that scope came to be followed
 *       (the time the cursor it resumed from was made, for a scope the cursor did not follow) has been received,
 *       unless a {@code gap} naming that scope covers the copy's entry;</li>
 *   <li>no event is received that has no copy in a scope the connection follows;</li>
 *   <li>scopes the cursor followed that the admin lost are named in a {@code revoked} message, exactly those;</li>
 *   <li>gaps name only scopes retention could have trimmed; two producers' events with the same id are two events,
 *       a retried one is the same; no CloudEvent is ever sent under a name EventSource or Alimi uses itself.</li>
 * </ol>
 * jqwik shrinks a failing history to a short one; the seed is printed to replay it.
 */
class ResumeModelIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_LENGTH = 12;
    private static final int SMALL_MALLS = 4;
    private static final int WIDE_MALLS = 1_200;
    private static final Duration CAUGHT_UP = Duration.ofSeconds(20);
    private static final Duration QUIET = Duration.ofMillis(150);
    private static final List<String> SOURCES = List.of("/orders", "/claims");
    private static final List<String> TYPES = List.of("order.created", "order.created", "error", "message", "open", "state");
    private static final Set<String> ALIMI_NAMES = Set.of("ready", "gap", "reconnect", "unread", "error", "open");
    private static final AtomicInteger TRIES = new AtomicInteger();

    private static AdminService admin;
    private static List<Main.Running> nodes;

    @BeforeContainer
    static void start() {
        admin = new AdminService();
        Map<String, String> shared = Map.of(
                "alimi.redis.key-prefix", TestServers.uniquePrefix(),
                "alimi.auth.introspection.url", admin.introspectionUrl(),
                "alimi.timeline.max-length", Integer.toString(MAX_LENGTH),
                "alimi.relay.max-catch-up", "10000",
                // Replays read and written two entries at a time: every resume of more crosses pieces.
                "alimi.relay.replay-piece", "2",
                "alimi.limits.admissions-per-second", "10000",
                "alimi.limits.admission-burst", "1000",
                "alimi.limits.connects-per-second-per-ip", "10000",
                "alimi.limits.connect-burst-per-ip", "1000",
                "alimi.limits.connections-per-admin", "1000");
        nodes = List.of(TestNode.start(shared), TestNode.start(shared));
    }

    @AfterContainer
    static void stop() {
        nodes.forEach(Main.Running::close);
        admin.close();
    }

    // The history

    /** One step of a generated history. Indexes are resolved against the try's model when the step runs. */
    sealed interface Step {
    }

    /** Publishes an event (a retry when source and id were used before: same targets and type then). */
    record Publish(int source, int id, int targets, int type, int node) implements Step {
    }

    /** Publishes {@code count} new events to one small mall: more than retention keeps. */
    record Burst(int mall, int count) implements Step {
    }

    /** A browser connects with its stored cursor, reads {@code read} events (0: until caught up) and goes. */
    record Connect(int client, int node, int transport, int narrow, int read) implements Step {
    }

    /** The back office grants a mall to, or takes it from, an admin: their next token says so. */
    record Entitle(int client, int mall, boolean grant) implements Step {
    }

    @Provide
    Arbitrary<List<Step>> histories() {
        Arbitrary<Step> publish = net.jqwik.api.Combinators.combine(Arbitraries.integers().between(0, 1),
                Arbitraries.integers().between(0, 5), Arbitraries.integers().between(1, 1023),
                Arbitraries.integers().between(0, TYPES.size() - 1), Arbitraries.integers().between(0, 1)).as(Publish::new);
        Arbitrary<Step> burst = net.jqwik.api.Combinators.combine(Arbitraries.integers().between(0, SMALL_MALLS - 1),
                Arbitraries.integers().between(MAX_LENGTH + 1, MAX_LENGTH + 6)).as(Burst::new);
        Arbitrary<Step> connect = net.jqwik.api.Combinators.combine(Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 1), Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(0, 31), Arbitraries.integers().between(0, 3)).as(Connect::new);
        Arbitrary<Step> entitle = net.jqwik.api.Combinators.combine(Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, SMALL_MALLS - 1), Arbitraries.of(true, false)).as(Entitle::new);
        return Arbitraries.frequencyOf(Tuple.of(6, publish), Tuple.of(1, burst), Tuple.of(5, connect), Tuple.of(2, entitle))
                .list().ofMinSize(4).ofMaxSize(36);
    }

    @Property(tries = 14, shrinking = ShrinkingMode.BOUNDED)
    void everyEventAfterTheCursorArrivesExactlyOnceOrAGapSaysSoWhateverTheScopesNodesAndTransports(
            @ForAll("histories") List<Step> history) {
        Model model = new Model(TRIES.incrementAndGet());
        for (Step step : history) {
            model.run(step);
        }
        // At the end every browser comes back once more and catches up.
        for (int c = 0; c < model.clients.size(); c++) {
            model.run(new Connect(c, c % 2, c % 4, 0, 0));
        }
    }

    // The model

    /** One published event: its identity, targets, and where each copy went and when it was sent. */
    private static final class Published {
        final String source;
        final String id;
        final List<String> targets;
        final String type;
        final Map<String, StreamId> entries = new HashMap<>();
        final Map<String, Long> sentAt = new HashMap<>();

        Published(String source, String id, List<String> targets, String type) {
            this.source = source;
            this.id = id;
            this.targets = targets;
            this.type = type;
        }

        String key() {
            return source + " " + id;
        }
    }

    /** An admin's browser: its token and malls now, its one stored cursor, what it has received. */
    private static final class Client {
        final String adminNo;
        final TreeSet<String> malls = new TreeSet<>();
        final String partner;
        String token;
        int version;
        String cursor;
        /** The scopes followed by the connection that made the stored cursor. */
        Set<String> cursorSet = Set.of();
        /** When the stored cursor was made (the last message it came with was taken). */
        long cursorAt;
        /** Since when each scope in the cursor's set has been followed without a break. */
        final Map<String, Long> followedSince = new HashMap<>();
        final Set<String> received = new HashSet<>();
        /** Entry ranges, per scope, that gaps said will not come. */
        final Map<String, List<StreamId[]>> excused = new HashMap<>();

        Client(String adminNo, String partner) {
            this.adminNo = adminNo;
            this.partner = partner;
        }

        Set<String> entitled() {
            Set<String> scopes = new TreeSet<>();
            scopes.add("all");
            scopes.add("admin:" + adminNo);
            malls.forEach(m -> scopes.add("mall:" + m));
            if (partner != null) {
                scopes.add("partner:" + partner);
            }
            return scopes;
        }

        boolean excused(String scope, StreamId entry) {
            for (StreamId[] range : excused.getOrDefault(scope, List.of())) {
                if (entry.compareTo(range[0]) > 0 && entry.compareTo(range[1]) <= 0) {
                    return true;
                }
            }
            return false;
        }
    }

    private static final class Model {
        final String tag;
        final List<Client> clients = new ArrayList<>();
        final List<String> small = new ArrayList<>();
        final Map<String, Published> events = new LinkedHashMap<>();
        final Map<String, Integer> appends = new HashMap<>();
        final List<String> log = new ArrayList<>();
        int fresh;

        Model(int attempt) {
            tag = "r" + Long.toString(System.nanoTime() % 1_000_000_000L, 36) + attempt;
            for (int m = 0; m < SMALL_MALLS; m++) {
                small.add(tag + "m" + m);
            }
            Client a = new Client(tag + "a0", tag + "p0");
            a.malls.addAll(List.of(small.get(0), small.get(1)));
            Client b = new Client(tag + "a1", null);
            b.malls.addAll(List.of(small.get(1), small.get(2)));
            Client wide = new Client(tag + "a2", null);
            wide.malls.addAll(small);
            for (int w = 0; w < WIDE_MALLS; w++) {
                wide.malls.add(tag + "w" + w);
            }
            clients.addAll(List.of(a, b, wide));
            clients.forEach(this::newToken);
        }

        /** The scopes events may be sent to: everyone's, the small malls, the partner, each admin, a wide mall. */
        List<String> universe() {
            List<String> scopes = new ArrayList<>(List.of("all"));
            small.forEach(m -> scopes.add("mall:" + m));
            scopes.add("partner:" + tag + "p0");
            clients.forEach(c -> scopes.add("admin:" + c.adminNo));
            return scopes;
        }

        void newToken(Client client) {
            client.version++;
            client.token = "t-" + client.adminNo + "-v" + client.version;
            Map<String, Object> claims = new HashMap<>();
            claims.put("sub", client.adminNo);
            claims.put("malls", List.copyOf(client.malls));
            if (client.partner != null) {
                claims.put("partner", client.partner);
            }
            admin.activate(client.token, claims);
        }

        String context() {
            return "history of try " + tag + ":\n  " + String.join("\n  ", log);
        }

        void fail(String message) {
            throw new AssertionError(message + "\n" + context());
        }

        void run(Step step) {
            log.add(step.toString());
            switch (step) {
                case Publish p -> publish(p);
                case Burst b -> {
                    for (int i = 0; i < b.count(); i++) {
                        send(new Published("/burst", tag + "-b" + (fresh++), List.of("mall:" + small.get(b.mall())),
                                "order.created"), i % 2);
                    }
                }
                case Entitle e -> {
                    Client client = clients.get(e.client());
                    String mall = small.get(e.mall());
                    if (e.grant() ? client.malls.add(mall) : client.malls.remove(mall)) {
                        newToken(client);
                    }
                }
                case Connect c -> new Visit(this, clients.get(c.client()), c).run();
            }
        }

        void publish(Publish p) {
            String source = SOURCES.get(p.source());
            String id = tag + "-e" + p.id();
            Published known = events.get(source + " " + id);
            if (known == null) {
                List<String> universe = universe();
                List<String> targets = new ArrayList<>();
                for (int bit = 0; bit < universe.size(); bit++) {
                    if ((p.targets() & (1 << bit)) != 0) {
                        targets.add(universe.get(bit));
                    }
                }
                if ((p.targets() & (1 << universe.size())) != 0) {
                    targets.add("mall:" + tag + "w" + (p.targets() * 7 % WIDE_MALLS));
                }
                if (targets.isEmpty()) {
                    targets.add("all");
                }
                known = new Published(source, id, List.copyOf(new LinkedHashSet<>(targets)), TYPES.get(p.type()));
            }
            send(known, p.node());
        }

        void send(Published event, int node) {
            boolean retry = events.containsKey(event.key());
            ObjectNode body = JSON.createObjectNode();
            body.put("specversion", "1.0").put("id", event.id).put("source", event.source).put("type", event.type)
                    .put("targets", String.join(",", event.targets));
            body.putObject("data").put("n", event.key());
            long sentAt = System.nanoTime();
            Http.Reply reply = new Http(nodes.get(node).port()).post("/v1/events", "application/cloudevents+json",
                    body.toString(), "X-Api-Key", TestNode.API_KEY);
            if (reply.status() != 202) {
                fail("publish refused: " + reply.status() + " " + reply.body());
            }
            JsonNode accepted = reply.json().get("accepted").get(0);
            if (!accepted.get("source").asText().equals(event.source)) {
                fail("the answer names another source: " + accepted);
            }
            for (JsonNode entry : accepted.get("entries")) {
                String scope = entry.get("scope").asText();
                boolean duplicate = entry.get("duplicate").asBoolean();
                if (duplicate != retry) {
                    fail((retry ? "a retry of " : "a new event ") + event.key() + " was " + (duplicate ? "" : "not ")
                            + "taken for a duplicate in " + scope);
                }
                StreamId id = StreamId.parse(entry.get("entry").asText());
                if (retry && !id.equals(event.entries.get(scope))) {
                    fail("a retry of " + event.key() + " in " + scope + " names another entry: " + id);
                }
                if (!retry) {
                    event.entries.put(scope, id);
                    event.sentAt.put(scope, sentAt);
                    appends.merge(scope, 1, Integer::sum);
                }
            }
            events.putIfAbsent(event.key(), event);
        }

        boolean trimmable(String scope) {
            return appends.getOrDefault(scope, 0) > MAX_LENGTH;
        }
    }

    // One page load

    /** What a transport hands the test: one message at a time, with the cursor after it. */
    private record Message(String kind, String cursor, JsonNode body, String sseName) {
    }

    /** A browser's connection over one transport. */
    private interface Stream extends AutoCloseable {
        /** The next message, or null when none came within {@code timeout}. */
        Message next(Duration timeout);

        /** Whether the browser may stop here: what it took has its cursor (a long-poll reply is taken whole). */
        default boolean atBoundary() {
            return true;
        }

        @Override
        void close();
    }

    private static final class Visit {
        private final Model model;
        private final Client client;
        private final Connect step;
        private final Set<String> followed = new TreeSet<>();
        private String query;

        Visit(Model model, Client client, Connect step) {
            this.model = model;
            this.client = client;
            this.step = step;
        }

        void run() {
            Set<String> entitled = client.entitled();
            List<String> narrowable = new ArrayList<>(entitled);
            narrowable.removeIf(s -> s.startsWith("mall:" + model.tag + "w"));
            if (step.narrow() == 0 || step.narrow() == 31) {
                followed.addAll(entitled);
                query = "";
            } else {
                for (int i = 0; i < narrowable.size(); i++) {
                    if ((step.narrow() & (1 << (i % 5))) != 0) {
                        followed.add(narrowable.get(i));
                    }
                }
                if (followed.isEmpty()) {
                    followed.add("admin:" + client.adminNo);
                }
                query = "scopes=" + URLEncoder.encode(String.join(",", followed), StandardCharsets.UTF_8);
            }
            String transport = List.of("sse", "sse-message", "ws", "poll").get(step.transport());
            model.log.set(model.log.size() - 1, step + " as " + client.adminNo + " v" + client.version + " over "
                    + transport + " following " + (followed.size() > 8 ? followed.size() + " scopes" : followed));
            int port = nodes.get(step.node()).port();
            try (Stream stream = open(transport, port)) {
                Message ready = stream.next(CAUGHT_UP);
                if (ready == null || !ready.kind().equals("ready")) {
                    model.fail("no ready message but " + ready);
                }
                long now = System.nanoTime();
                // Scopes the cursor's stream did not follow are followed from when the cursor was made.
                Map<String, Long> since = new HashMap<>();
                for (String scope : followed) {
                    Long kept = client.cursor != null && client.cursorSet.contains(scope) ? client.followedSince.get(scope) : null;
                    since.put(scope, kept != null ? kept : client.cursor != null ? client.cursorAt : now);
                }
                Set<String> expectRevoked = new TreeSet<>();
                if (client.cursor != null) {
                    for (String scope : client.cursorSet) {
                        if (!entitled.contains(scope)) {
                            expectRevoked.add(scope);
                        }
                    }
                }
                take(ready, since);
                read(stream, since, expectRevoked);
            }
        }

        private Stream open(String transport, int port) {
            return switch (transport) {
                case "sse" -> sse(port, query, false);
                case "sse-message" -> sse(port, query, true);
                case "ws" -> ws(port);
                default -> poll(port);
            };
        }

        /** Takes a message: the cursor after it is now the stored one, made now. */
        private void take(Message message, Map<String, Long> since) {
            if (message.cursor() != null) {
                client.cursor = message.cursor();
                client.cursorSet = Set.copyOf(followed);
                client.cursorAt = System.nanoTime();
                client.followedSince.clear();
                client.followedSince.putAll(since);
            }
        }

        private void read(Stream stream, Map<String, Long> since, Set<String> expectRevoked) {
            Set<String> revoked = new TreeSet<>();
            long deadline = System.nanoTime() + CAUGHT_UP.toNanos();
            int events = 0;
            boolean revokedSeen = false;
            while (true) {
                Set<String> missing = step.read() == 0 ? missing(since) : Set.of();
                boolean done = (step.read() == 0 ? missing.isEmpty() : events >= step.read()) && stream.atBoundary();
                if (done) {
                    // Caught up: anything else that arrives now must not be something already received.
                    for (Message extra = stream.next(QUIET); extra != null; extra = stream.next(QUIET)) {
                        handle(extra, since, revoked);
                    }
                    break;
                }
                if (System.nanoTime() > deadline) {
                    model.fail(client.adminNo + " never received " + missing);
                }
                Message message = stream.next(step.read() == 0 ? Duration.ofSeconds(1) : Duration.ofMillis(300));
                if (message == null) {
                    if (step.read() > 0 && stream.atBoundary()) {
                        break;
                    }
                    continue;
                }
                if (message.kind().equals("revoked")) {
                    revokedSeen = true;
                }
                if (handle(message, since, revoked)) {
                    events++;
                }
            }
            if (client.cursor != null && !revoked.equals(expectRevoked) && (revokedSeen || !expectRevoked.isEmpty())) {
                model.fail(client.adminNo + " was told " + revoked + " were revoked, not " + expectRevoked);
            }
        }

        /** Events this browser must have by now: appended to a followed scope since it is followed, not excused. */
        private Set<String> missing(Map<String, Long> since) {
            Set<String> missing = new TreeSet<>();
            for (Published event : model.events.values()) {
                if (client.received.contains(event.key())) {
                    continue;
                }
                for (String scope : event.targets) {
                    StreamId entry = event.entries.get(scope);
                    if (followed.contains(scope) && entry != null && event.sentAt.get(scope) > since.get(scope)
                            && !client.excused(scope, entry)) {
                        missing.add(event.key() + " in " + scope + " at " + entry);
                        break;
                    }
                }
            }
            return missing;
        }

        /** Checks and takes one message; true if it was an event. */
        private boolean handle(Message message, Map<String, Long> since, Set<String> revoked) {
            switch (message.kind()) {
                case "event" -> {
                    JsonNode event = message.body();
                    String key = event.get("source").asText() + " " + event.get("id").asText();
                    Published published = model.events.get(key);
                    if (published == null) {
                        model.fail(client.adminNo + " received an event never published: " + event);
                    }
                    if (published.targets.stream().noneMatch(followed::contains)) {
                        model.fail(client.adminNo + " received " + key + " sent to " + published.targets
                                + ", none of which it follows: " + followed);
                    }
                    if (!client.received.add(key)) {
                        model.fail(client.adminNo + " received " + key + " twice");
                    }
                    if (message.sseName() != null && !message.sseName().equals("message")
                            && (!message.sseName().equals(published.type) || ALIMI_NAMES.contains(message.sseName()))) {
                        model.fail("an event of type " + published.type + " was sent as SSE event " + message.sseName());
                    }
                    take(message, since);
                    return true;
                }
                case "gap" -> {
                    JsonNode gap = message.body();
                    String scope = gap.get("scope").asText();
                    if (!gap.get("reason").asText().equals("trimmed") || !model.trimmable(scope)) {
                        model.fail("a gap no trim explains: " + gap);
                    }
                    StreamId through = gap.get("through").isNull() ? new StreamId(Long.MAX_VALUE / 2, 0)
                            : StreamId.parse(gap.get("through").asText());
                    client.excused.computeIfAbsent(scope, s -> new ArrayList<>())
                            .add(new StreamId[] {StreamId.parse(gap.get("after").asText()), through});
                }
                case "revoked" -> message.body().get("scopes").forEach(s -> revoked.add(s.asText()));
                case "ready", "advance", "unread" -> {
                }
                default -> model.fail("unexpected message " + message);
            }
            take(message, since);
            return false;
        }

        private Stream sse(int port, String query, boolean unnamed) {
            String full = unnamed ? (query.isEmpty() ? "dispatch=message" : query + "&dispatch=message") : query;
            SseClient sse = SseClient.connect(port, client.token, full, client.cursor);
            if (sse.status() != 200) {
                model.fail("stream refused: " + sse.status() + " " + sse.statusBody());
            }
            return new Stream() {
                @Override
                public Message next(Duration timeout) {
                    SseClient.Event event;
                    try {
                        event = sse.next(timeout);
                    } catch (AssertionError none) {
                        return null;
                    }
                    JsonNode body = event.json();
                    String kind = switch (event.type()) {
                        case "ready" -> "ready";
                        case "gap" -> "gap";
                        case "alimi.revoked" -> "revoked";
                        case "alimi.cursor" -> "advance";
                        case "unread" -> "unread";
                        case "reconnect" -> "reconnect";
                        default -> "event";
                    };
                    if (kind.equals("event") && !body.has("specversion")) {
                        model.fail("an SSE message named " + event.type() + " that is no CloudEvent: " + event.data());
                    }
                    return new Message(kind, event.id(), body, kind.equals("event") ? event.type() : null);
                }

                @Override
                public void close() {
                    sse.close();
                }
            };
        }

        private Stream ws(int port) {
            String full = client.cursor == null ? query
                    : (query.isEmpty() ? "" : query + "&") + "cursor=" + client.cursor;
            WsClient ws = WsClient.as(port, client.token, full);
            return new Stream() {
                @Override
                public Message next(Duration timeout) {
                    JsonNode frame;
                    try {
                        frame = ws.next(timeout);
                    } catch (AssertionError none) {
                        return null;
                    }
                    String cursor = frame.has("cursor") ? frame.get("cursor").asText() : null;
                    String op = frame.path("op").asText("");
                    if (op.equals("ready")) {
                        return new Message("ready", cursor, frame, null);
                    } else if (op.equals("revoked")) {
                        return new Message("revoked", cursor, frame, null);
                    } else if (op.equals("unread")) {
                        return new Message("unread", null, frame, null);
                    } else if (frame.has("event")) {
                        return new Message("event", cursor, frame.get("event"), null);
                    } else if (frame.has("gap")) {
                        return new Message("gap", cursor, frame.get("gap"), null);
                    } else if (op.isEmpty() && cursor != null) {
                        return new Message("advance", cursor, frame, null);
                    }
                    return new Message(op, cursor, frame, null);
                }

                @Override
                public void close() {
                    ws.close();
                }
            };
        }

        /** Long-poll: each reply is taken whole (its one cursor stands after all of it). */
        private Stream poll(int port) {
            Http http = new Http(port);
            return new Stream() {
                private final List<Message> buffered = new ArrayList<>();
                private String cursor = client.cursor;
                private boolean first = true;
                private boolean idle;

                @Override
                public Message next(Duration timeout) {
                    if (first) {
                        first = false;
                        fetch(0);
                        return new Message("ready", null, JSON.createObjectNode(), null);
                    }
                    if (!buffered.isEmpty()) {
                        return buffered.remove(0);
                    }
                    if (idle) {
                        // The last reply had nothing new: say so once, as a stream that stays quiet would.
                        idle = false;
                        return null;
                    }
                    fetch(timeout.compareTo(Duration.ofSeconds(1)) >= 0 ? 1 : 0);
                    idle = buffered.size() == 1;
                    return buffered.remove(0);
                }

                @Override
                public boolean atBoundary() {
                    return buffered.isEmpty();
                }

                private void fetch(int wait) {
                    StringBuilder path = new StringBuilder("/v1/poll?wait=" + wait);
                    if (cursor != null) {
                        path.append("&cursor=").append(cursor);
                    }
                    if (!query.isEmpty()) {
                        path.append('&').append(query);
                    }
                    Http.Reply reply = http.get(path.toString(), "Authorization", "Bearer " + client.token);
                    if (reply.status() != 200) {
                        model.fail("poll refused: " + reply.status() + " " + reply.body());
                    }
                    JsonNode body = reply.json();
                    cursor = body.get("cursor").asText();
                    List<Message> messages = new ArrayList<>();
                    if (body.has("revoked")) {
                        ObjectNode revoked = JSON.createObjectNode();
                        revoked.set("scopes", body.get("revoked"));
                        messages.add(new Message("revoked", null, revoked, null));
                    }
                    body.get("gaps").forEach(gap -> messages.add(new Message("gap", null, gap, null)));
                    ArrayNode events = (ArrayNode) body.get("events");
                    events.forEach(event -> messages.add(new Message("event", null, event, null)));
                    // The reply's cursor comes with its last message: a reply is taken whole or not at all.
                    messages.add(new Message("advance", cursor, JSON.createObjectNode(), null));
                    buffered.addAll(messages);
                }

                @Override
                public void close() {
                }
            };
        }
    }
}
