package io.alimi.bench;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** An Alimi node started by a benchmark as its own process: waiting for it to listen, stopping it. */
final class NodeProcess {

    private NodeProcess() {
    }

    /** Returns {@code process} once it accepts connections on {@code port} (at most a minute). */
    static Process listening(Process process, int port, Path log) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && process.isAlive()) {
            try (Socket socket = new Socket("127.0.0.1", port)) {
                return process;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("the node did not start; see " + log);
    }

    /** SIGTERM (the node drains), then SIGKILL if it is not gone within 30 s. */
    static void stop(Process process) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
