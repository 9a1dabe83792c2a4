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
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * A load client holding thousands of SSE connections on one thread (NIO, one selector), parsing the stream as it
 * comes: chunked transfer coding, then SSE lines. For each event whose data carries {@code "t":<nanoTime>} it
 * records the publish→receive latency; it counts ready messages and events per connection.
 *
 * <p>Connections can come from several loopback source addresses (127.0.0.x), so their count is not bounded by
 * one address's ephemeral ports.
 */
final class SseLoad implements AutoCloseable {

    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);

    private final Selector selector;
    /** One read buffer for all connections: they are all read on the one loop thread. */
    private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    private final List<Conn> conns = new ArrayList<>();
    private final Histogram latency = new Histogram();
    private final AtomicLong events = new AtomicLong();
    private final AtomicInteger ready = new AtomicInteger();
    private final AtomicInteger closed = new AtomicInteger();
    private final AtomicInteger reconnectNotices = new AtomicInteger();
    private final Thread loop;
    private volatile boolean running = true;
    private volatile boolean recording;

    /** The server's ready message on a WebSocket: {@code {"scopes":[…],…,"op":"ready",…}}. */
    private static final byte[] WS_READY = "\"op\":\"ready\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private volatile boolean webSocket;

    /**
     * The connections opened from now on are WebSockets (the request is an upgrade): after the 101, only their
     * ready messages are counted; idle scenarios only.
     */
    void webSocket(boolean on) {
        webSocket = on;
    }

    SseLoad() {
        try {
            selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        loop = Thread.ofPlatform().name("sse-load").daemon().start(this::run);
    }

    /** Opens {@code count} streams; request {@code i} comes from source address {@code sources[i % n]}. */
    void open(int port, int count, String[] sources, IntFunction<byte[]> request) throws IOException {
        for (int i = 0; i < count; i++) {
            SocketChannel channel = SocketChannel.open();
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 16 * 1024);
            channel.bind(new InetSocketAddress(sources[i % sources.length], 0));
            channel.configureBlocking(false);
            channel.connect(new InetSocketAddress("127.0.0.1", port));
            Conn conn = new Conn(channel, ByteBuffer.wrap(request.apply(i)));
            synchronized (conns) {
                conns.add(conn);
            }
            synchronized (this) {
                selector.wakeup();
                pendingRegistrations.add(conn);
            }
        }
    }

    private final List<Conn> pendingRegistrations = new ArrayList<>();
    private final List<Integer> pendingDrops = new ArrayList<>();

    /** Closes connection {@code index} (in open order), as a browser tab closed; done on the loop thread. */
    void drop(int index) {
        synchronized (this) {
            pendingDrops.add(index);
            selector.wakeup();
        }
    }

    int ready() {
        return ready.get();
    }

    long events() {
        return events.get();
    }

    int closed() {
        return closed.get();
    }

    int reconnectNotices() {
        return reconnectNotices.get();
    }

    /** Events received per connection, in open order. */
    long[] perConnection() {
        synchronized (conns) {
            long[] counts = new long[conns.size()];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = conns.get(i).events;
            }
            return counts;
        }
    }

    /** Starts (or stops) recording latencies; cleared when started. */
    void record(boolean on) {
        if (on) {
            latency.clear();
        }
        recording = on;
    }

    Histogram latency() {
        return latency;
    }

    private void run() {
        try {
            while (running) {
                selector.select(100);
                synchronized (this) {
                    for (Conn conn : pendingRegistrations) {
                        conn.channel.register(selector, SelectionKey.OP_CONNECT, conn);
                    }
                    pendingRegistrations.clear();
                    for (int index : pendingDrops) {
                        Conn conn;
                        synchronized (conns) {
                            conn = conns.get(index);
                        }
                        SelectionKey key = conn.channel.keyFor(selector);
                        if (key != null) {
                            key.cancel();
                        }
                        conn.channel.close();
                    }
                    pendingDrops.clear();
                }
                Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    Conn conn = (Conn) key.attachment();
                    if (!key.isValid()) {
                        continue;   // dropped meanwhile
                    }
                    try {
                        if (key.isConnectable()) {
                            conn.channel.finishConnect();
                            key.interestOps(SelectionKey.OP_WRITE);
                        } else if (key.isWritable()) {
                            conn.channel.write(conn.request);
                            if (!conn.request.hasRemaining()) {
                                key.interestOps(SelectionKey.OP_READ);
                            }
                        } else if (key.isReadable()) {
                            if (!conn.read()) {
                                key.cancel();
                                conn.channel.close();
                                closed.incrementAndGet();
                            }
                        }
                    } catch (IOException e) {
                        key.cancel();
                        conn.channel.close();
                        closed.incrementAndGet();
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
        try {
            loop.join(5000);
            synchronized (conns) {
                for (Conn conn : conns) {
                    conn.channel.close();
                }
            }
            selector.close();
        } catch (IOException | InterruptedException e) {
            // closing anyway
        }
    }

    /** One connection's parse state: HTTP head, then chunks, then SSE lines. */
    private final class Conn {
        final SocketChannel channel;
        final ByteBuffer request;
        long events;
        private boolean inHead = true;
        /** WebSocket frames after the head (see {@link SseLoad#webSocket}): only ready messages are counted. */
        private int readyMatched;
        private int headTail;
        private long chunkLeft;
        private int chunkLineState; // 0: reading size, 1: in data, 2: expecting CRLF after data
        private long size;
        private final byte[] line = new byte[2048];
        private int lineLength;
        private boolean lineOverflow;

        Conn(SocketChannel channel, ByteBuffer request) {
            this.channel = channel;
            this.request = request;
        }

        /** Reads what is there; false at end of stream. */
        boolean read() throws IOException {
            buffer.clear();
            int n = channel.read(buffer);
            if (n < 0) {
                return false;
            }
            byte[] bytes = buffer.array();
            for (int i = 0; i < n; i++) {
                byte b = bytes[i];
                if (!inHead && webSocket) {
                    if (b == WS_READY[readyMatched]) {
                        if (++readyMatched == WS_READY.length) {
                            ready.incrementAndGet();
                            readyMatched = 0;
                        }
                    } else {
                        readyMatched = b == WS_READY[0] ? 1 : 0;
                    }
                    continue;
                }
                if (inHead) {
                    headTail = (headTail << 8) | (b & 0xFF);
                    if (headTail == 0x0D0A0D0A) {
                        inHead = false;
                        chunkLineState = 0;
                        size = 0;
                    }
                    continue;
                }
                switch (chunkLineState) {
                    case 0 -> {
                        if (b == '\n') {
                            if (size == 0) {
                                return false;
                            }
                            chunkLeft = size;
                            chunkLineState = 1;
                        } else if (b != '\r') {
                            size = size * 16 + Character.digit(b, 16);
                        }
                    }
                    case 1 -> {
                        sse(b);
                        if (--chunkLeft == 0) {
                            chunkLineState = 2;
                        }
                    }
                    default -> {
                        if (b == '\n') {
                            chunkLineState = 0;
                            size = 0;
                        }
                    }
                }
            }
            return true;
        }

        private void sse(byte b) {
            if (b != '\n') {
                if (lineLength < line.length) {
                    line[lineLength++] = b;
                } else {
                    lineOverflow = true;
                }
                return;
            }
            if (startsWith(DATA)) {
                if (indexOf("\"type\":\"ready\"") < 0 && startsWithData("{\"scopes\"")) {
                    ready.incrementAndGet();
                } else if (indexOf("\"reason\":") >= 0 && startsWithData("{\"reason\"")) {
                    reconnectNotices.incrementAndGet();
                } else {
                    int t = indexOf("\"t\":");
                    if (t >= 0) {
                        long sent = 0;
                        for (int i = t + 4; i < lineLength && line[i] >= '0' && line[i] <= '9'; i++) {
                            sent = sent * 10 + (line[i] - '0');
                        }
                        events++;
                        SseLoad.this.events.incrementAndGet();
                        if (recording) {
                            latency.record(System.nanoTime() - sent);
                        }
                    }
                }
            }
            lineLength = 0;
            lineOverflow = false;
        }

        private boolean startsWith(byte[] prefix) {
            if (lineLength < prefix.length) {
                return false;
            }
            for (int i = 0; i < prefix.length; i++) {
                if (line[i] != prefix[i]) {
                    return false;
                }
            }
            return true;
        }

        private boolean startsWithData(String text) {
            byte[] prefix = text.getBytes(StandardCharsets.US_ASCII);
            if (lineLength < DATA.length + prefix.length) {
                return false;
            }
            for (int i = 0; i < prefix.length; i++) {
                if (line[DATA.length + i] != prefix[i]) {
                    return false;
                }
            }
            return true;
        }

        private int indexOf(String text) {
            byte[] needle = text.getBytes(StandardCharsets.US_ASCII);
            outer:
            for (int i = 0; i + needle.length <= lineLength; i++) {
                for (int j = 0; j < needle.length; j++) {
                    if (line[i + j] != needle[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }
    }
}
