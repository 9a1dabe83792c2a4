package io.alimi.auth;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.alimi.observe.LogThrottle;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Opaque admin tokens, checked by the admin service's introspection endpoint (RFC 7662: {@code POST token=…},
 * answer {@code {"active": true, "sub": …, "exp": …}}) and remembered in a local cache, so that a burst of
 * reconnects costs the admin service one call per token, not one per connection.
 *
 * <ul>
 *   <li>bounded ({@code max-entries}, least recently and frequently used go first);</li>
 *   <li>an active answer is kept for the time-to-live, never past the token's own {@code exp};</li>
 *   <li>refresh-ahead: a token still in use after {@code refresh-after} is checked again in the background while
 *       the cached answer keeps serving, so busy tokens never wait on the admin service;</li>
 *   <li>an inactive answer (unknown, revoked, expired token) is kept for the short negative time-to-live;</li>
 *   <li>concurrent requests for a token that is not cached share one call;</li>
 *   <li>when the admin service is down or answers nonsense, nothing is cached: tokens already cached keep
 *       working until their time-to-live runs out, others get {@link IdentityUnavailableException} (503).</li>
 * </ul>
 *
 * Live connections of an introspected token check it again every half time-to-live ({@link Identity#recheck()}),
 * so a revoked token stops receiving within the time-to-live. The token is sent to the admin service only; it is
 * never logged.
 */
public final class IntrospectedIdentities implements Identities, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(IntrospectedIdentities.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() {
    };

    /**
     * @param url                 the introspection endpoint
     * @param authorization       the {@code Authorization} header value Alimi presents to it, if it wants one
     * @param timeout             connect and answer timeout of one call
     * @param maxEntries          tokens remembered at most
     * @param timeToLive          how long an active answer is used
     * @param refreshAfter        after how long a token still in use is checked again in the background
     * @param negativeTimeToLive  how long an inactive answer is used
     * @param claims              where the profile is in the answer
     */
    public record Settings(URI url, Optional<String> authorization, Duration timeout, long maxEntries,
                           Duration timeToLive, Duration refreshAfter, Duration negativeTimeToLive, ClaimsMapping claims) {
        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
        public static final long DEFAULT_MAX_ENTRIES = 100_000;
        public static final Duration DEFAULT_TIME_TO_LIVE = Duration.ofSeconds(60);
        public static final Duration DEFAULT_NEGATIVE_TIME_TO_LIVE = Duration.ofSeconds(5);

        public Settings {
            if (refreshAfter.compareTo(timeToLive) >= 0) {
                throw new IllegalArgumentException("refresh-after must be shorter than the time-to-live");
            }
        }
    }

    /** What the admin service said of a token. */
    private sealed interface Answer {
        record Active(Profile profile, Optional<Instant> expiresAt) implements Answer {
        }

        record Inactive() implements Answer {
        }
    }

    /**
     * The admin service could not say. A {@link TimeoutException} because the cache logs any other failure with its
     * stack trace on every call; outages are logged here instead, at most once every 30 s.
     */
    private static final class NoAnswer extends TimeoutException {
        NoAnswer(String message) {
            super(message);
        }
    }

    private final LogThrottle outageLogs = new LogThrottle(Duration.ofSeconds(30));

    private final Settings settings;
    private final Clock clock;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpClient http;
    private final AsyncLoadingCache<String, Answer> cache;
    private final LongAdder calls = new LongAdder();

    public IntrospectedIdentities(Settings settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(settings.timeout()).executor(executor)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.cache = Caffeine.newBuilder()
                .maximumSize(settings.maxEntries())
                .expireAfter(new Lifetime())
                .refreshAfterWrite(settings.refreshAfter())
                .executor(executor)
                .buildAsync((String token, java.util.concurrent.Executor ignored) -> load(token));
    }

    @Override
    public Optional<Identity> resolve(String token) {
        return identity(token, await(cache.get(token)));
    }

    /** Calls made to the admin service since start. */
    public long calls() {
        return calls.sum();
    }

    private Optional<Identity> identity(String token, Answer answer) {
        if (!(answer instanceof Answer.Active active)) {
            return Optional.empty();
        }
        if (active.expiresAt().isPresent() && !active.expiresAt().get().isAfter(clock.instant())) {
            return Optional.empty();
        }
        Identity.Recheck recheck = new Identity.Recheck(settings.timeToLive().dividedBy(2), () -> fresh(token));
        return Optional.of(new Identity(active.profile(), active.expiresAt(), Optional.of(recheck)));
    }

    /**
     * The answer for a live connection's periodic check: the cached one if younger than half the time-to-live,
     * else a new call (shared by every connection of that token), so revocation shows within the time-to-live.
     */
    private Optional<Identity> fresh(String token) {
        Optional<Duration> age = cache.synchronous().policy().refreshAfterWrite()
                .flatMap(policy -> policy.ageOf(token));
        if (age.isPresent() && age.get().compareTo(settings.timeToLive().dividedBy(2)) < 0) {
            return resolve(token);
        }
        return identity(token, await(cache.synchronous().refresh(token)));
    }

    private Answer await(CompletableFuture<Answer> answer) {
        try {
            return answer.get(settings.timeout().toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause() : e.getCause();
            throw new IdentityUnavailableException("the admin service cannot check tokens: " + cause.getMessage(), null);
        } catch (TimeoutException e) {
            throw new IdentityUnavailableException("the admin service did not answer in time", null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IdentityUnavailableException("interrupted while waiting for the admin service", null);
        }
    }

    private CompletableFuture<Answer> load(String token) {
        CompletableFuture<Answer> answer = new CompletableFuture<>();
        executor.execute(() -> {
            try {
                answer.complete(introspect(token));
            } catch (NoAnswer e) {
                logOutage(e);
                answer.completeExceptionally(e);
            } catch (InterruptedException e) {
                answer.completeExceptionally(new NoAnswer("interrupted"));
            } catch (RuntimeException e) {
                answer.completeExceptionally(e);
            }
        });
        return answer;
    }

    private void logOutage(NoAnswer e) {
        if (outageLogs.due() >= 0) {
            LOG.warning(() -> "token introspection failed: " + e.getMessage() + "; cached tokens keep working until "
                    + "their time-to-live, others are answered 503 (logged at most every 30 s)");
        }
    }

    private Answer introspect(String token) throws NoAnswer, InterruptedException {
        calls.increment();
        HttpRequest.Builder request = HttpRequest.newBuilder(settings.url())
                .timeout(settings.timeout())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("token=" + URLEncoder.encode(token, StandardCharsets.UTF_8)
                        + "&token_type_hint=access_token"));
        settings.authorization().ifPresent(value -> request.header("Authorization", value));
        HttpResponse<byte[]> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new NoAnswer(settings.url().getHost() + ":" + settings.url().getPort() + " cannot be reached ("
                    + e.getClass().getSimpleName() + ")");
        }
        if (response.statusCode() != 200) {
            throw new NoAnswer(settings.url().getHost() + " answered HTTP " + response.statusCode());
        }
        Map<String, Object> body;
        try {
            body = JSON.readValue(response.body(), OBJECT);
        } catch (IOException e) {
            throw new NoAnswer(settings.url().getHost() + " answered something that is not a JSON object");
        }
        if (body == null || !(body.get("active") instanceof Boolean active)) {
            throw new NoAnswer(settings.url().getHost() + " answered without a boolean 'active'");
        }
        if (!active) {
            return new Answer.Inactive();
        }
        Optional<Instant> exp = body.get("exp") instanceof Number seconds
                ? Optional.of(Instant.ofEpochSecond(seconds.longValue())) : Optional.empty();
        Optional<Profile> profile = settings.claims().profile(body);
        if (profile.isEmpty()) {
            LOG.log(Level.WARNING, "the admin service called a token active but its answer has no usable profile "
                    + "(claims {0}); the token is refused", settings.claims());
            return new Answer.Inactive();
        }
        return new Answer.Active(profile.get(), exp);
    }

    /** Active answers live for the time-to-live but never past the token's expiry; inactive ones briefly. */
    private final class Lifetime implements Expiry<String, Answer> {
        @Override
        public long expireAfterCreate(String token, Answer answer, long currentTime) {
            if (answer instanceof Answer.Active active) {
                long ttl = settings.timeToLive().toNanos();
                if (active.expiresAt().isPresent()) {
                    long untilExpiry = Duration.between(clock.instant(), active.expiresAt().get()).toNanos();
                    ttl = Math.max(0, Math.min(ttl, untilExpiry));
                }
                return ttl;
            }
            return settings.negativeTimeToLive().toNanos();
        }

        @Override
        public long expireAfterUpdate(String token, Answer answer, long currentTime, long currentDuration) {
            return expireAfterCreate(token, answer, currentTime);
        }

        @Override
        public long expireAfterRead(String token, Answer answer, long currentTime, long currentDuration) {
            return currentDuration;
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
