package io.alimi.auth;

import io.alimi.config.SettingsException;
import io.alimi.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The API keys in force: the fixed ones from settings plus those of the keys file, which is read again whenever
 * it changes (checked every few seconds). Rotation without restart: add the new key's digest to the file, move
 * producers over, remove the old one. A file that cannot be read or is invalid leaves the keys in force as they
 * were, and says why in the log.
 */
public final class ApiKeySource implements Supplier<ApiKeys>, AutoCloseable {

    /**
     * The keys of {@code alimi.publish.api-keys} (unrestricted) and of the file {@code alimi.publish.api-keys-file},
     * read again every {@code alimi.publish.api-keys-reload}.
     */
    public static ApiKeySource from(Settings settings) {
        ApiKeys fixed;
        try {
            fixed = ApiKeys.parse(settings.list("alimi.publish.api-keys"));
        } catch (IllegalArgumentException e) {
            throw new SettingsException("alimi.publish.api-keys", e.getMessage());
        }
        Optional<String> file = settings.optionalString("alimi.publish.api-keys-file");
        try {
            return new ApiKeySource(fixed, file.map(Path::of), settings.duration("alimi.publish.api-keys-reload",
                    DEFAULT_RELOAD_INTERVAL, Duration.ofMillis(100), Duration.ofHours(1)));
        } catch (IOException | IllegalArgumentException e) {
            throw new SettingsException("alimi.publish.api-keys-file", e.getMessage());
        }
    }

    private static final Logger LOG = Logger.getLogger(ApiKeySource.class.getName());
    public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(5);

    private final ApiKeys fixed;
    private final Optional<Path> file;
    private final Duration interval;
    private volatile ApiKeys current;
    private volatile Object stamp;
    private volatile boolean closed;
    private final Thread watcher;

    /**
     * @throws IllegalArgumentException when the file is invalid at start-up (a node must not start without its
     *                                  producers' keys)
     */
    public ApiKeySource(ApiKeys fixed, Optional<Path> file, Duration interval) throws IOException {
        this.fixed = fixed;
        this.file = file;
        this.interval = interval;
        this.current = fixed;
        if (file.isPresent()) {
            this.stamp = stamp(file.get());
            this.current = fixed.and(ApiKeys.load(file.get()));
            this.watcher = Thread.ofVirtual().name("alimi-api-keys").start(this::watch);
        } else {
            this.watcher = null;
        }
    }

    public static ApiKeySource fixed(ApiKeys keys) {
        try {
            return new ApiKeySource(keys, Optional.empty(), DEFAULT_RELOAD_INTERVAL);
        } catch (IOException e) {
            throw new IllegalStateException("no file is read", e);
        }
    }

    @Override
    public ApiKeys get() {
        return current;
    }

    /** Reads the file again if it changed; true when new keys are in force. */
    public boolean reloadIfChanged() {
        Path path = file.orElseThrow();
        Object now;
        try {
            now = stamp(path);
        } catch (IOException e) {
            LOG.warning(() -> "API keys file " + path + " cannot be read (" + e.getClass().getSimpleName()
                    + "); the keys in force stay");
            return false;
        }
        if (Objects.equals(now, stamp)) {
            return false;
        }
        stamp = now;
        try {
            ApiKeys loaded = ApiKeys.load(path);
            current = fixed.and(loaded);
            LOG.info(() -> "API keys reloaded from " + path + ": " + loaded.size() + " keys");
            return true;
        } catch (IOException | IllegalArgumentException e) {
            LOG.log(Level.WARNING, "API keys file {0} is invalid, the keys in force stay: {1}",
                    new Object[] {path, e.getMessage()});
            return false;
        }
    }

    private void watch() {
        while (!closed) {
            LockSupport.parkNanos(interval.toNanos());
            if (!closed) {
                reloadIfChanged();
            }
        }
    }

    private static Object stamp(Path path) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
        return attributes.lastModifiedTime().toMillis() + ":" + attributes.size() + ":" + attributes.fileKey();
    }

    @Override
    public void close() {
        closed = true;
        if (watcher != null) {
            LockSupport.unpark(watcher);
        }
    }
}
