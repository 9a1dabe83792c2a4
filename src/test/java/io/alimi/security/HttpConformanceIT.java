package io.alimi.security;

import io.alimi.Main;
import io.alimi.support.Closer;
import io.alimi.support.Events;
import io.alimi.support.Http;
import io.alimi.support.TcpProxy;
import io.alimi.support.TestNode;
import io.alimi.support.TestServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP as ordinary clients and proxies speak it, over raw sockets: {@code Connection: close}, HTTP/1.0, and one
 * kind of Redis work not holding up another.
 */
class HttpConformanceIT {

    @RegisterExtension
    final Closer closer = new Closer();

    /** What the server sent until it closed the connection; fails if it is still open after 5 s. */
    private static String untilClosed(Socket socket) throws IOException {
        socket.setSoTimeout(5_000);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[8192];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server left the connection open; it sent:\n" + out.toString(StandardCharsets.UTF_8));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static Socket send(Main.Running node, String request) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), node.port());
        socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
        return socket;
    }

    @Test
    void connectionCloseClosesTheSocket() throws IOException {
        Main.Running node = closer.add(TestNode.start(Map.of()));
        try (Socket socket = send(node, "GET /health/ready HTTP/1.1\r\nHost: alimi\r\nConnection: close\r\n\r\n")) {
            String reply = untilClosed(socket);
            assertTrue(reply.startsWith("HTTP/1.1 200"), reply);
            assertTrue(reply.toLowerCase().contains("connection: close"), reply);
        }
        String event = Events.json("close-1", "mall:1");
        try (Socket socket = send(node, "POST /v1/events HTTP/1.1\r\nHost: alimi\r\nConnection: close\r\n"
                + "Content-Type: application/cloudevents+json\r\nX-Api-Key: " + TestNode.API_KEY + "\r\n"
                + "Content-Length: " + event.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + event)) {
            assertTrue(untilClosed(socket).startsWith("HTTP/1.1 202"), "a publisher closing per request is answered and closed");
        }
        try (Socket socket = send(node, "GET /v1/timeline HTTP/1.1\r\nHost: alimi\r\nConnection: close\r\n\r\n")) {
            assertTrue(untilClosed(socket).startsWith("HTTP/1.1 401"), "an error answer closes too");
        }
        try (Socket socket = send(node, "POST /v1/events HTTP/1.1\r\nHost: alimi\r\nConnection: close\r\n"
                + "Content-Type: application/cloudevents+json\r\nContent-Length: 10\r\n\r\n0123456789")) {
            assertTrue(untilClosed(socket).startsWith("HTTP/1.1 401"), "an unread body is drained, then closed");
        }
    }

    @Test
    void withoutConnectionCloseOneSocketServesRequestAfterRequest() throws IOException {
        Main.Running node = closer.add(TestNode.start(Map.of()));
        try (Socket socket = send(node, "GET /health/ready HTTP/1.1\r\nHost: alimi\r\n\r\n"
                + "GET /health/ready HTTP/1.1\r\nHost: alimi\r\nConnection: close\r\n\r\n")) {
            String replies = untilClosed(socket);
            assertEquals(2, replies.split("HTTP/1.1 200", -1).length - 1, replies);
        }
    }

    @Test
    void anHttp10RequestIsToldToSpeakHttp11() throws IOException {
        Main.Running node = closer.add(TestNode.start(Map.of()));
        try (Socket socket = send(node, "GET /health/ready HTTP/1.0\r\n\r\n")) {
            String reply = untilClosed(socket);
            assertTrue(reply.startsWith("HTTP/1.1 505"), reply);
            assertTrue(reply.contains("application/problem+json"), reply);
            assertTrue(reply.contains("send HTTP/1.1") && reply.contains("proxy_http_version 1.1"), reply);
        }
    }

    @Test
    void heavyReplayDoesNotStallPublishes() throws Exception {
        // Replies to range reads (replays, timeline pages) are held by the proxy, as a reply of tens of megabytes
        // would hold its connection: publishes, tickets and read marks must go on.
        TcpProxy proxy = closer.add(new TcpProxy(TestServers.redis().port()));
        Main.Running node = closer.add(TestNode.start(Map.of("alimi.redis.url", proxy.url(),
                "alimi.redis.command-timeout", "20s")));
        Http http = new Http(node.port());
        assertEquals(202, http.post("/v1/events", "application/cloudevents+json", Events.json("before-stall", "mall:1"),
                "X-Api-Key", TestNode.API_KEY).status());
        proxy.stallRepliesAfter("XREVRANGE");
        CompletableFuture<Http.Reply> page = CompletableFuture.supplyAsync(() -> http.get("/v1/timeline",
                "Authorization", "Bearer " + TestNode.ADMIN_42));
        io.alimi.support.Await.until(Duration.ofSeconds(10), "the timeline read to be held", () -> proxy.stalledConnections() > 0);
        for (int i = 0; i < 5; i++) {
            CompletableFuture<Http.Reply> publish = CompletableFuture.supplyAsync(() -> http.post("/v1/events",
                    "application/cloudevents+json", Events.json("during-stall-" + System.nanoTime(), "mall:1"),
                    "X-Api-Key", TestNode.API_KEY));
            assertEquals(202, publish.get(5, TimeUnit.SECONDS).status(), "a publish while a read is held");
        }
        CompletableFuture<Http.Reply> ticket = CompletableFuture.supplyAsync(() -> http.post("/v1/tickets", null, "",
                "Authorization", "Bearer " + TestNode.ADMIN_42));
        assertEquals(200, ticket.get(5, TimeUnit.SECONDS).status(), "a ticket while a read is held");
        assertFalse(page.isDone(), "the read is still held");
        proxy.releaseStalls();
        Http.Reply released = page.get(20, TimeUnit.SECONDS);
        assertEquals(200, released.status(), released.body());
        assertTrue(released.body().contains("before-stall"), released.body());
    }
}
