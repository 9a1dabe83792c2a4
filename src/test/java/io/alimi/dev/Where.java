package io.alimi.dev;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes the JDK Maven's toolchain selected and the test classpath to a file, so that {@code scripts/dev-java}
 * can start a tool as its own process (one PID, signals reach it) rather than as a child of Maven.
 */
public final class Where {

    private Where() {
    }

    public static void main(String[] args) throws Exception {
        Files.write(Path.of(args[0]), List.of(System.getProperty("java.home"), System.getProperty("java.class.path")));
    }
}
