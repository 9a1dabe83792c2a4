package io.alimi.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntPredicate;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Thousands of SSE clients on one thread (NIO, one selector), each behaving as a browser's {@code EventSource}
 * behind a load balancer: it keeps the last event id (moved by every dispatched message, an id-only one too), and
 * when its stream ends or breaks it waits the server's last {@code retry:} delay and reconnects with
 * {@code Last-Event-ID} — to another relay, as a balancer would send it. A refused connect (429, 503) waits the
 * {@code Retry-After} plus up to a second of its own jitter; a failed one backs off exponentially with jitter, as
 * {@code /alimi.js} does.
 *
 * <p>Every event received is checked against the {@link DrillPlan}: a client counts what it got, what it got twice
 * and what it should not have got. Everything here runs on the loop thread; other threads ask through
 * {@link #call}.
 */
final class DrillClients implements AutoCloseable {

    private static final long CONNECT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long RESPONSE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** What browsers wait before a reconnect until the server sets {@code retry:}. */
    private static final long DEFAULT_RETRY_MILLIS = 3_000;
    private static final int MAX_LINE = 64 * 1024;
    private static final int CONNECTS_PER_TURN = 100;

    private static final int IDLE = 0;
    private static final int CONNECTING = 1;
    private static final int WRITING = 2;
    private static final int HEAD = 3;
    private static final int BODY = 4;

    private static final byte[] TYPE_READY = ascii("ready");
    private static final byte[] TYPE_GAP = ascii("gap");
    private static final byte[] TYPE_RECONNECT = ascii("reconnect");
    private static final byte[] TYPE_UNREAD = ascii("unread");
    private static final byte[] ID_FIELD = ascii("\"id\":\"");

    private final DrillPlan plan;
    private final int[] ports;
    private final IntSupplier published;
    private final byte[] idPrefix;
    private final Client[] clients;
    private final Selector selector;
    private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final PriorityQueue<Client> timers = new PriorityQueue<>(Comparator.comparingLong(c -> c.dueNanos));
    private final List<Mark> marks = new ArrayList<>();
    private final Histogram resumeTimes = new Histogram();
    /** For resumes: lost → TCP connected, and lost → response head (status 200) of the connection that resumed. */
    private final Histogram connectedTimes = new Histogram();
    private final Histogram headTimes = new Histogram();
    private final Thread loop;
    private volatile boolean running = true;
    private long lastTimeoutScan = System.nanoTime();

    private final AtomicInteger streaming = new AtomicInteger();
    private final AtomicLong deliveries = new AtomicLong();
    private final AtomicInteger resumes = new AtomicInteger();
    private final AtomicInteger lost = new AtomicInteger();
    private final Map<String, AtomicInteger> refusals = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @param ports     the relays' ports on 127.0.0.1
     * @param sources   source address of each client (loopback addresses)
     * @param published how many events have been published so far (Kafka acknowledged), in order
     */
    DrillClients(DrillPlan plan, int[] ports, String[] sources, IntSupplier published, String idPrefix) {
        this.plan = plan;
        this.ports = ports.clone();
        this.published = published;
        this.idPrefix = ascii(idPrefix);
        this.clients = new Client[plan.clients()];
        for (int i = 0; i < clients.length; i++) {
            clients[i] = new Client(i, new InetSocketAddress(sources[i], 0), plan.maxEvents());
        }
        try {
            selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        loop = Thread.ofPlatform().name("drill-clients").daemon().start(this::run);
    }

    // Control, from any thread

    /** Runs {@code action} on the loop thread and returns its result. */
    <T> T call(Supplier<T> action) {
        CompletableFuture<T> result = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                result.complete(action.get());
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        });
        selector.wakeup();
        try {
            return result.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("the client loop did not answer", e);
        }
    }

    /** Connects every client, client {@code i} to relay {@code i % relays}, {@code perSecond} connects a second. */
    void attach(int perSecond) {
        call(() -> {
            long now = System.nanoTime();
            long interval = TimeUnit.SECONDS.toNanos(1) / perSecond;
            for (Client c : clients) {
                c.node = c.index % ports.length;
                schedule(c, now + c.index * interval);
            }
            return null;
        });
    }

    /**
     * Every connection is cut at once (a network blip, a balancer restart); each client reconnects after
     * {@code delayMillis} (0: at once) to any relay. Returns the disruption's {@link #markResume mark}, over every
     * client.
     */
    Mark dropAll(String name, long delayMillis) {
        return call(() -> {
            long now = System.nanoTime();
            Mark mark = newResumeMark(name, now, client -> true);
            timers.clear();
            for (Client c : clients) {
                boolean wasStreaming = c.state == BODY && c.ready;
                close(c);
                if (wasStreaming) {
                    lost.incrementAndGet();
                }
                if (c.lostAt == 0) {
                    c.lostAt = now;
                }
            }
            // A closed channel's descriptor is only released when the selector next deregisters it: release them
            // all before opening as many new ones, or the process holds twice as many descriptors for a moment.
            try {
                selector.selectNow();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            for (Client c : clients) {
                c.node = ThreadLocalRandom.current().nextInt(ports.length);
                c.scheduled = false;
                schedule(c, now + TimeUnit.MILLISECONDS.toNanos(delayMillis));
            }
            return mark;
        });
    }

    int streaming() {
        return streaming.get();
    }

    long deliveries() {
        return deliveries.get();
    }

    int resumes() {
        return resumes.get();
    }

    int lost() {
        return lost.get();
    }

    /** Connect attempts refused or failed, by cause ({@code 503}, {@code 429}, {@code connect}, {@code timeout} …). */
    Map<String, Integer> refusals() {
        Map<String, Integer> copy = new TreeMap<>();
        refusals.forEach((k, v) -> copy.put(k, v.get()));
        return copy;
    }

    /** Lost connection → {@code ready} on the next one, per resume, in nanoseconds. */
    Histogram resumeTimes() {
        return resumeTimes;
    }

    /** Of each resume: lost → TCP connected, lost → response head; nanoseconds. */
    Histogram[] resumeBreakdown() {
        return new Histogram[] {connectedTimes, headTimes};
    }

    /** Clients streaming now, by relay. */
    int[] streamingByRelay() {
        return call(() -> {
            int[] counts = new int[ports.length];
            for (Client c : clients) {
                if (c.state == BODY && c.ready) {
                    counts[c.node]++;
                }
            }
            return counts;
        });
    }

    /**
     * Starts timing a disruption that cuts off the clients {@code affected} picks (on the loop thread, at once): each
     * is caught up once it has resumed and received every event meant for it that was published before it resumed.
     */
    Mark markResume(String name, long t0Nanos, IntPredicate affected) {
        return call(() -> newResumeMark(name, t0Nanos, affected));
    }

    /** {@link #markResume} over the clients on (or connecting to) relay {@code relay}. */
    Mark markResumeOnRelay(String name, long t0Nanos, int relay) {
        return call(() -> newResumeMark(name, t0Nanos, index -> clients[index].node == relay));
    }

    private Mark newResumeMark(String name, long t0Nanos, IntPredicate affected) {
        Mark mark = new Mark(name, t0Nanos, clients.length);
        for (Client c : clients) {
            if (affected.test(c.index)) {
                mark.remaining[c.index] = Mark.AWAITING_READY;
                mark.outstanding++;
                mark.affected++;
            }
        }
        mark.finishIfDone(System.nanoTime());
        marks.add(mark);
        return mark;
    }

    /** Starts timing until every client has received every event meant for it among the first {@code upTo}. */
    Mark markHorizon(String name, long t0Nanos, int upTo) {
        return call(() -> {
            Mark mark = new Mark(name, t0Nanos, clients.length);
            for (Client c : clients) {
                int missing = missing(c, upTo);
                mark.limit[c.index] = upTo;
                mark.remaining[c.index] = missing;
                if (missing > 0) {
                    mark.outstanding++;
                }
                mark.affected++;
            }
            mark.finishIfDone(System.nanoTime());
            marks.add(mark);
            return mark;
        });
    }

    /** Per-client accounting over the first {@code publishedCount} events. */
    record Totals(long expected, long received, long lost, long duplicates, long unexpected, long gaps,
                  int clientsMissing, int clientsWithDuplicates, int clientsWithUnexpected, int notStreaming,
                  List<String> examples) {
        boolean clean() {
            return lost == 0 && duplicates == 0 && unexpected == 0 && gaps == 0;
        }
    }

    Totals totals(int publishedCount) {
        return call(() -> {
            long expected = 0;
            long received = 0;
            long missingTotal = 0;
            long duplicates = 0;
            long unexpected = 0;
            long gaps = 0;
            int clientsMissing = 0;
            int clientsWithDuplicates = 0;
            int clientsWithUnexpected = 0;
            int notStreaming = 0;
            List<String> examples = new ArrayList<>();
            for (Client c : clients) {
                int exp = 0;
                int got = 0;
                int firstMissing = -1;
                for (int k = 0; k < publishedCount; k++) {
                    if (plan.expects(c.index, k)) {
                        exp++;
                        if (c.received.get(k)) {
                            got++;
                        } else if (firstMissing < 0) {
                            firstMissing = k;
                        }
                    }
                }
                expected += exp;
                received += c.received.cardinality();
                missingTotal += exp - got;
                duplicates += c.duplicates;
                unexpected += c.unexpected;
                gaps += c.gaps;
                if (exp > got) {
                    clientsMissing++;
                    if (examples.size() < 10) {
                        examples.add("client " + c.index + " (relay " + c.node + ") missed " + (exp - got)
                                + " of " + exp + ", first event " + firstMissing + " (" + plan.targets(firstMissing).text() + ")");
                    }
                }
                if (c.duplicates > 0) {
                    clientsWithDuplicates++;
                    if (examples.size() < 10) {
                        examples.add("client " + c.index + " got " + c.duplicates + " duplicates, first event "
                                + c.firstDuplicate + " (" + plan.targets(c.firstDuplicate).text() + ")");
                    }
                }
                if (c.unexpected > 0) {
                    clientsWithUnexpected++;
                }
                if (!(c.state == BODY && c.ready)) {
                    notStreaming++;
                }
            }
            return new Totals(expected, received, missingTotal, duplicates, unexpected, gaps, clientsMissing,
                    clientsWithDuplicates, clientsWithUnexpected, notStreaming, examples);
        });
    }

    /** A disruption being timed; read its outcome from any thread. */
    static final class Mark {
        static final int AWAITING_READY = -1;
        final String name;
        final long t0Nanos;
        final int[] remaining;
        final int[] limit;
        int outstanding;
        /** Clients concerned (for a resume mark: cut off). */
        volatile int affected;
        private volatile long doneNanos;

        Mark(String name, long t0Nanos, int clients) {
            this.name = name;
            this.t0Nanos = t0Nanos;
            this.remaining = new int[clients];
            this.limit = new int[clients];
        }

        void finishIfDone(long now) {
            if (outstanding == 0 && doneNanos == 0) {
                doneNanos = Math.max(now, t0Nanos + 1);
            }
        }

        boolean done() {
            return doneNanos != 0;
        }

        /** Seconds from the disruption until every client concerned was caught up, or NaN if not (yet). */
        double seconds() {
            long done = doneNanos;
            return done == 0 ? Double.NaN : (done - t0Nanos) / 1e9;
        }

        /** Waits until done or the deadline; true when done. */
        boolean await(long deadlineNanos) throws InterruptedException {
            while (!done() && System.nanoTime() < deadlineNanos) {
                Thread.sleep(20);
            }
            return done();
        }
    }

    // The loop

    private void run() {
        try {
            while (running) {
                long timeoutMillis = 100;
                Client next = timers.peek();
                if (next != null) {
                    timeoutMillis = Math.max(0, Math.min(timeoutMillis, (next.dueNanos - System.nanoTime()) / 1_000_000));
                }
                if (timeoutMillis == 0) {
                    selector.selectNow();
                } else {
                    selector.select(timeoutMillis);
                }
                for (Runnable task; (task = tasks.poll()) != null; ) {
                    task.run();
                }
                long now = System.nanoTime();
                // A bounded number per turn, so that sockets already open are served while thousands connect.
                for (int started = 0; started < CONNECTS_PER_TURN && !timers.isEmpty() && timers.peek().dueNanos - now <= 0; started++) {
                    Client c = timers.poll();
                    c.scheduled = false;
                    connect(c);
                }
                var keys = selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    Client c = (Client) key.attachment();
                    if (!key.isValid() || c.key != key) {
                        continue;
                    }
                    try {
                        if (key.isConnectable()) {
                            c.channel.finishConnect();
                            c.connectedAt = System.nanoTime();
                            c.state = WRITING;
                            c.since = System.nanoTime();
                            key.interestOps(SelectionKey.OP_WRITE);
                        } else if (key.isWritable()) {
                            c.channel.write(c.request);
                            if (!c.request.hasRemaining()) {
                                c.state = HEAD;
                                key.interestOps(SelectionKey.OP_READ);
                            }
                        } else if (key.isReadable()) {
                            read(c);
                        }
                    } catch (IOException | RuntimeException e) {
                        ended(c, c.state == CONNECTING ? "connect" : "io");
                    }
                }
                if (now - lastTimeoutScan > TimeUnit.SECONDS.toNanos(1)) {
                    lastTimeoutScan = now;
                    for (Client c : clients) {
                        if ((c.state == CONNECTING && now - c.since > CONNECT_TIMEOUT_NANOS)
                                || ((c.state == WRITING || c.state == HEAD) && now - c.since > RESPONSE_TIMEOUT_NANOS)) {
                            ended(c, "timeout");
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void schedule(Client c, long dueNanos) {
        c.dueNanos = dueNanos;
        c.scheduled = true;
        timers.add(c);
    }

    private void connect(Client c) {
        try {
            c.resetConnection(request(c));
            SocketChannel channel = SocketChannel.open();
            c.channel = channel;
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 32 * 1024);
            channel.bind(c.source);
            channel.configureBlocking(false);
            c.state = CONNECTING;
            c.since = System.nanoTime();
            c.key = channel.register(selector, SelectionKey.OP_CONNECT, c);
            if (channel.connect(new InetSocketAddress("127.0.0.1", ports[c.node]))) {
                c.connectedAt = System.nanoTime();
                c.state = WRITING;
                c.key.interestOps(SelectionKey.OP_WRITE);
            }
        } catch (IOException e) {
            ended(c, "connect");
        }
    }

    private ByteBuffer request(Client c) {
        StringBuilder request = new StringBuilder(256)
                .append("GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1:").append(ports[c.node])
                .append("\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nAuthorization: Bearer ")
                .append(DrillPlan.token(c.index)).append("\r\n");
        if (c.lastEventId != null) {
            request.append("Last-Event-ID: ").append(c.lastEventId).append("\r\n");
        }
        return ByteBuffer.wrap(request.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
    }

    private void close(Client c) {
        if (c.key != null) {
            c.key.cancel();
            c.key = null;
        }
        if (c.channel != null) {
            try {
                c.channel.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            c.channel = null;
        }
        if (c.state == BODY && c.ready) {
            streaming.decrementAndGet();
        }
        c.state = IDLE;
    }

    /**
     * The connection ended. A stream that was open reconnects after the server's retry delay, as EventSource does;
     * a connect that failed or was refused backs off (Retry-After plus jitter, or exponentially with jitter).
     * Either way to another relay.
     */
    private void ended(Client c, String cause) {
        boolean wasStreaming = c.state == BODY && c.ready;
        int failedNode = c.node;
        close(c);
        long now = System.nanoTime();
        long delayMillis;
        if (wasStreaming) {
            lost.incrementAndGet();
            if (c.lostAt == 0) {
                c.lostAt = now;
            }
            delayMillis = c.retryMillis;
        } else {
            refusals.computeIfAbsent(cause, k -> new AtomicInteger()).incrementAndGet();
            c.failures = Math.min(c.failures + 1, 6);
            if (c.retryAfterSeconds >= 0) {
                delayMillis = c.retryAfterSeconds * 1000 + ThreadLocalRandom.current().nextLong(1001);
            } else {
                long base = Math.min(30_000, 500L << c.failures);
                delayMillis = base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
            }
        }
        c.node = otherRelay(failedNode);
        schedule(c, now + TimeUnit.MILLISECONDS.toNanos(delayMillis));
    }

    private int otherRelay(int not) {
        if (ports.length == 1) {
            return 0;
        }
        int pick = ThreadLocalRandom.current().nextInt(ports.length - 1);
        return pick >= not ? pick + 1 : pick;
    }

    // Parsing: HTTP head, chunked coding, then SSE lines

    private void read(Client c) throws IOException {
        buffer.clear();
        int n = c.channel.read(buffer);
        if (n < 0) {
            ended(c, c.state == HEAD ? "closed" : "io");
            return;
        }
        byte[] bytes = buffer.array();
        for (int i = 0; i < n; i++) {
            if (c.state == HEAD) {
                if (!headByte(c, bytes[i])) {
                    return;
                }
            } else if (c.state == BODY) {
                if (!c.chunked) {
                    sseByte(c, bytes[i]);
                } else if (!chunkByte(c, bytes[i])) {
                    return;
                }
            } else {
                return;
            }
        }
    }

    /** False when the connection was ended (a refusal, or a head too large). */
    private boolean headByte(Client c, byte b) {
        if (b != '\n') {
            if (b != '\r') {
                if (c.lineLength == MAX_LINE) {
                    ended(c, "head");
                    return false;
                }
                c.append(b);
            }
            return true;
        }
        String line = new String(c.line, 0, c.lineLength, StandardCharsets.ISO_8859_1);
        c.lineLength = 0;
        if (c.status == 0) {
            c.status = line.length() >= 12 ? Integer.parseInt(line.substring(9, 12)) : -1;
            return true;
        }
        if (!line.isEmpty()) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                String name = line.substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT);
                String value = line.substring(colon + 1).strip();
                if (name.equals("transfer-encoding") && value.toLowerCase(java.util.Locale.ROOT).contains("chunked")) {
                    c.chunked = true;
                } else if (name.equals("retry-after") && value.matches("\\d{1,6}")) {
                    c.retryAfterSeconds = Long.parseLong(value);
                }
            }
            return true;
        }
        if (c.status != 200) {
            ended(c, Integer.toString(c.status));
            return false;
        }
        c.state = BODY;
        c.headAt = System.nanoTime();
        return true;
    }

    /** False at the end of the body (the stream ended: reconnect). */
    private boolean chunkByte(Client c, byte b) {
        switch (c.chunkState) {
            case 0 -> {
                if (b == '\n') {
                    if (c.chunkSize == 0) {
                        ended(c, "end");
                        return false;
                    }
                    c.chunkLeft = c.chunkSize;
                    c.chunkState = 1;
                } else if (!c.sizeEnded) {
                    int digit = Character.digit(b, 16);
                    if (digit >= 0) {
                        c.chunkSize = c.chunkSize * 16 + digit;
                    } else {
                        // CR, or a chunk extension: the size is complete.
                        c.sizeEnded = true;
                    }
                }
            }
            case 1 -> {
                sseByte(c, b);
                if (--c.chunkLeft == 0) {
                    c.chunkState = 2;
                }
            }
            default -> {
                if (b == '\n') {
                    c.chunkState = 0;
                    c.chunkSize = 0;
                    c.sizeEnded = false;
                }
            }
        }
        return true;
    }

    private void sseByte(Client c, byte b) {
        if (b == '\r') {
            return;
        }
        if (b != '\n') {
            if (c.lineLength < MAX_LINE) {
                c.append(b);
            }
            return;
        }
        sseLine(c);
        c.lineLength = 0;
    }

    /** One SSE line, as the HTML standard's event-stream interpretation reads it. */
    private void sseLine(Client c) {
        byte[] line = c.line;
        int length = c.lineLength;
        if (length == 0) {
            dispatch(c);
            return;
        }
        if (line[0] == ':') {
            return;
        }
        int colon = -1;
        for (int i = 0; i < length; i++) {
            if (line[i] == ':') {
                colon = i;
                break;
            }
        }
        int nameEnd = colon < 0 ? length : colon;
        int valueStart = colon < 0 ? length : colon + 1;
        if (valueStart < length && line[valueStart] == ' ') {
            valueStart++;
        }
        if (is(line, nameEnd, "data")) {
            if (c.dataLength > 0) {
                c.appendData((byte) '\n');
            }
            for (int i = valueStart; i < length; i++) {
                c.appendData(line[i]);
            }
            c.hasData = true;
        } else if (is(line, nameEnd, "event")) {
            c.type = Arrays.copyOfRange(line, valueStart, length);
        } else if (is(line, nameEnd, "id")) {
            c.idBuffer = new String(line, valueStart, length - valueStart, StandardCharsets.US_ASCII);
        } else if (is(line, nameEnd, "retry")) {
            long value = 0;
            boolean digits = valueStart < length;
            for (int i = valueStart; i < length && digits; i++) {
                digits = line[i] >= '0' && line[i] <= '9';
                value = value * 10 + (line[i] - '0');
            }
            if (digits) {
                c.retryMillis = value;
            }
        }
    }

    private void dispatch(Client c) {
        // The last event id is set at every dispatch, before the check for data: an id-only message moves it too.
        c.lastEventId = c.idBuffer;
        if (!c.hasData) {
            c.type = null;
            return;
        }
        byte[] type = c.type;
        if (type != null && Arrays.equals(type, TYPE_READY)) {
            ready(c);
        } else if (type != null && Arrays.equals(type, TYPE_GAP)) {
            c.gaps++;
        } else if (type != null && (Arrays.equals(type, TYPE_RECONNECT) || Arrays.equals(type, TYPE_UNREAD))) {
            // The stream ends right after a reconnect notice; the end is handled as EventSource handles it.
        } else {
            event(c, eventIndex(c.data, c.dataLength));
        }
        c.type = null;
        c.hasData = false;
        c.dataLength = 0;
    }

    private void ready(Client c) {
        long now = System.nanoTime();
        c.ready = true;
        c.failures = 0;
        streaming.incrementAndGet();
        if (c.lostAt != 0) {
            resumeTimes.record(now - c.lostAt);
            connectedTimes.record(c.connectedAt - c.lostAt);
            headTimes.record(c.headAt - c.lostAt);
            resumes.incrementAndGet();
            c.lostAt = 0;
        }
        int upTo = -1;
        for (Mark mark : marks) {
            if (!mark.done() && mark.remaining[c.index] == Mark.AWAITING_READY) {
                if (upTo < 0) {
                    upTo = published.getAsInt();
                }
                mark.limit[c.index] = upTo;
                mark.remaining[c.index] = missing(c, upTo);
                if (mark.remaining[c.index] == 0) {
                    mark.outstanding--;
                    mark.finishIfDone(now);
                }
            }
        }
    }

    private void event(Client c, int k) {
        deliveries.incrementAndGet();
        if (k < 0 || k >= plan.maxEvents() || !plan.expects(c.index, k)) {
            c.unexpected++;
            return;
        }
        if (c.received.get(k)) {
            if (c.duplicates++ == 0) {
                c.firstDuplicate = k;
            }
            return;
        }
        c.received.set(k);
        long now = 0;
        for (Mark mark : marks) {
            if (!mark.done() && mark.remaining[c.index] > 0 && k < mark.limit[c.index]) {
                if (--mark.remaining[c.index] == 0) {
                    mark.outstanding--;
                    if (now == 0) {
                        now = System.nanoTime();
                    }
                    mark.finishIfDone(now);
                }
            }
        }
    }

    /** Events meant for {@code c} among the first {@code upTo} that it has not received. */
    private int missing(Client c, int upTo) {
        int missing = 0;
        for (int k = 0; k < upTo; k++) {
            if (!c.received.get(k) && plan.expects(c.index, k)) {
                missing++;
            }
        }
        return missing;
    }

    /** The drill's event number from the envelope's {@code "id":"<prefix><k>"}, or -1. */
    private int eventIndex(byte[] data, int length) {
        int at = indexOf(data, length, ID_FIELD);
        if (at < 0) {
            return -1;
        }
        int i = at + ID_FIELD.length;
        if (i + idPrefix.length > length || !Arrays.equals(data, i, i + idPrefix.length, idPrefix, 0, idPrefix.length)) {
            return -1;
        }
        i += idPrefix.length;
        int k = 0;
        int digits = 0;
        for (; i < length && data[i] >= '0' && data[i] <= '9' && digits < 9; i++, digits++) {
            k = k * 10 + (data[i] - '0');
        }
        return digits > 0 && i < length && data[i] == '"' ? k : -1;
    }

    private static int indexOf(byte[] haystack, int length, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static boolean is(byte[] line, int length, String name) {
        if (length != name.length()) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            if (line[i] != name.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
        try {
            loop.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Client c : clients) {
            if (c.channel != null) {
                try {
                    c.channel.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** One client: its connection's parse state, its EventSource state, and what it received. */
    private static final class Client {
        final int index;
        final InetSocketAddress source;
        final BitSet received;
        int node;
        SocketChannel channel;
        SelectionKey key;
        int state = IDLE;
        long since;
        ByteBuffer request;
        long dueNanos;
        boolean scheduled;
        // HTTP
        int status;
        boolean chunked;
        long retryAfterSeconds = -1;
        int chunkState;
        long chunkSize;
        boolean sizeEnded;
        long chunkLeft;
        // SSE
        byte[] line = new byte[128];
        int lineLength;
        byte[] data = new byte[0];
        int dataLength;
        boolean hasData;
        byte[] type;
        String idBuffer;
        String lastEventId;
        long retryMillis = DEFAULT_RETRY_MILLIS;
        boolean ready;
        // Reconnects and accounting
        long lostAt;
        long connectedAt;
        long headAt;
        int failures;
        int duplicates;
        int firstDuplicate = -1;
        int unexpected;
        int gaps;

        Client(int index, InetSocketAddress source, int maxEvents) {
            this.index = index;
            this.source = source;
            this.received = new BitSet(maxEvents);
        }

        /** A new connection: HTTP and chunk state start over; the EventSource state (last id, retry) stays. */
        void resetConnection(ByteBuffer request) {
            this.request = request;
            status = 0;
            chunked = false;
            retryAfterSeconds = -1;
            chunkState = 0;
            chunkSize = 0;
            sizeEnded = false;
            chunkLeft = 0;
            lineLength = 0;
            dataLength = 0;
            hasData = false;
            type = null;
            ready = false;
        }

        void append(byte b) {
            if (lineLength == line.length) {
                line = Arrays.copyOf(line, Math.min(MAX_LINE, line.length * 2));
            }
            line[lineLength++] = b;
        }

        void appendData(byte b) {
            if (dataLength == data.length) {
                data = Arrays.copyOf(data, Math.max(256, data.length * 2));
            }
            data[dataLength++] = b;
        }
    }
}
