package io.alimi.support;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;

/**
 * Closes what a test opened (nodes, clients, servers), newest first, after each test:
 * {@code @RegisterExtension final Closer closer = new Closer();} then {@code closer.add(…)}.
 */
public final class Closer implements AfterEachCallback {

    private final List<AutoCloseable> opened = new ArrayList<>();

    public synchronized <T extends AutoCloseable> T add(T closeable) {
        opened.add(closeable);
        return closeable;
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        List<AutoCloseable> all;
        synchronized (this) {
            all = new ArrayList<>(opened.reversed());
            opened.clear();
        }
        Exception first = null;
        for (AutoCloseable closeable : all) {
            try {
                closeable.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
