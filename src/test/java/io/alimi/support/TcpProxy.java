package io.alimi.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP forwarder standing for a virtual IP or DNS name in front of a Redis master: clients connect to
 * {@link #port()}, and after a failover {@link #retarget} sends new connections to the promoted server and cuts the
 * old ones, as a moved VIP would.
 */
public final class TcpProxy implements AutoCloseable {

    private final ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile int target;
    private volatile boolean paused;
    /** The command (as RESP sends its name) whose connections' replies stall, if any. */
    private volatile byte[] stallAfter;
    /** Client sockets that sent {@link #stallAfter}: replies to them are held until {@link #releaseStalls}. */
    private final Set<Socket> stalled = ConcurrentHashMap.newKeySet();

    public TcpProxy(int target) {
        this.target = target;
        try {
            server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().name("tcp-proxy-accept").start(this::accept);
    }

    public int port() {
        return server.getLocalPort();
    }

    public String url() {
        return "redis://127.0.0.1:" + port();
    }

    /**
     * Stops forwarding (or starts again): bytes read meanwhile are held, and lost if the proxy is closed first,
     * as a replication link that stalls and then breaks loses what was in flight.
     */
    public void pause(boolean pause) {
        paused = pause;
    }

    /**
     * From now on, a connection on which the client sends the Redis command {@code command} gets no more replies
     * (they are held) until {@link #releaseStalls}: a reply of megabytes in the making, on whichever connection
     * carries that kind of command, without slowing down the others.
     */
    public void stallRepliesAfter(String command) {
        stallAfter = ("\r\n$" + command.length() + "\r\n" + command + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Replies flow again on every connection. */
    public void releaseStalls() {
        stallAfter = null;
        stalled.clear();
    }

    /** Connections whose replies are held now. */
    public int stalledConnections() {
        return stalled.size();
    }

    /** New connections go to {@code port}; every connection open now is cut. */
    public void retarget(int port) {
        target = port;
        for (Socket socket : open) {
            close(socket);
        }
    }

    private void accept() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            Socket upstream = new Socket();
            try {
                upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), target), 2000);
            } catch (IOException e) {
                close(client);
                close(upstream);
                continue;
            }
            open.add(client);
            open.add(upstream);
            Thread.ofVirtual().start(() -> pipe(client, upstream, client, true));
            Thread.ofVirtual().start(() -> pipe(upstream, client, client, false));
        }
    }

    private void pipe(Socket from, Socket to, Socket client, boolean request) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                byte[] marker = stallAfter;
                if (request && marker != null && contains(buffer, n, marker)) {
                    stalled.add(client);
                }
                while (!request && stalled.contains(client) && !from.isClosed()) {
                    java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(5));
                }
                while (paused && !from.isClosed()) {
                    java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(5));
                }
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // One side went away: cut both.
        } finally {
            close(from);
            close(to);
        }
    }

    private static boolean contains(byte[] buffer, int length, byte[] marker) {
        outer:
        for (int i = 0; i + marker.length <= length; i++) {
            for (int j = 0; j < marker.length; j++) {
                if (buffer[i + j] != marker[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private void close(Socket socket) {
        open.remove(socket);
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Socket socket : open) {
            close(socket);
        }
    }
}
