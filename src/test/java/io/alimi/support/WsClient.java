package io.alimi.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A test WebSocket client (the JDK's), collecting text frames and the close code. */
public final class WsClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    private final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
    private volatile String closeReason;
    private volatile int pings;
    private final WebSocket socket;

    private WsClient(int port, String pathAndQuery, Map<String, String> headers) {
        StringBuilder text = new StringBuilder();
        WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
        headers.forEach(builder::header);
        socket = builder
                .buildAsync(URI.create("ws://127.0.0.1:" + port + pathAndQuery), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                        text.append(data);
                        if (last) {
                            try {
                                frames.add(JSON.readTree(text.toString()));
                            } catch (IOException e) {
                                frames.add(JSON.createObjectNode().put("unparseable", text.toString()));
                            }
                            text.setLength(0);
                        }
                        ws.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onPing(WebSocket ws, ByteBuffer message) {
                        pings++;
                        ws.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
                        closeReason = reason;
                        closeCode.complete(statusCode);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket ws, Throwable error) {
                        closeCode.complete(-1);
                    }
                }).join();
    }

    public static WsClient connect(int port, String pathAndQuery) {
        return new WsClient(port, pathAndQuery, Map.of());
    }

    public static WsClient connect(int port, String pathAndQuery, Map<String, String> headers) {
        return new WsClient(port, pathAndQuery, headers);
    }

    /** Connects as the admin of {@code token}, sent in the Authorization header. */
    public static WsClient as(int port, String token, String query) {
        return new WsClient(port, "/v1/ws" + (query.isEmpty() ? "" : "?" + query), Map.of("Authorization", "Bearer " + token));
    }

    public JsonNode next(Duration timeout) {
        try {
            JsonNode frame = frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (frame == null) {
                throw new AssertionError("no frame within " + timeout + (closeCode.isDone() ? " (closed " + closeCode.join() + ")" : ""));
            }
            return frame;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The next frame carrying an event. */
    public JsonNode nextEvent(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode frame = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (frame.has("event")) {
                return frame;
            }
        }
    }

    public void send(String text) {
        socket.sendText(text, true).join();
    }

    public int closeCode(Duration timeout) {
        return closeCode.completeOnTimeout(-2, timeout.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    public String closeReason() {
        return closeReason;
    }

    public int pings() {
        return pings;
    }

    @Override
    public void close() {
        if (!closeCode.isDone()) {
            socket.abort();
        }
    }
}
