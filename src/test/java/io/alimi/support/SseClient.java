package io.alimi.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A test SSE client over a plain socket, parsing the stream exactly as the HTML specification says (so a test
 * sees what a browser's EventSource would: fields, ids that move without an event, comments).
 */
public final class SseClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A dispatched event: what EventSource would fire, with the last event id at that moment. */
    public record Event(String id, String type, String data) {
        public JsonNode json() {
            try {
                return JSON.readTree(data);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + data, e);
            }
        }
    }

    private final Socket socket;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final List<String> comments = new ArrayList<>();
    private final Thread reader;
    private volatile String lastEventId;
    private volatile int status;
    private volatile String statusBody = "";
    private final Map<String, String> headers = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile Long retry;
    private volatile boolean ended;

    private SseClient(int port, String pathAndQuery, Map<String, String> headers) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        StringBuilder request = new StringBuilder("GET " + pathAndQuery
                + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n");
        headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
        request.append("\r\n");
        OutputStream out = socket.getOutputStream();
        out.write(request.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        reader = Thread.ofVirtual().start(this::read);
    }

    public static SseClient connect(int port, String pathAndQuery, Map<String, String> headers) {
        try {
            return new SseClient(port, pathAndQuery, headers);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static SseClient connect(int port, String token, String query, String lastEventId) {
        return connect(port, "/v1/stream" + (query.isEmpty() ? "" : "?" + query),
                lastEventId == null ? Map.of("Authorization", "Bearer " + token)
                        : Map.of("Authorization", "Bearer " + token, "Last-Event-ID", lastEventId));
    }

    private void read() {
        try (InputStream in = socket.getInputStream()) {
            BufferedReader lines = new BufferedReader(new InputStreamReader(new Dechunker(in), StandardCharsets.UTF_8));
            String statusLine = lines.readLine();
            int code = statusLine == null ? -1 : Integer.parseInt(statusLine.substring(9, 12));
            int contentLength = -1;
            for (String header; (header = lines.readLine()) != null && !header.isEmpty(); ) {
                int colon = header.indexOf(':');
                if (colon > 0) {
                    headers.put(header.substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT),
                            header.substring(colon + 1).strip());
                }
                if (header.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                    contentLength = Integer.parseInt(header.substring(15).strip());
                }
            }
            status = code;
            if (status != 200) {
                // A refusal: its body has a Content-Length (the server may keep the connection open after it).
                char[] body = new char[Math.max(contentLength, 0)];
                int read = 0;
                while (read < body.length) {
                    int n = lines.read(body, read, body.length - read);
                    if (n < 0) {
                        break;
                    }
                    read += n;
                }
                statusBody = new String(body, 0, read);
                return;
            }
            String id = null;
            String type = null;
            StringBuilder data = null;
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.isEmpty()) {
                    if (id != null) {
                        lastEventId = id;
                    }
                    if (data != null) {
                        events.add(new Event(lastEventId, type == null ? "message" : type, data.toString()));
                    }
                    id = null;
                    type = null;
                    data = null;
                    continue;
                }
                if (line.startsWith(":")) {
                    synchronized (comments) {
                        comments.add(line);
                    }
                    continue;
                }
                int colon = line.indexOf(':');
                String field = colon < 0 ? line : line.substring(0, colon);
                String value = colon < 0 ? "" : line.substring(colon + 1);
                if (value.startsWith(" ")) {
                    value = value.substring(1);
                }
                switch (field) {
                    case "id" -> id = value;
                    case "event" -> type = value;
                    case "data" -> data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                    case "retry" -> retry = Long.parseLong(value);
                    default -> throw new AssertionError("unexpected SSE field '" + field + "' in line: " + line);
                }
            }
        } catch (IOException e) {
            // closed
        } finally {
            if (status == 0) {
                status = -1;
            }
            ended = true;
        }
    }

    public int status() {
        Await.until(Duration.ofSeconds(10), "the response status", () -> status != 0);
        return status;
    }

    /** A response header (the last of that name), waiting for the headers; null if absent. */
    public String header(String name) {
        status();
        return headers.get(name.toLowerCase(java.util.Locale.ROOT));
    }

    public String statusBody() {
        Await.until(Duration.ofSeconds(10), "the refused response", () -> ended);
        return statusBody;
    }

    /** The next event, waiting up to {@code timeout}; fails if none comes. */
    public Event next(Duration timeout) {
        try {
            Event event = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (event == null) {
                throw new AssertionError("no event within " + timeout + (ended ? " (stream ended)" : ""));
            }
            return event;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The next event that is not of a type in {@code skip}, nor a moved cursor ({@code alimi.cursor}). */
    public Event nextExcept(Duration timeout, String... skip) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Event event = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (!List.of(skip).contains(event.type()) && !event.type().equals("alimi.cursor")) {
                return event;
            }
        }
    }

    /** Whether an SSE event is one of Alimi's own messages rather than a CloudEvent. */
    public static boolean control(Event event) {
        return List.of("ready", "gap", "reconnect", "unread").contains(event.type()) || event.type().startsWith("alimi.");
    }

    /** The next CloudEvent (Alimi's own messages skipped). */
    public Event nextCloudEvent(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Event event = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (!control(event)) {
                return event;
            }
        }
    }

    /** The event ids of the next {@code n} CloudEvents, all within {@code timeout}. */
    public List<String> ids(int n, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> ids = new ArrayList<>();
        while (ids.size() < n) {
            ids.add(nextCloudEvent(Duration.ofNanos(Math.max(1, deadline - System.nanoTime()))).json().get("id").asText());
        }
        return ids;
    }

    /** Whatever has arrived so far, without waiting. */
    public List<Event> drain() {
        List<Event> all = new ArrayList<>();
        events.drainTo(all);
        return all;
    }

    public String lastEventId() {
        return lastEventId;
    }

    public Long retry() {
        return retry;
    }

    public boolean ended() {
        return ended;
    }

    public List<String> comments() {
        synchronized (comments) {
            return List.copyOf(comments);
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Undoes HTTP/1.1 chunked transfer coding after the headers (a plain pass-through before them). */
    private static final class Dechunker extends InputStream {
        private final InputStream in;
        private final StringBuilder headers = new StringBuilder();
        private boolean inHeaders = true;
        private boolean chunked;
        private int lastFour;
        private long chunkLeft = -1;

        Dechunker(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            if (inHeaders) {
                int c = in.read();
                headers.append((char) c);
                lastFour = (lastFour << 8) | (c & 0xFF);
                if (lastFour == 0x0D0A0D0A) {
                    inHeaders = false;
                    chunked = headers.toString().toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked");
                }
                return c;
            }
            if (!chunked) {
                return in.read();
            }
            if (chunkLeft <= 0) {
                if (chunkLeft == 0) {
                    readLine(); // CRLF after the previous chunk
                }
                String size = readLine();
                if (size == null) {
                    return -1;
                }
                chunkLeft = Long.parseLong(size.strip(), 16);
                if (chunkLeft == 0) {
                    return -1;
                }
            }
            int c = in.read();
            if (c >= 0) {
                chunkLeft--;
            }
            return c;
        }

        /** Returns what is there after the first byte instead of blocking until {@code len} bytes came. */
        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            int first = read();
            if (first < 0) {
                return -1;
            }
            b[off] = (byte) first;
            int n = 1;
            while (n < len && in.available() > 0 && (inHeaders || !chunked || chunkLeft > 0)) {
                int c = read();
                if (c < 0) {
                    break;
                }
                b[off + n++] = (byte) c;
            }
            return n;
        }

        private String readLine() throws IOException {
            StringBuilder line = new StringBuilder();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) {
                    return null;
                }
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            return line.toString();
        }
    }
}
