package io.alimi.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * A lean HTTP/1.1 load client: a fixed number of keep-alive connections, each sending its next request as soon
 * as the previous response is read (closed loop, like wrk). Requests are built up front per index, so the client
 * spends its CPU on sockets, not on building bodies.
 */
final class HttpLoad {

    /** What a run measured: wall time, and each request's latency in nanoseconds. */
    record Outcome(double seconds, long[] latencies) {
        double percentileMillis(double p) {
            long[] sorted = latencies.clone();
            Arrays.sort(sorted);
            return sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))] / 1e6;
        }
    }

    private HttpLoad() {
    }

    /**
     * Sends requests {@code 0 … count-1} over {@code connections} connections; every response must be 202.
     *
     * @param request the raw bytes of request {@code i}
     */
    static Outcome run(int port, int connections, int count, IntFunction<byte[]> request) throws Exception {
        AtomicInteger next = new AtomicInteger();
        long[] latencies = new long[count];
        long start = System.nanoTime();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < connections; c++) {
                running.add(threads.submit(() -> {
                    try (Socket socket = new Socket()) {
                        socket.connect(new InetSocketAddress("127.0.0.1", port));
                        socket.setTcpNoDelay(true);
                        OutputStream out = socket.getOutputStream();
                        InputStream in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
                        for (int i; (i = next.getAndIncrement()) < count; ) {
                            byte[] bytes = request.apply(i);
                            long sent = System.nanoTime();
                            out.write(bytes);
                            out.flush();
                            int status = readResponse(in);
                            latencies[i] = System.nanoTime() - sent;
                            if (status != 202) {
                                throw new IllegalStateException("request " + i + " got HTTP " + status);
                            }
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    return null;
                }));
            }
            for (Future<?> future : running) {
                future.get();
            }
        }
        return new Outcome((System.nanoTime() - start) / 1e9, latencies);
    }

    static byte[] post(String path, String contentType, String apiKey, String body) {
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + contentType
                + "\r\nX-Api-Key: " + apiKey + "\r\nContent-Length: " + content.length + "\r\n\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = Arrays.copyOf(headBytes, headBytes.length + content.length);
        System.arraycopy(content, 0, all, headBytes.length, content.length);
        return all;
    }

    /** Reads one response (status line, headers, Content-Length body) and returns its status. */
    private static int readResponse(InputStream in) throws IOException {
        String statusLine = line(in);
        int status = Integer.parseInt(statusLine.substring(9, 12));
        int length = 0;
        for (String header; !(header = line(in)).isEmpty(); ) {
            if (header.regionMatches(true, 0, "content-length:", 0, 15)) {
                length = Integer.parseInt(header.substring(15).strip());
            }
        }
        in.skipNBytes(length);
        return status;
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder(64);
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new IOException("connection closed mid-response");
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }
}
